import Foundation
import GRDB

/// Everything the staff console shows about one customer user, read in one transaction. Cards are
/// brand, last 4 and expiry only: the gateway's ids for the card and the customer never leave the
/// database, and a payment waiting on the customer's bank keeps its state but not its client secret.
public struct CustomerView: Sendable, Equatable {
    public struct AccountSection: Sendable, Equatable {
        public var account: Account
        /// Everyone who can act for the account, this user included.
        public var users: [CustomerUser]
        /// The CRM's contacts at the account who have no sign-in to it yet.
        public var contacts: [Contact]
        /// Newest issued first, drafts included: staff see what the CRM sent.
        public var invoices: [InvoiceSummary]
        /// Newest first.
        public var payments: [Payment]
        public var paymentMethods: [PaymentMethod]
        public var autopay: AutopayEnrollment?
        public var plans: [PaymentPlan]
    }

    public var user: CustomerUser
    public var mfaEnrolled: Bool
    /// When the outstanding invitation link stops working, while there is one.
    public var invitationExpiresAt: Int64?
    /// Signed-in sessions still alive now.
    public var activeSessions: Int
    public var accounts: [AccountSection]
    /// Events about the user or made by them, newest first.
    public var activity: [AuditEvent]

    static func load(userId: String, recent: Int, activityLimit: Int, now: Int64, idleTimeout: Int64, _ db: Database) throws -> CustomerView? {
        guard let (user, accounts) = try UserStore.customerWithAccounts(id: userId, db) else { return nil }
        let principal = PrincipalRef.customer(userId)
        let today = CalendarDate(Date(timeIntervalSince1970: TimeInterval(now)))
        let mfaEnrolled = try Bool.fetchOne(db, sql: """
            SELECT confirmed_at IS NOT NULL FROM mfa_credentials WHERE principal_kind = 'customer' AND principal_id = ?
            """, arguments: [userId]) ?? false
        let invitationExpiresAt = try Int64.fetchOne(db, sql: """
            SELECT max(expires_at) FROM email_tokens WHERE principal_kind = 'customer' AND principal_id = ? AND purpose = 'invite'
            AND used_at IS NULL AND expires_at > ?
            """, arguments: [userId, now])
        let activeSessions = try Int.fetchOne(db, sql: """
            SELECT count(*) FROM sessions WHERE principal_kind = 'customer' AND principal_id = ? AND stage = 'complete'
            AND expires_at > ? AND last_seen_at > ?
            """, arguments: [userId, now, now - idleTimeout]) ?? 0
        let sections = try accounts.map { account in
            try section(account, recent: recent, today: today, db)
        }
        return CustomerView(user: user, mfaEnrolled: mfaEnrolled, invitationExpiresAt: invitationExpiresAt, activeSessions: activeSessions,
                            accounts: sections, activity: try AuditService.involving(principal, limit: activityLimit, db))
    }

    private static func section(_ account: Account, recent: Int, today: CalendarDate, _ db: Database) throws -> AccountSection {
        let users = try Row.fetchAll(db, sql: """
            SELECT u.* FROM customer_users u JOIN account_memberships m ON m.user_id = u.id WHERE m.account_id = ? ORDER BY u.name, u.email
            """, arguments: [account.id]).map(CustomerUser.init(row:))
        let invoices = try Row.fetchAll(db, sql: """
            SELECT id, account_id, number, issue_date, due_date, currency, total, balance, status FROM invoices
            WHERE account_id = ? ORDER BY issue_date DESC, id DESC LIMIT ?
            """, arguments: [account.id, recent]).map { InvoiceService.summary($0, today: today) }
        let payments = try String.fetchAll(db, sql: "SELECT id FROM payments WHERE account_id = ? ORDER BY created_at DESC, id DESC LIMIT ?",
                                           arguments: [account.id, recent])
            .compactMap { try PaymentRows.payment(db, id: $0) }
            .map { payment in
                var shown = payment
                // Staff need to see that the bank is waiting for the customer, not the secret that
                // lets a browser finish the payment.
                shown.actionClientSecret = payment.actionClientSecret.map { _ in "" }
                return shown
            }
        let methods = try Row.fetchAll(db, sql: """
            SELECT id, brand, last4, exp_month, exp_year, is_default, billing_name FROM payment_methods
            WHERE account_id = ? AND removed_at IS NULL AND payment_link_id IS NULL ORDER BY is_default DESC, created_at DESC, id
            """, arguments: [account.id]).map { PaymentMethodService.method($0, today: today) }
        let plans = try Row.fetchAll(db, sql: """
            SELECT p.*, m.brand, m.last4 FROM payment_plans p JOIN payment_methods m ON m.id = p.payment_method_id
            WHERE p.account_id = ? AND p.status IN ('active', 'paused') ORDER BY p.created_at DESC
            """, arguments: [account.id]).map(PaymentPlanService.plan)
        return AccountSection(account: account, users: users, contacts: try ContactService.withoutSignIn(accountId: account.id, db), invoices: invoices, payments: payments, paymentMethods: methods,
                              autopay: try AutopayService.live(accountId: account.id, db), plans: plans)
    }
}
