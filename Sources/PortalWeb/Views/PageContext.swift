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
        return ViewValues.compact(values.merging(extra) { _, new in new })
    }

    static func date(_ seconds: Int64) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "d MMM yyyy, HH:mm 'UTC'"
        return formatter.string(from: Date(timeIntervalSince1970: TimeInterval(seconds)))
    }
}
