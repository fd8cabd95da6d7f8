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
    /// Read byte by byte: an import maps millions of these, and Foundation's trimming and splitting
    /// were an eighth of its time.
    public static func scaled(_ text: String, digits: Int) throws -> Int64 {
        let trimmed = trimmingWhitespace(text)
        var bytes = trimmed.utf8[...]
        var negative = false
        if let sign = bytes.first, sign == UInt8(ascii: "-") || sign == UInt8(ascii: "+") {
            negative = sign == UInt8(ascii: "-")
            bytes = bytes.dropFirst()
        }
        var exponent = 0
        if let e = bytes.firstIndex(where: { $0 == UInt8(ascii: "e") || $0 == UInt8(ascii: "E") }) {
            guard let value = smallInteger(bytes[bytes.index(after: e)...]), abs(value) < 40 else { throw Failure.notANumber(text) }
            exponent = value
            bytes = bytes[..<e]
        }
        let point = bytes.firstIndex(of: UInt8(ascii: "."))
        let whole = bytes[..<(point ?? bytes.endIndex)]
        let fraction = point.map { bytes[bytes.index(after: $0)...] } ?? bytes[bytes.endIndex...]
        guard !(whole.isEmpty && fraction.isEmpty), whole.allSatisfy(isDigit), fraction.allSatisfy(isDigit) else {
            throw Failure.notANumber(text)
        }
        // All digits as one integer, and where the point sits once the scale is applied: digits past
        // `keep` are dropped, the first of them rounding half away from zero.
        let count = whole.count + fraction.count
        let shift = digits + exponent - fraction.count
        let keep = count + min(0, shift)
        var value: Int64 = 0
        var roundUp = false
        func add(_ digit: Int64) throws {
            let (times, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times.addingReportingOverflow(digit)
            guard !overflow1, !overflow2 else { throw Failure.tooLarge(text) }
            value = sum
        }
        var position = 0
        for byte in [whole, fraction].joined() where keep >= 0 {
            if position == keep {
                roundUp = byte >= UInt8(ascii: "5")
                break
            }
            try add(Int64(byte &- UInt8(ascii: "0")))
            position += 1
        }
        for _ in 0..<max(0, shift) { try add(0) }
        if roundUp {
            guard value < Int64.max else { throw Failure.tooLarge(text) }
            value += 1
        }
        return negative ? -value : value
    }

    static func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }

    /// An optionally signed run of ASCII digits, as `Int(_:)` reads it; nil when it is not one or is far
    /// beyond any exponent a decimal could carry.
    static func smallInteger(_ bytes: Substring.UTF8View.SubSequence) -> Int? {
        var bytes = bytes
        var negative = false
        if let sign = bytes.first, sign == UInt8(ascii: "-") || sign == UInt8(ascii: "+") {
            negative = sign == UInt8(ascii: "-")
            bytes = bytes.dropFirst()
        }
        guard !bytes.isEmpty, bytes.allSatisfy(isDigit) else { return nil }
        var value = 0
        for byte in bytes {
            value = value * 10 + Int(byte &- UInt8(ascii: "0"))
            if value > 1_000_000 { return nil }
        }
        return negative ? -value : value
    }

    /// `text` without leading and trailing `CharacterSet.whitespaces` (space, tab and the other Zs).
    static func trimmingWhitespace(_ text: String) -> Substring {
        func isSpace(_ scalar: Unicode.Scalar) -> Bool {
            scalar == " " || scalar == "\t" || (!scalar.isASCII && scalar.properties.generalCategory == .spaceSeparator)
        }
        let scalars = text.unicodeScalars
        var start = scalars.startIndex, end = scalars.endIndex
        while start < end, isSpace(scalars[start]) { start = scalars.index(after: start) }
        while start < end, isSpace(scalars[scalars.index(before: end)]) { end = scalars.index(before: end) }
        return text[start..<end]
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
