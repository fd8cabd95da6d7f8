import Foundation
import PortalCore
import Testing

/// The hand-written encoders and formatters on the request path, checked against the Foundation
/// code they replaced (kept here as the oracle).
@Suite struct FormattingTests {
    @Test func hexMatchesStringFormat() {
        var generator = SystemRandomNumberGenerator()
        for count in [0, 1, 2, 16, 32, 33] {
            let bytes = (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }
            #expect(bytes.hexString == bytes.map { String(format: "%02x", $0) }.joined())
        }
        #expect(Array(0...255 as ClosedRange<UInt8>).hexString == (0...255).map { String(format: "%02x", $0) }.joined())
    }

    @Test func base64URLMatchesFoundationAndRoundTrips() {
        var generator = SystemRandomNumberGenerator()
        for count in 0..<70 {
            let bytes = (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }
            let expected = Data(bytes).base64EncodedString()
                .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
            #expect(Base64URL.encode(bytes) == expected)
            #expect(Base64URL.decode(Base64URL.encode(bytes)) == bytes)
        }
        #expect(Base64URL.encode([0xFB, 0xFF, 0xBF]) == "-_-_")
    }

    /// The previous `Money.formatted`: strings, inserted commas.
    private static func oracle(_ money: Money) -> String {
        let digits = money.currency.minorDigits
        var divisor: UInt64 = 1
        for _ in 0..<digits { divisor *= 10 }
        let magnitude = money.minorUnits.magnitude
        let fractionDigits = String(magnitude % divisor)
        let fraction = digits == 0 ? "" : String(repeating: "0", count: digits - fractionDigits.count) + fractionDigits
        var grouped = String(magnitude / divisor)
        var index = grouped.count - 3
        while index > 0 {
            grouped.insert(",", at: grouped.index(grouped.startIndex, offsetBy: index))
            index -= 3
        }
        let number = fraction.isEmpty ? grouped : grouped + "." + fraction
        let sign = money.minorUnits < 0 ? "-" : ""
        if let symbol = money.currency.symbol { return sign + symbol + number }
        return sign + money.currency.code + " " + number
    }

    @Test func moneyFormattingMatchesThePreviousFormatter() {
        var generator = SystemRandomNumberGenerator()
        let currencies = ["EUR", "USD", "GBP", "JPY", "KWD", "CHF", "SEK"].map { CurrencyCode($0)! }
        var amounts: [Int64] = [0, 1, -1, 9, 10, 99, 100, 999, 1_000, 99_999, 100_000, 123_456_789, -123_456_789, .max, .min, .min + 1]
        for _ in 0..<500 { amounts.append(Int64.random(in: -10_000_000_000...10_000_000_000, using: &generator)) }
        for exponent in 0..<19 {
            let power = (0..<exponent).reduce(Int64(1)) { value, _ in value * 10 }
            amounts += [power, power - 1, -power]
        }
        for currency in currencies {
            for amount in amounts {
                let money = Money(amount, currency)
                #expect(money.formatted == Self.oracle(money), "\(amount) \(currency.code)")
            }
        }
    }

    @Test func currencyCodesAreUpperCasedThreeLetters() {
        #expect(CurrencyCode("EUR")?.code == "EUR" && CurrencyCode("eur")?.code == "EUR" && CurrencyCode("Usd")?.code == "USD")
        for bad in ["", "EU", "EURO", "E1R", "€UR", "ÄBC"] { #expect(CurrencyCode(bad) == nil, "\(bad)") }
    }

    @Test func calendarDatesFromInstantsMatchTheGregorianCalendar() {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        func expected(_ date: Date) -> String {
            let c = calendar.dateComponents([.year, .month, .day], from: date)
            return String(format: "%04d-%02d-%02d", c.year!, c.month!, c.day!)
        }
        var generator = SystemRandomNumberGenerator()
        var instants: [TimeInterval] = [0, 86_399, 86_400, 951_782_400, 951_868_800, 4_107_542_400, 253_402_300_799,
                                        -1, -86_400, -62_135_596_800]  // 1970, 2000-02-29/03-01, 2100-03-01, 9999-12-31, before 1970
        for _ in 0..<2_000 { instants.append(TimeInterval(Int64.random(in: 0..<253_402_300_800, using: &generator))) }
        for day in stride(from: 0, to: 2_932_897, by: 97) { instants.append(TimeInterval(day) * 86_400 + 43_200.5) }
        for instant in instants {
            let date = Date(timeIntervalSince1970: instant)
            #expect(CalendarDate(date).iso == expected(date), "\(instant)")
        }
    }

    @Test func calendarDatesParseAndFormat() {
        #expect(CalendarDate(iso: "2026-11-28")?.formatted == "28 Nov 2026")
        #expect(CalendarDate(iso: "0999-01-05")?.formatted == "5 Jan 999")
        for bad in ["2026-13-01", "2026-00-10", "2026-01-32", "0000-01-01", "2026-1-1", "2026/01/01", "20261-01-0", "", "abcd-ef-gh"] {
            #expect(CalendarDate(iso: bad) == nil, "\(bad)")
        }
        // Non-canonical spellings the original parser accepted are still accepted (and shown the same way).
        #expect(CalendarDate(iso: "2026-1-011")?.formatted == "11 Jan 2026")
        #expect(CalendarDate(iso: "2026-11-28")!.adding(days: 3).iso == "2026-12-01")
    }
}
