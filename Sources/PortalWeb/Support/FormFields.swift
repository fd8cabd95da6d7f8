import Foundation
import Hummingbird

/// A parsed `application/x-www-form-urlencoded` body. Later fields with the same name win, as in
/// most frameworks; `all` keeps every value for multi-selects.
public struct FormFields: Sendable {
    public private(set) var pairs: [(String, String)] = []

    public init() {}

    public init(urlEncoded body: String) {
        for part in body.split(separator: "&", omittingEmptySubsequences: true) {
            let kv = part.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let key = Self.decode(kv[0])
            let value = kv.count > 1 ? Self.decode(kv[1]) : ""
            pairs.append((key, value))
        }
    }

    public subscript(_ name: String) -> String? {
        pairs.last { $0.0 == name }?.1
    }

    public func value(_ name: String) -> String {
        self[name]?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
    }

    /// Passwords are taken exactly as typed.
    public func raw(_ name: String) -> String { self[name] ?? "" }

    public func all(_ name: String) -> [String] {
        pairs.filter { $0.0 == name }.map(\.1)
    }

    private static func decode(_ s: Substring) -> String {
        String(s).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? ""
    }
}

/// Recognises a card number typed into a field where none belongs (13–19 digits, spaces or dashes
/// allowed, passing the Luhn check), so it can be refused without being stored or logged.
public enum CardNumberDetector {
    public static func looksLikeCardNumber(_ value: String) -> Bool {
        var digits: [Int] = []
        for scalar in value.unicodeScalars {
            switch scalar {
            case "0"..."9": digits.append(Int(scalar.value - 48))
            case " ", "-": continue
            default: return false
            }
        }
        guard (13...19).contains(digits.count) else { return false }
        var sum = 0
        for (index, digit) in digits.reversed().enumerated() {
            if index % 2 == 1 {
                let doubled = digit * 2
                sum += doubled > 9 ? doubled - 9 : doubled
            } else {
                sum += digit
            }
        }
        return sum % 10 == 0
    }
}

extension Request {
    /// A query-string value, trimmed; "" when absent.
    func queryText(_ name: String) -> String {
        (uri.queryParameters[Substring(name)].map { String($0) } ?? "").trimmingCharacters(in: .whitespaces)
    }
}
