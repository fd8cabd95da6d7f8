import Foundation

/// An ISO 4217 currency code with its number of minor-unit digits.
public struct CurrencyCode: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let code: String

    public init?(_ code: String) {
        // Codes read back from the database are already three capital letters.
        if code.utf8.count == 3, code.utf8.allSatisfy({ (65...90).contains($0) }) {
            self.code = code
            return
        }
        let upper = code.uppercased()
        guard upper.count == 3, upper.allSatisfy({ $0.isASCII && $0.isLetter }) else { return nil }
        self.code = upper
    }

    /// Digits after the decimal point (ISO 4217); 2 for everything not listed.
    public var minorDigits: Int {
        switch code {
        case "JPY", "KRW", "VND", "CLP", "ISK", "XAF", "XOF", "UGX", "PYG", "RWF": 0
        case "BHD", "KWD", "OMR", "JOD", "TND", "IQD", "LYD": 3
        default: 2
        }
    }

    public var symbol: String? {
        switch code {
        case "USD": "$"
        case "EUR": "€"
        case "GBP": "£"
        case "JPY": "¥"
        default: nil
        }
    }

    public var description: String { code }
    public static func < (a: Self, b: Self) -> Bool { a.code < b.code }
}

/// An amount in integer minor units of one currency. Never a floating-point number.
public struct Money: Sendable, Hashable, CustomStringConvertible {
    public var minorUnits: Int64
    public var currency: CurrencyCode

    public init(_ minorUnits: Int64, _ currency: CurrencyCode) {
        self.minorUnits = minorUnits
        self.currency = currency
    }

    /// "€1,234.56", "-$5.00", "CHF 12.30": symbol for common currencies, otherwise the code.
    public var formatted: String {
        // Written into one buffer: list pages format two amounts per row.
        let digits = currency.minorDigits
        var divisor: UInt64 = 1
        for _ in 0..<digits { divisor *= 10 }
        let magnitude = minorUnits.magnitude
        var whole = magnitude / divisor
        var fraction = magnitude % divisor
        var wholeDigits = 1
        var rest = whole
        while rest >= 10 { rest /= 10; wholeDigits += 1 }
        let prefix = currency.symbol ?? currency.code + " "
        let capacity = 1 + prefix.utf8.count + wholeDigits + wholeDigits / 3 + 1 + digits
        return String(unsafeUninitializedCapacity: capacity) { out in
            var n = 0
            if minorUnits < 0 { out[n] = 0x2D; n += 1 }
            for byte in prefix.utf8 { out[n] = byte; n += 1 }
            let grouped = wholeDigits + (wholeDigits - 1) / 3
            var position = n + grouped - 1
            var written = 0
            repeat {
                if written > 0 && written % 3 == 0 { out[position] = 0x2C; position -= 1 }
                out[position] = 0x30 + UInt8(whole % 10)
                position -= 1
                whole /= 10
                written += 1
            } while whole > 0
            n += grouped
            if digits > 0 {
                out[n] = 0x2E
                for i in stride(from: n + digits, to: n, by: -1) {
                    out[i] = 0x30 + UInt8(fraction % 10)
                    fraction /= 10
                }
                n += digits + 1
            }
            return n
        }
    }

    /// "1234.56" — for CSV and machine-readable output.
    public var plain: String {
        let (sign, whole, fraction) = parts
        return sign + (fraction.isEmpty ? whole : whole + "." + fraction)
    }

    /// Sign, whole units and the zero-padded minor digits ("" for currencies without any).
    private var parts: (sign: String, whole: String, fraction: String) {
        let digits = currency.minorDigits
        var divisor: UInt64 = 1
        for _ in 0..<digits { divisor *= 10 }
        let magnitude = minorUnits.magnitude
        let fraction = String(magnitude % divisor)
        return (minorUnits < 0 ? "-" : "", String(magnitude / divisor),
                digits == 0 ? "" : String(repeating: "0", count: digits - fraction.count) + fraction)
    }

    public var description: String { formatted }

    /// Reads an amount a person typed ("1,234.5", "€ 12", "12.30") into minor units without ever
    /// passing through a floating-point number. Nil for anything else, including more decimals than
    /// the currency has or a negative sign.
    public static func parse(_ text: String, currency: CurrencyCode) -> Money? {
        var cleaned = text.trimmingCharacters(in: .whitespaces)
        if let symbol = currency.symbol, cleaned.hasPrefix(symbol) { cleaned.removeFirst(symbol.count) }
        if cleaned.uppercased().hasPrefix(currency.code) { cleaned.removeFirst(3) }
        cleaned = cleaned.trimmingCharacters(in: .whitespaces).replacingOccurrences(of: ",", with: "")
        let pieces = cleaned.split(separator: ".", omittingEmptySubsequences: false)
        guard (1...2).contains(pieces.count), !pieces[0].isEmpty || pieces.count == 2,
              pieces.allSatisfy({ $0.allSatisfy { $0.isASCII && $0.isNumber } }) else { return nil }
        let fraction = pieces.count == 2 ? String(pieces[1]) : ""
        guard fraction.count <= currency.minorDigits, !(pieces.count == 2 && fraction.isEmpty), pieces[0].count <= 12 else { return nil }
        let padded = fraction + String(repeating: "0", count: currency.minorDigits - fraction.count)
        guard let units = Int64((pieces[0].isEmpty ? "0" : String(pieces[0])) + padded) else { return nil }
        return Money(units, currency)
    }
}

/// A quantity with three fixed decimal places, stored as thousandths.
public struct Quantity: Sendable, Hashable {
    public var milli: Int64
    public init(milli: Int64) { self.milli = milli }

    /// "2", "1.5", "0.125".
    public var formatted: String {
        let whole = milli / 1000
        var fraction = String(abs(milli % 1000))
        if fraction == "0" { return String(whole) }
        fraction = String(repeating: "0", count: 3 - fraction.count) + fraction
        while fraction.hasSuffix("0") { fraction.removeLast() }
        return (milli < 0 && whole == 0 ? "-" : "") + String(whole) + "." + fraction
    }
}
