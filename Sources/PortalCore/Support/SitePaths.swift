import Foundation

/// Every URL the portal serves or sends, in one place: the router registers these paths and the
/// services build emailed links from them, so a link can never point at a route that does not exist.
public enum SitePath {
    public static let home = "/"
    public static let login = "/login"
    public static let loginMFA = "/login/mfa"
    public static let logout = "/logout"
    public static let mfaSetup = "/account/mfa/setup"
    public static let account = "/account"
    public static let accountPassword = "/account/password"
    public static let accountRecoveryCodes = "/account/recovery-codes"
    public static let accountMFAReset = "/account/mfa/reset"
    public static let accountSessionsRevoke = "/account/sessions/revoke"
    public static let accountSessionsRevokeOthers = "/account/sessions/revoke-others"
    public static let accountSwitch = "/account/switch"
    public static let passwordForgot = "/password/forgot"
    public static let passwordResetPrefix = "/password/reset"
    public static let invitePrefix = "/invite"
    public static let healthz = "/healthz"
    public static let invoices = "/invoices"
    public static let invoicesCSV = "/invoices.csv"
    public static let paymentMethods = "/payment-methods"
    public static let pay = "/pay"
    public static let payments = "/payments"
    public static let autopay = "/autopay"
    public static let staff = "/staff"
    public static let staffLogin = "/staff/login"
    public static let staffLoginMFA = "/staff/login/mfa"
    public static let staffMFASetup = "/staff/mfa/setup"
    public static let staffLogout = "/staff/logout"
    public static let staffImpersonationStop = "/staff/impersonation/stop"
    public static let staffAudit = "/staff/audit"
    public static let plans = "/autopay/plans"
    /// Gateways post signed events to `/webhooks/{gateway name}`.
    public static let webhooks = "/webhooks"

    public static func passwordReset(_ token: String) -> String { "\(passwordResetPrefix)/\(token)" }
    public static func invite(_ token: String) -> String { "\(invitePrefix)/\(token)" }
    public static func invoice(_ id: String) -> String { "\(invoices)/\(id)" }
    public static func paymentMethodDefault(_ id: String) -> String { "\(paymentMethods)/\(id)/default" }
    public static func paymentMethodRemove(_ id: String) -> String { "\(paymentMethods)/\(id)/remove" }
    public static func staffCustomer(_ id: String) -> String { "\(staff)/customers/\(id)" }
    public static func staffImpersonate(_ id: String) -> String { "\(staff)/customers/\(id)/impersonate" }
    public static func planCancel(_ id: String) -> String { "\(plans)/\(id)/cancel" }
    public static func payment(_ id: String) -> String { "\(payments)/\(id)" }
    public static func paymentAuthenticated(_ id: String) -> String { "\(payments)/\(id)/authenticated" }
    /// A payment link (`PaymentLinkService`): no sign-in, one invoice.
    public static func paymentLink(_ token: String) -> String { "\(pay)/\(token)" }
    public static func paymentLinkPDF(_ token: String) -> String { "\(pay)/\(token)/invoice.pdf" }
    public static func paymentLinkPayment(_ token: String, _ id: String) -> String { "\(pay)/\(token)/payments/\(id)" }
    public static func paymentLinkAuthenticated(_ token: String, _ id: String) -> String { "\(pay)/\(token)/payments/\(id)/authenticated" }
    public static func staffInvoiceLinkRevoke(_ invoiceId: String) -> String { "\(staff)/invoices/\(invoiceId)/payment-link/revoke" }
    public static func staffInvoiceLinkIssue(_ invoiceId: String) -> String { "\(staff)/invoices/\(invoiceId)/payment-link" }
    /// The JSON API, authenticated by bearer API keys (no session, no form CSRF).
    public static let apiPaymentLinks = "/api/v1/payment-links"
    public static func payInvoice(_ id: String) -> String { pay(invoices: [id]) }
    public static func pay(invoices ids: [String]) -> String { pay + "?" + ids.map { "invoice=\($0)" }.joined(separator: "&") }
    public static func invoicePDF(_ id: String) -> String { "\(invoices)/\(id).pdf" }
    public static func webhook(_ gatewayName: String) -> String { "\(webhooks)/\(gatewayName)" }
    /// Where an invited staff member sets their password (`InvitationService.accept(kind: .staff)`).
    public static let staffInvitePrefix = "/staff/invite"
    public static func staffInvite(_ token: String) -> String { "\(staffInvitePrefix)/\(token)" }
    /// Where admins manage staff users; each member's changes post under their own id.
    public static let staffUsers = "/staff/users"
    public static func staffUserRole(_ id: String) -> String { "\(staffUsers)/\(id)/role" }
    public static func staffUserDisable(_ id: String) -> String { "\(staffUsers)/\(id)/disable" }
    public static func staffUserEnable(_ id: String) -> String { "\(staffUsers)/\(id)/enable" }
    public static func staffUserResend(_ id: String) -> String { "\(staffUsers)/\(id)/resend" }
    /// The integration page (finance and admin): sync and CRM push health, reprocessing, reconciliation.
    public static let staffIntegration = "/staff/integration"
    public static let staffIntegrationReprocess = "/staff/integration/failures/reprocess"
    public static let staffIntegrationReprocessAll = "/staff/integration/failures/reprocess-all"
    public static let staffIntegrationOutboxRetryAll = "/staff/integration/outbox/retry-all"
    public static func staffIntegrationOutboxRetry(_ id: String) -> String { "\(staffIntegration)/outbox/\(id)/retry" }
    public static let staffReconciliation = "/staff/integration/reconciliation"
    public static let staffReconciliationCSV = "/staff/integration/reconciliation.csv"

    public static func invoiceList(_ filter: InvoiceFilter) -> String { invoices + query(filter) }
    public static func invoiceCSV(_ filter: InvoiceFilter) -> String { invoicesCSV + query(filter, includePage: false) }

    private static func query(_ filter: InvoiceFilter, includePage: Bool = true) -> String {
        // Status, sort and direction are fixed words; only the search text needs encoding.
        var query = "?status=\(filter.status.rawValue)&sort=\(filter.sort.rawValue)&dir=\(filter.descending ? "desc" : "asc")"
        if !filter.search.isEmpty { query += "&q=" + (filter.search.addingPercentEncoding(withAllowedCharacters: queryValueAllowed) ?? "") }
        if includePage && filter.page > 1 { query += "&page=\(filter.page)" }
        return query
    }

    /// RFC 3986 unreserved characters, ASCII only (`CharacterSet.alphanumerics` would let "Ł" through).
    private static let queryValueAllowed = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
}

/// Absolute links for emails and CLI output.
public struct LinkBuilder: Sendable {
    public let publicURL: String

    public init(publicURL: String) {
        self.publicURL = publicURL.hasSuffix("/") ? String(publicURL.dropLast()) : publicURL
    }

    public func absolute(_ path: String) -> String { publicURL + path }
    public var isHTTPS: Bool { publicURL.lowercased().hasPrefix("https://") }

    /// "http://127.0.0.1:8080/x" → "http://127.0.0.1:8080": what browsers compare in CSP and postMessage.
    public static func origin(of url: String) -> String {
        guard let parsed = URL(string: url), let scheme = parsed.scheme, let host = parsed.host else { return url }
        return "\(scheme)://\(host)\(parsed.port.map { ":\($0)" } ?? "")"
    }
}
