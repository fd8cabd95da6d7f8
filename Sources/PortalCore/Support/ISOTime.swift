import Foundation

/// Unix seconds as ISO 8601 in UTC ("2026-11-28T15:00:00Z"): the audit CSV, the payment-links API
/// and the CLI's listings all write times this way.
public enum ISOTime {
    public static func string(_ seconds: Int64) -> String {
        Date(timeIntervalSince1970: TimeInterval(seconds)).formatted(.iso8601)
    }
}
