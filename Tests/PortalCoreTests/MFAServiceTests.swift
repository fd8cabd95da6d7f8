import Foundation
import GRDB
import Testing
@testable import PortalCore

@Suite struct MFAServiceTests {
    @Test func recoveryCodesWorkOnceEach() async throws {
        let t = try await TestServices()
        let (id, secret) = try await t.activeCustomer()
        let codes = try await t.services.mfa.enrolKnownSecret(.customer(id), secret: secret)
        #expect(codes.count == 10)
        #expect(Set(codes).count == 10)
        #expect(try await t.services.mfa.verify(.customer(id), code: codes[3]) == .recoveryCode)
        await #expect(throws: MFAError.invalidCode) { try await t.services.mfa.verify(.customer(id), code: codes[3]) }
        // Typed by hand: upper case, no dash.
        #expect(try await t.services.mfa.verify(.customer(id), code: codes[4].uppercased().replacingOccurrences(of: "-", with: "")) == .recoveryCode)
        #expect(try await t.services.mfa.status(.customer(id)).recoveryCodesRemaining == 8)
    }

    @Test func recoveryCodesAreStoredHashed() async throws {
        let t = try await TestServices()
        let (id, secret) = try await t.activeCustomer()
        let codes = try await t.services.mfa.enrolKnownSecret(.customer(id), secret: secret)
        let stored = try await t.database.pool.read { db in try String.fetchAll(db, sql: "SELECT code_hash FROM recovery_codes") }
        #expect(stored.count == 10)
        for code in codes { #expect(!stored.contains(code) && !stored.contains(RecoveryCodes.normalize(code))) }
    }

    @Test func aTOTPCodeCannotBeReplayed() async throws {
        let t = try await TestServices()
        let (id, secret) = try await t.activeCustomer()
        let code = t.code(secret)
        #expect(try await t.services.mfa.verify(.customer(id), code: code) == .totp)
        await #expect(throws: MFAError.invalidCode) { try await t.services.mfa.verify(.customer(id), code: code) }
        // The previous step's code is older than the one used: refused too.
        let previous = TOTPGenerator(secret: secret).code(at: t.clock.date.addingTimeInterval(-30))
        await #expect(throws: MFAError.invalidCode) { try await t.services.mfa.verify(.customer(id), code: previous) }
        t.clock.advance(by: 30)
        #expect(try await t.services.mfa.verify(.customer(id), code: t.code(secret)) == .totp)
    }

    @Test func enrolmentKeepsThePendingKeyUntilConfirmed() async throws {
        let t = try await TestServices()
        let account = try await t.services.directory.upsertAccount(name: "Acme")
        let invite = try await t.services.invitations.invite(email: "new@example.com", accounts: [account.id], invitedBy: AuditEvent(action: "t", actorKind: .system))
        let principal = PrincipalRef.customer(invite.userId)
        let first = try await t.services.mfa.enrolmentPrompt(for: principal, accountLabel: "new@example.com")
        let again = try await t.services.mfa.enrolmentPrompt(for: principal, accountLabel: "new@example.com")
        #expect(first.secretBase32 == again.secretBase32)
        #expect(first.secretBase32.count == 32) // 160 bits
        let secret = try #require(Base32.decode(first.secretBase32))
        await #expect(throws: MFAError.invalidCode) { try await t.services.mfa.confirmEnrolment(for: principal, code: "000000" == t.code(secret) ? "111111" : "000000") }
        let codes = try await t.services.mfa.confirmEnrolment(for: principal, code: t.code(secret))
        #expect(codes.count == 10)
        #expect(try await t.services.mfa.status(principal).enrolled)
        await #expect(throws: MFAError.alreadyEnrolled) { try await t.services.mfa.enrolmentPrompt(for: principal, accountLabel: "x") }
        // The code used to confirm cannot sign in again.
        await #expect(throws: MFAError.invalidCode) { try await t.services.mfa.verify(principal, code: t.code(secret)) }
    }

    @Test func secretsAreEncryptedAtRestAndBoundToTheirOwner() async throws {
        let t = try await TestServices()
        let (id, secret) = try await t.activeCustomer()
        let (otherId, _) = try await t.activeCustomer("bob@example.com")
        let sealed = try await t.database.pool.read { db in
            try Data.fetchOne(db, sql: "SELECT secret_sealed FROM mfa_credentials WHERE principal_id = ?", arguments: [id])
        }
        let bytes = try #require(sealed)
        #expect(bytes.range(of: Data(secret)) == nil)
        // Copy Alice's sealed secret onto Bob's row: it must not open there.
        try await t.database.pool.write { db in
            try db.execute(sql: "UPDATE mfa_credentials SET secret_sealed = ? WHERE principal_id = ?", arguments: [bytes, otherId])
        }
        await #expect(throws: SecretBoxError.openFailed) { try await t.services.mfa.verify(.customer(otherId), code: t.code(secret)) }
    }
}
