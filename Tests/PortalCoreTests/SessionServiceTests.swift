import Testing
@testable import PortalCore

@Suite struct SessionServiceTests {
    @Test func storesOnlyTheHashAndExpiresWhenIdleOrOld() async throws {
        let db = try TestDatabase()
        let clock = ManualClock()
        let sessions = SessionService(db: db.pool, clock: clock.clock)
        let (token, record) = try await sessions.create(for: .customer("u1"), stage: .complete, client: .init(address: "1.2.3.4"))
        let stored = try await db.pool.read { try String.fetchAll($0, sql: "SELECT id_hash FROM sessions") }
        #expect(stored == [SecretToken.hash(token)] && !stored.contains(token))
        #expect(try await sessions.find(token: token) == record)
        clock.advance(by: 29 * 60)
        let live = try #require(try await sessions.find(token: token))
        try await sessions.touch(live)
        clock.advance(by: 29 * 60)
        #expect(try await sessions.find(token: token) != nil)
        clock.advance(by: 31 * 60)
        #expect(try await sessions.find(token: token) == nil)
    }

    @Test func absoluteLimitIsTwelveHoursEvenWhenActive() async throws {
        let db = try TestDatabase()
        let clock = ManualClock()
        let sessions = SessionService(db: db.pool, clock: clock.clock)
        let (token, _) = try await sessions.create(for: .customer("u1"), stage: .complete, client: .init(address: "1.2.3.4"))
        for _ in 0..<(12 * 3) {
            clock.advance(by: 20 * 60)
            guard let live = try await sessions.find(token: token) else { break }
            try await sessions.touch(live)
        }
        #expect(try await sessions.find(token: token) == nil)
    }

    @Test func rotationReplacesTheIdAndKillsTheOldOne() async throws {
        let db = try TestDatabase()
        let sessions = SessionService(db: db.pool, clock: ManualClock().clock)
        let (old, record) = try await sessions.create(for: .customer("u1"), stage: .password, client: .init(address: "1.2.3.4"))
        let (new, rotated) = try await sessions.rotate(record, to: .complete, client: .init(address: "1.2.3.4"))
        #expect(old != new && rotated.publicId != record.publicId && rotated.stage == .complete)
        #expect(try await sessions.find(token: old) == nil)
        #expect(try await sessions.find(token: new)?.stage == .complete)
    }

    @Test func revocationIsScopedToTheOwner() async throws {
        let db = try TestDatabase()
        let sessions = SessionService(db: db.pool, clock: ManualClock().clock)
        let (_, alice) = try await sessions.create(for: .customer("alice"), stage: .complete, client: .init(address: "1"))
        let (bobToken, bob) = try await sessions.create(for: .customer("bob"), stage: .complete, client: .init(address: "2"))
        #expect(try await !sessions.revoke(publicId: bob.publicId, of: alice.principal))
        #expect(try await sessions.find(token: bobToken) != nil)
        #expect(try await sessions.revoke(publicId: bob.publicId, of: bob.principal))
        #expect(try await sessions.find(token: bobToken) == nil)
    }
}
