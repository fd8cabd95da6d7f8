import Gateways

/// Creatio sends money and quantities as JSON numbers ("MTCMBudget":0.00), or as strings when the
/// request asks for IEEE754Compatible. Either way the digits are read as written and scaled to
/// integer minor units here: a `Double` cannot hold 0.1 or 0.2 exactly, and JSONSerialization would
/// hand one over. Extra digits are rounded half away from zero, like `InvoiceLine.expectedTotal`.
public enum CreatioDecimal {
    public enum Failure: Error, Equatable, CustomStringConvertible {
        case notANumber(String)
        case tooLarge(String)
        public var description: String {
            switch self {
            case .notANumber(let text): "\"\(text)\" is not a number"
            case .tooLarge(let text): "\(text) is too large"
            }
        }
    }

    /// `text` scaled by 10^digits: ("120.5", 2) → 12050, ("0.3", 2) → 30, ("1.2345", 3) → 1235.
    public static func scaled(_ text: String, digits: Int) throws -> Int64 {
        var chars = Substring(text.trimmingCharacters(in: .whitespaces))
        var negative = false
        if let sign = chars.first, sign == "-" || sign == "+" {
            negative = sign == "-"
            chars = chars.dropFirst()
        }
        var exponent = 0
        if let e = chars.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            guard let value = Int(chars[chars.index(after: e)...]), abs(value) < 40 else { throw Failure.notANumber(text) }
            exponent = value
            chars = chars[..<e]
        }
        let parts = chars.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        let whole = parts.first ?? ""
        let fraction = parts.count > 1 ? parts[1] : ""
        guard !(whole.isEmpty && fraction.isEmpty), (whole + fraction).allSatisfy({ $0.isASCII && $0.isNumber }) else {
            throw Failure.notANumber(text)
        }
        // All digits as one integer, and where the point sits once the scale is applied.
        var digitsOnly = Array(whole + fraction).map { Int64($0.wholeNumberValue!) }
        var shift = digits + exponent - fraction.count
        while shift > 0 { digitsOnly.append(0); shift -= 1 }
        var roundUp = false
        if shift < 0 {
            let keep = digitsOnly.count + shift
            if keep < 0 { digitsOnly = [] } else {
                roundUp = keep < digitsOnly.count && digitsOnly[keep] >= 5
                digitsOnly = Array(digitsOnly[..<keep])
            }
        }
        var value: Int64 = 0
        for digit in digitsOnly {
            let (times, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times.addingReportingOverflow(digit)
            guard !overflow1, !overflow2 else { throw Failure.tooLarge(text) }
            value = sum
        }
        if roundUp { value += 1 }
        return negative ? -value : value
    }

    /// A record's number field in minor units; a missing or null field is zero, as Creatio defaults it.
    package static func scaled(_ value: OrderedJSON?, digits: Int) throws -> Int64 {
        switch value {
        case nil, .null?: return 0
        case .number(let text)?, .string(let text)?: return try scaled(text, digits: digits)
        default: throw Failure.notANumber("\(value!)")
        }
    }
}

extension CreatioDecimal {
    /// Minor units as exact decimal text for Creatio: (12050, 2) → "120.50", (5, 2) → "0.05", (700, 0) → "700".
    public static func text(minorUnits: Int64, digits: Int) -> String {
        let magnitude = String(minorUnits.magnitude)
        let sign = minorUnits < 0 ? "-" : ""
        guard digits > 0 else { return sign + magnitude }
        let padded = String(repeating: "0", count: max(0, digits + 1 - magnitude.count)) + magnitude
        return sign + padded.dropLast(digits) + "." + padded.suffix(digits)
    }
}
