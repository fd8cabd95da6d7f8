import Testing
@testable import PortalCore

@Suite struct PasswordResetServiceTests {
    let client = ClientInfo(address: "198.51.100.4")

    private func resetLink(_ t: TestServices) async throws -> String? {
        let mail = try await t.services.outbox.all().last { $0.message.subject.contains("Reset") }
        guard let text = mail?.message.textBody, let range = text.range(of: "https://portal.test/password/reset/") else { return nil }
        return String(text[range.upperBound...].prefix { !$0.isWhitespace })
    }

    @Test func resetIsSingleUseSignsOutEverywhereAndClearsTheLock() async throws {
        let t = try await TestServices()
        let (id, _) = try await t.activeCustomer()
        let (sessionToken, _) = try await t.services.sessions.create(for: .customer(id), stage: .complete, client: client)
        for _ in 0..<10 { try await t.services.throttle.recordFailure(email: "alice@example.com", address: "203.0.113.9") }
        #expect(try await t.services.throttle.isLocked(email: "alice@example.com"))

        try await t.services.passwordReset.request(email: "alice@example.com", client: client)
        let token = try #require(try await resetLink(t))
        #expect(try await t.services.passwordReset.lookup(token: token) == "alice@example.com")
        await #expect(throws: PasswordResetError.weakPassword(.tooShort)) {
            try await t.services.passwordReset.complete(token: token, password: "short", confirmation: "short", client: client)
        }
        try await t.services.passwordReset.complete(token: token, password: "a brand new passphrase", confirmation: "a brand new passphrase", client: client)
        await #expect(throws: PasswordResetError.invalidOrExpired) {
            try await t.services.passwordReset.complete(token: token, password: "another new passphrase", confirmation: "another new passphrase", client: client)
        }
        #expect(try await t.services.sessions.find(token: sessionToken) == nil)
        #expect(try await !t.services.throttle.isLocked(email: "alice@example.com"))
        // MFA stays required.
        let signIn = try await t.services.auth.signIn(kind: .customer, email: "alice@example.com", password: "a brand new passphrase", client: client)
        #expect(signIn.next == .secondFactor)
    }

    @Test func unknownEmailsGetNoMailAndNoError() async throws {
        let t = try await TestServices()
        try await t.services.passwordReset.request(email: "nobody@example.com", client: client)
        #expect(try await t.services.outbox.all().isEmpty)
    }

    @Test func linksExpireAfterAnHour() async throws {
        let t = try await TestServices()
        _ = try await t.activeCustomer()
        try await t.services.passwordReset.request(email: "alice@example.com", client: client)
        let token = try #require(try await resetLink(t))
        t.clock.advance(by: 3601)
        await #expect(throws: PasswordResetError.invalidOrExpired) { try await t.services.passwordReset.lookup(token: token) }
    }
}
