import Foundation
import GRDB
@testable import PortalCore

/// Staff members, customers, invoices and cards for the staff console's tests.
extension TestServices {
    static let client = ClientInfo(address: "10.1.2.3")

    func staffMember(_ email: String, role: StaffRole) async throws -> StaffUser {
        try await services.directory.createStaff(email: email, name: email.split(separator: "@")[0].capitalized, role: role,
                                                 password: "staff correct horse battery",
                                                 actor: AuditEvent(action: "staff.create", actorKind: .system, actorLabel: "cli"))
    }

    func actor(_ staff: StaffUser) -> AuditEvent { .staffActor(staff, client: Self.client) }

    /// An active customer, with a confirmed authenticator, in the given accounts.
    @discardableResult
    func customer(_ email: String, name: String, accounts: [Account]) async throws -> String {
        _ = try await services.invitations.invite(email: email, name: name, accounts: accounts.map(\.id),
                                                  invitedBy: AuditEvent(action: "", actorKind: .system))
        let id = try await services.directory.activateCustomerForDemo(email: email, password: "correct horse battery")
        _ = try await services.mfa.enrolKnownSecret(.customer(id), secret: TOTPGenerator.newSecret())
        return id
    }

    @discardableResult
    func invoice(_ account: Account, number: String, total: Int64 = 10_000, issued: String = "2027-01-01",
                 due: String = "2027-01-31") async throws -> String {
        let usd = CurrencyCode("USD")!
        return try await services.invoices.upsert(InvoiceInput(
            accountId: account.id, number: number, issueDate: CalendarDate(iso: issued)!, dueDate: CalendarDate(iso: due)!,
            currency: usd, lines: [InvoiceLine(position: 1, description: "Service", quantity: Quantity(milli: 1000), unitPrice: total,
                                               lineTotal: total)],
            subtotal: total, taxTotal: 0, total: total))
    }

    /// A saved card as the gateway adapter leaves it: the gateway's ids beside the display details.
    func savedCard(_ account: Account, gatewayMethodId: String, gatewayCustomerId: String) async throws -> String {
        let id = OpaqueID.make("pm")
        let now = clock.clock.nowSeconds()
        try await database.pool.write { db in
            try db.execute(sql: "INSERT INTO gateway_customers (account_id, gateway, customer_id, created_at) VALUES (?, 'sandbox', ?, ?)",
                           arguments: [account.id, gatewayCustomerId, now])
            try db.execute(sql: """
                INSERT INTO payment_methods (id, account_id, gateway, gateway_method_id, brand, last4, exp_month, exp_year, fingerprint,
                    billing_name, is_default, created_at) VALUES (?, ?, 'sandbox', ?, 'visa', '4242', 12, 2031, 'fp_secret', 'Alice Smith', 1, ?)
                """, arguments: [id, account.id, gatewayMethodId, now])
        }
        return id
    }

    func liveSession(_ principal: PrincipalRef) async throws -> SessionRecord {
        try await services.sessions.create(for: principal, stage: .complete, client: Self.client).session
    }

    func sessionCount(_ principal: PrincipalRef) async throws -> Int {
        try await database.pool.read { db in
            try Int.fetchOne(db, sql: "SELECT count(*) FROM sessions WHERE principal_kind = ? AND principal_id = ?",
                             arguments: [principal.kind.rawValue, principal.id]) ?? 0
        }
    }

    func mail(to address: String) async throws -> [MailMessage] {
        try await services.outbox.all().map(\.message).filter { $0.to == address }
    }

    /// The token in the last link emailed to `address` under `prefix`.
    func emailedToken(to address: String, prefix: String) async throws -> String? {
        guard let body = try await mail(to: address).last?.textBody,
              let range = body.range(of: "https://portal.test" + prefix + "/") else { return nil }
        return String(body[range.upperBound...].prefix { !$0.isWhitespace })
    }
}
