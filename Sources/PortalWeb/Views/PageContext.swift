import Foundation
import PortalCore

/// The values every page's layout needs, built from whichever context the handler has.
enum PageContext {
    static func anonymous(_ context: PortalRequestContext, title: String, _ extra: [String: Any] = [:]) -> [String: Any] {
        var values: [String: Any?] = ["title": title, "csrf": context.csrfToken, "signedIn": false]
        if let flash = context.flash { values["flash"] = flash.text }
        return ViewValues.compact(values.merging(extra) { _, new in new })
    }

    static func customer(_ context: CustomerRequestContext, title: String, _ extra: [String: Any] = [:]) -> [String: Any] {
        let identity = context.identity
        var values: [String: Any?] = [
            "title": title, "csrf": context.csrfToken, "signedIn": true,
            "user": ["email": identity.user.email, "name": identity.user.name.isEmpty ? identity.user.email : identity.user.name],
            "activeAccount": identity.activeAccount.map { ["id": $0.id, "name": $0.name] } as Any?,
            "accounts": identity.accounts.map { ["id": $0.id, "name": $0.name, "active": $0.id == identity.activeAccount?.id] },
            "multipleAccounts": identity.accounts.count > 1,
        ]
        if let flash = context.flash { values["flash"] = flash.text }
        if let viewing = context.impersonation {
            values["impersonation"] = [
                "customer": identity.user.name.isEmpty ? identity.user.email : "\(identity.user.name) (\(identity.user.email))",
                "staff": viewing.staff.email, "endsAt": date(viewing.expiresAt), "stopAction": SitePath.staffImpersonationStop,
                "canPay": viewing.staff.role.includes(.finance),
            ]
        }
        return ViewValues.compact(values.merging(extra) { _, new in new })
    }

    /// "28 Nov 2026, 06:42 UTC". Formatted by hand from `gmtime_r`: a `DateFormatter` per call cost
    /// more than the rest of the account page.
    static func date(_ seconds: Int64) -> String {
        var time = time_t(seconds)
        var parts = tm()
        gmtime_r(&time, &parts)
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        func two(_ n: Int32) -> String { n < 10 ? "0\(n)" : "\(n)" }
        return "\(parts.tm_mday) \(months[Int(parts.tm_mon)]) \(parts.tm_year + 1900), \(two(parts.tm_hour)):\(two(parts.tm_min)) UTC"
    }
}
