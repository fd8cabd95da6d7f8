import Testing
@testable import PortalCore

@Suite struct AuthServiceTests {
    let client = ClientInfo(address: "192.0.2.10", userAgent: "tests")

    @Test func passwordThenCodeSignsInUnderANewSession() async throws {
        let t = try await TestServices()
        let (id, secret) = try await t.activeCustomer()
        let first = try await t.services.auth.signIn(kind: .customer, email: "Alice@Example.com", password: "correct horse battery", client: client)
        #expect(first.next == .secondFactor && first.session.stage == .password)
        let (token, session) = try await t.services.auth.verifySecondFactor(session: first.session, code: t.code(secret), client: client)
        #expect(token != first.token && session.stage == .complete && session.principal == .customer(id))
        #expect(try await t.services.sessions.find(token: first.token) == nil)
        #expect(try await t.services.users.credential(.customer(id))?.lastSignInAt != nil)
        let actions = try await t.services.audit.events(about: .customer(id)).map(\.action)
        #expect(actions.contains("sign_in.success") && actions.contains("sign_in.password"))
    }

    @Test func unknownEmailAndWrongPasswordLookTheSame() async throws {
        let t = try await TestServices()
        _ = try await t.activeCustomer()
        await #expect(throws: SignInError.invalidCredentials) {
            try await t.services.auth.signIn(kind: .customer, email: "alice@example.com", password: "wrong password here", client: client)
        }
        await #expect(throws: SignInError.invalidCredentials) {
            try await t.services.auth.signIn(kind: .customer, email: "nobody@example.com", password: "wrong password here", client: client)
        }
        let failures = try await t.services.audit.events(action: "sign_in.password").filter { $0.outcome == .failure }
        #expect(failures.count == 2)
    }

    @Test func invitedOrStaffUsersCannotSignInAsCustomers() async throws {
        let t = try await TestServices()
        let account = try await t.services.directory.upsertAccount(name: "Acme")
        _ = try await t.services.invitations.invite(email: "pending@example.com", accounts: [account.id], invitedBy: AuditEvent(action: "t", actorKind: .system))
        await #expect(throws: SignInError.invalidCredentials) {
            try await t.services.auth.signIn(kind: .customer, email: "pending@example.com", password: "", client: client)
        }
        _ = try await t.services.directory.createStaff(email: "staff@example.com", name: "S", role: .support, password: "staff password long", actor: AuditEvent(action: "t", actorKind: .system))
        await #expect(throws: SignInError.invalidCredentials) {
            try await t.services.auth.signIn(kind: .customer, email: "staff@example.com", password: "staff password long", client: client)
        }
    }

    @Test func aUserWithoutMFAMustEnrolFirst() async throws {
        let t = try await TestServices()
        let (id, _) = try await t.activeCustomer()
        try await t.services.mfa.reset(.customer(id))
        let result = try await t.services.auth.signIn(kind: .customer, email: "alice@example.com", password: "correct horse battery", client: client)
        #expect(result.next == .enrolment && result.session.stage == .enrolment)
        await #expect(throws: SignInError.sessionExpired) {
            try await t.services.auth.verifySecondFactor(session: result.session, code: "123456", client: client)
        }
    }

    @Test func tenWrongCodesLockTheAccountAndEndThePendingSession() async throws {
        let t = try await TestServices()
        let (_, secret) = try await t.activeCustomer()
        let wrong = t.code(secret) == "000000" ? "111111" : "000000"
        let pending = try await t.services.auth.signIn(kind: .customer, email: "alice@example.com", password: "correct horse battery", client: client)
        var outcomes: [SignInError] = []
        for _ in 0..<10 {
            do {
                _ = try await t.services.auth.verifySecondFactor(session: pending.session, code: wrong, client: client)
            } catch let error as SignInError {
                outcomes.append(error)
            }
            t.clock.advance(by: 20) // past any slow-down, well inside the pending session's 10 minutes
        }
        #expect(outcomes.count == 10 && outcomes.prefix(9).allSatisfy { $0 == .invalidCode })
        #expect(outcomes.last.map { if case .locked = $0 { true } else { false } } == true)
        #expect(try await t.services.sessions.find(token: pending.token) == nil)
        let locked = try await t.services.throttle.isLocked(email: "alice@example.com")
        #expect(locked)
        do {
            _ = try await t.services.auth.signIn(kind: .customer, email: "alice@example.com", password: "correct horse battery", client: client)
            Issue.record("a locked account signed in")
        } catch let error as SignInError {
            if case .locked = error {} else { Issue.record("expected locked, got \(error)") }
        }
    }
}
