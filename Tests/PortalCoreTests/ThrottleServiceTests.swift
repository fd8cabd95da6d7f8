import Testing
@testable import PortalCore

@Suite struct ThrottleServiceTests {
    @Test func slowsDownThenLocksForFifteenMinutes() async throws {
        let db = try TestDatabase()
        let clock = ManualClock()
        let throttle = ThrottleService(db: db.pool, clock: clock.clock)
        for _ in 0..<4 { try await throttle.recordFailure(email: "a@example.com", address: "10.0.0.1") }
        #expect(try await throttle.verdict(email: "a@example.com", address: "10.0.0.1") == .allowed)
        try await throttle.recordFailure(email: "a@example.com", address: "10.0.0.1")
        #expect(try await throttle.verdict(email: "a@example.com", address: "10.0.0.1") == .slowDown(retryAfter: 1))
        for _ in 5..<10 {
            clock.advance(by: 60)
            try await throttle.recordFailure(email: "a@example.com", address: "10.0.0.1")
        }
        #expect(try await throttle.verdict(email: "a@example.com", address: "10.0.0.1") == .locked(retryAfter: 900))
        // Another address does not unlock the account; the account's lock does not block other accounts.
        #expect(try await throttle.verdict(email: "a@example.com", address: "10.9.9.9") == .locked(retryAfter: 900))
        #expect(try await throttle.verdict(email: "b@example.com", address: "10.9.9.9") == .allowed)
        clock.advance(by: 900)
        #expect(try await throttle.verdict(email: "a@example.com", address: "10.0.0.1") == .allowed)
    }

    @Test func keysByEmailWhetherOrNotItExists() async throws {
        let db = try TestDatabase()
        let throttle = ThrottleService(db: db.pool, clock: ManualClock().clock)
        try await throttle.recordFailure(email: "  Nobody@Example.com ", address: "10.0.0.1")
        let scopes = try await db.pool.read { try String.fetchAll($0, sql: "SELECT scope FROM sign_in_throttle ORDER BY scope") }
        #expect(scopes == ["addr:10.0.0.1", ThrottleService.emailScope("nobody@example.com")])
        #expect(!scopes.joined().contains("nobody"))
    }

    @Test func clearingTheAccountKeepsTheAddressCount() async throws {
        let db = try TestDatabase()
        let clock = ManualClock()
        var policy = ThrottlePolicy()
        policy.addressLockAfter = 3
        let throttle = ThrottleService(db: db.pool, clock: clock.clock, policy: policy)
        for i in 0..<3 { try await throttle.recordFailure(email: "u\(i)@example.com", address: "10.0.0.7") }
        try await throttle.clear(email: "u0@example.com")
        #expect(try await throttle.verdict(email: "fresh@example.com", address: "10.0.0.7") == .locked(retryAfter: 900))
    }

    @Test func failuresAreForgottenAfterTheWindow() async throws {
        let db = try TestDatabase()
        let clock = ManualClock()
        let throttle = ThrottleService(db: db.pool, clock: clock.clock)
        for _ in 0..<9 { try await throttle.recordFailure(email: "a@example.com", address: "1.1.1.1") }
        clock.advance(by: 15 * 60 + 1)
        try await throttle.recordFailure(email: "a@example.com", address: "1.1.1.1")
        #expect(try await throttle.verdict(email: "a@example.com", address: "1.1.1.1") == .allowed)
    }
}
