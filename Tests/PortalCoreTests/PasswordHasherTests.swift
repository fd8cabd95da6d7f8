import Testing
@testable import PortalCore

@Suite struct PasswordHasherTests {
    @Test func hashesWithArgon2idAndTheMinimumParameters() async throws {
        let hasher = PasswordHasher()
        let hash = try await hasher.hash("correct horse battery staple")
        #expect(hash.hasPrefix("$argon2id$v=19$m=19456,t=2,p=1$"))
        #expect(PasswordHasher.parameters(of: hash) == .minimum)
        #expect(try await hasher.verify("correct horse battery staple", against: hash))
        #expect(try await !hasher.verify("correct horse battery stapl", against: hash))
    }

    @Test func saltsEveryHash() async throws {
        let hasher = PasswordHasher(testingParameters: TestServices.cheapHashing)
        let a = try await hasher.hash("same password here")
        let b = try await hasher.hash("same password here")
        #expect(a != b)
    }

    @Test func weakerStoredParametersNeedAnUpgrade() async throws {
        let old = PasswordHasher(testingParameters: TestServices.cheapHashing)
        let current = PasswordHasher()
        let legacy = try await old.hash("an old password 123")
        #expect(current.needsRehash(legacy))
        // The old hash still verifies under the new hasher: parameters live in the hash.
        #expect(try await current.verify("an old password 123", against: legacy))
        let upgraded = try await current.hash("an old password 123")
        #expect(!current.needsRehash(upgraded))
    }

    @Test func refusesMalformedHashesInsteadOfSayingMismatch() async throws {
        let hasher = PasswordHasher(testingParameters: TestServices.cheapHashing)
        await #expect(throws: PasswordHashError.malformedHash) { try await hasher.verify("x", against: "$2y$10$bcrypt") }
        await #expect(throws: PasswordHashError.malformedHash) { try await hasher.verify("x", against: "$argon2id$garbage") }
    }

    @Test func signInUpgradesAWeakHash() async throws {
        let t = try await TestServices()
        let (id, secret) = try await t.activeCustomer()
        // The test services hash cheaply; a sign-in with stronger parameters must rewrite the hash.
        let strong = try await AuthService(users: t.services.users, sessions: t.services.sessions, mfa: t.services.mfa,
                                           throttle: t.services.throttle, audit: t.services.audit,
                                           hasher: PasswordHasher(), clock: t.clock.clock)
        _ = secret
        _ = try await strong.signIn(kind: .customer, email: "alice@example.com", password: "correct horse battery", client: .init(address: "10.0.0.1"))
        let stored = try #require(try await t.services.users.credential(.customer(id))?.passwordHash)
        #expect(PasswordHasher.parameters(of: stored) == .minimum)
    }

    @Test func boundsConcurrency() async throws {
        // Eight hashes through a pool of two all finish; none is lost or run twice.
        let hasher = PasswordHasher(testingParameters: TestServices.cheapHashing, maxConcurrent: 2)
        let hashes = try await withThrowingTaskGroup(of: String.self) { group in
            for i in 0..<8 { group.addTask { try await hasher.hash("password number \(i)") } }
            return try await group.reduce(into: [String]()) { $0.append($1) }
        }
        #expect(Set(hashes).count == 8)
    }
}
