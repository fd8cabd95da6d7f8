import Foundation

/// How long a payment link lasts: until the later of `daysFromIssue` after the invoice's issue
/// date and `daysAfterDue` after its due date (each to the end of that day, UTC), and never less
/// than `minimumDays` from the moment it is issued, so a link for an old invoice is not born expired.
public struct PaymentLinkPolicy: Sendable, Equatable {
    public var daysFromIssue: Int = 60
    public var daysAfterDue: Int = 30
    public var minimumDays: Int = 7

    public init(daysFromIssue: Int = 60, daysAfterDue: Int = 30, minimumDays: Int = 7) {
        self.daysFromIssue = daysFromIssue
        self.daysAfterDue = daysAfterDue
        self.minimumDays = minimumDays
    }

    func expiry(issueDate: CalendarDate, dueDate: CalendarDate, now: Int64) -> Int64 {
        // `adding(days: n + 1)` at midnight is the end of day n.
        func endOf(_ date: CalendarDate, plus days: Int) -> Int64 { Int64(date.adding(days: days + 1).date.timeIntervalSince1970) }
        return max(endOf(issueDate, plus: daysFromIssue), endOf(dueDate, plus: daysAfterDue), now + Int64(minimumDays) * 86_400)
    }
}

/// A link as handed out: the absolute URL (`PORTAL_PUBLIC_URL` + `/pay/{token}`) and when it stops working.
public struct IssuedPaymentLink: Sendable, Equatable {
    public var id: String
    public var invoiceId: String
    public var url: String
    public var expiresAt: Int64
    /// Whether an existing valid link was handed out again rather than a new one made.
    public var reused: Bool
}

/// A genuine link (its signature checked) and the state of its invoice. Only `PaymentLinkService`
/// makes one, and with it the scope a payer without a user account acts in.
public struct VerifiedPaymentLink: Sendable {
    /// `processing`: a payment for the invoice is waiting for its answer, so no other may be made yet.
    public enum State: Sendable, Equatable { case payable, processing, paid, void, expired, revoked }

    public var id: String
    public var invoice: InvoiceSummary
    public var accountName: String
    public var expiresAt: Int64
    public var state: State
    /// When `processing` through this very link: that payment, whose receipt the payer may see.
    public var pendingPaymentId: String?
    public let scope: CustomerScope
}

public enum PaymentLinkError: Error, Equatable, Sendable {
    /// Unknown, malformed or tampered: nothing more is said.
    case invalid
    case expired
    case revoked
    case paid
    case void
    /// A payment for the invoice is still waiting for its answer.
    case processing
    /// Not found by portal or CRM id (or a draft, which customers never see).
    case invoiceNotFound
    /// Paid, void or with nothing owed: no link is issued.
    case invoiceNotPayable(String)
    case reasonRequired
    case notAllowed
    case unknownKey
    case currentKey
}
