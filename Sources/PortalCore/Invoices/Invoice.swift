import Foundation

public enum InvoiceStatus: String, Sendable, CaseIterable {
    case draft
    case open
    case partiallyPaid = "partially_paid"
    case paid
    case void

    public var label: String {
        switch self {
        case .draft: "Draft"
        case .open: "Open"
        case .partiallyPaid: "Partially paid"
        case .paid: "Paid"
        case .void: "Void"
        }
    }
}

/// A calendar date (no time zone), as invoices carry them.
public struct CalendarDate: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let iso: String  // YYYY-MM-DD

    public init?(iso: String) {
        // Dates read from the database are canonical: checked byte by byte without splitting.
        if let (y, m, d) = Self.canonicalParts(iso) {
            guard (1...9999).contains(y), (1...12).contains(m), (1...31).contains(d) else { return nil }
            self.iso = iso
            return
        }
        let parts = iso.split(separator: "-")
        guard iso.count == 10, parts.count == 3, let y = Int(parts[0]), let m = Int(parts[1]), let d = Int(parts[2]),
              (1...9999).contains(y), (1...12).contains(m), (1...31).contains(d) else { return nil }
        self.iso = iso
    }

    public init(_ date: Date) {
        // Since 1970 the Gregorian calendar in UTC is plain arithmetic on days; a `Calendar` per call
        // was a measurable part of every invoice page. Earlier dates go through Foundation.
        let seconds = date.timeIntervalSince1970.rounded(.down)
        if seconds >= 0, seconds < 253_402_300_800 {  // 10000-01-01
            let (y, m, d) = Self.civil(fromDays: Int(seconds) / 86_400)
            iso = Self.iso(year: y, month: m, day: d)
            return
        }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let c = calendar.dateComponents([.year, .month, .day], from: date)
        iso = String(format: "%04d-%02d-%02d", c.year ?? 1970, c.month ?? 1, c.day ?? 1)
    }

    public func adding(days: Int) -> CalendarDate {
        CalendarDate(date.addingTimeInterval(TimeInterval(days) * 86_400))
    }

    /// The same day `months` later, or that month's last day when it is shorter.
    public func addingMonths(_ months: Int) -> CalendarDate {
        let parts = iso.split(separator: "-").compactMap { Int($0) }
        let index = parts[0] * 12 + (parts[1] - 1) + months
        let (year, month) = (index / 12, index % 12 + 1)
        let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
        let lastDay = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]
        return CalendarDate(iso: String(format: "%04d-%02d-%02d", year, month, min(parts[2], lastDay)))!
    }

    public var date: Date {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let parts = iso.split(separator: "-").compactMap { Int($0) }
        return calendar.date(from: DateComponents(year: parts[0], month: parts[1], day: parts[2])) ?? Date(timeIntervalSince1970: 0)
    }

    /// "28 Nov 2026".
    public var formatted: String {
        if let (y, m, d) = Self.canonicalParts(iso) { return String(d) + " " + Self.monthNames[m - 1] + " " + String(y) }
        let parts = iso.split(separator: "-").compactMap { Int($0) }
        return "\(parts[2]) \(Self.monthNames[parts[1] - 1]) \(parts[0])"
    }

    private static let monthNames = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    public var description: String { iso }
    public static func < (a: Self, b: Self) -> Bool { a.iso < b.iso }

    /// Year, month and day of a `DDDD-DD-DD` string (digits only), unchecked for range.
    private static func canonicalParts(_ text: String) -> (Int, Int, Int)? {
        var text = text
        return text.withUTF8 { b -> (Int, Int, Int)? in
            guard b.count == 10, b[4] == 0x2D, b[7] == 0x2D else { return nil }
            func number(_ range: Range<Int>) -> Int? {
                var value = 0
                for i in range {
                    let digit = b[i] &- 0x30
                    guard digit < 10 else { return nil }
                    value = value * 10 + Int(digit)
                }
                return value
            }
            guard let y = number(0..<4), let m = number(5..<7), let d = number(8..<10) else { return nil }
            return (y, m, d)
        }
    }

    /// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's `civil_from_days`).
    static func civil(fromDays days: Int) -> (year: Int, month: Int, day: Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    private static func iso(year: Int, month: Int, day: Int) -> String {
        func pad(_ n: Int, _ width: Int) -> String {
            let digits = String(n)
            return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
        }
        return pad(year, 4) + "-" + pad(month, 2) + "-" + pad(day, 2)
    }
}

public struct InvoiceLine: Sendable, Equatable {
    public var position: Int
    public var externalId: String?
    public var description: String
    public var quantity: Quantity
    public var unitPrice: Int64
    public var discount: Int64
    public var tax: Int64
    public var lineTotal: Int64

    public init(position: Int, externalId: String? = nil, description: String, quantity: Quantity, unitPrice: Int64,
                discount: Int64 = 0, tax: Int64 = 0, lineTotal: Int64) {
        self.position = position
        self.externalId = externalId
        self.description = description
        self.quantity = quantity
        self.unitPrice = unitPrice
        self.discount = discount
        self.tax = tax
        self.lineTotal = lineTotal
    }

    /// quantity × unit price − discount, rounded half away from zero; tax is carried separately.
    public var expectedTotal: Int64 {
        let gross = quantity.milli * unitPrice
        let rounded = (gross >= 0 ? gross + 500 : gross - 500) / 1000
        return rounded - discount
    }
}

/// An invoice as the CRM sends it (or the demo seeds it).
public struct InvoiceInput: Sendable {
    public var accountId: String
    public var externalId: String?
    public var number: String
    public var issueDate: CalendarDate
    public var dueDate: CalendarDate
    public var currency: CurrencyCode
    public var lines: [InvoiceLine]
    public var subtotal: Int64
    public var taxTotal: Int64
    public var total: Int64
    public var amountPaid: Int64
    /// `draft`, `open` or `void` from the CRM; paid states are derived from what has been paid.
    public var crmStatus: InvoiceStatus
    public var billToName: String
    public var billToAddress: String
    public var notes: String
    public var terms: String
    public var crmModifiedOn: String?

    public init(accountId: String, externalId: String? = nil, number: String, issueDate: CalendarDate, dueDate: CalendarDate,
                currency: CurrencyCode, lines: [InvoiceLine], subtotal: Int64, taxTotal: Int64, total: Int64, amountPaid: Int64 = 0,
                crmStatus: InvoiceStatus = .open, billToName: String = "", billToAddress: String = "", notes: String = "",
                terms: String = "", crmModifiedOn: String? = nil) {
        self.accountId = accountId
        self.externalId = externalId
        self.number = number
        self.issueDate = issueDate
        self.dueDate = dueDate
        self.currency = currency
        self.lines = lines
        self.subtotal = subtotal
        self.taxTotal = taxTotal
        self.total = total
        self.amountPaid = amountPaid
        self.crmStatus = crmStatus
        self.billToName = billToName
        self.billToAddress = billToAddress
        self.notes = notes
        self.terms = terms
        self.crmModifiedOn = crmModifiedOn
    }

    /// Whether the sent totals agree with the lines. A disagreement is stored as sent and flagged.
    public var totalsMatchLines: Bool {
        let lineSum = lines.reduce(Int64(0)) { $0 + $1.lineTotal }
        let taxSum = lines.reduce(Int64(0)) { $0 + $1.tax }
        return lines.allSatisfy { $0.lineTotal == $0.expectedTotal } && lineSum == subtotal && taxSum == taxTotal
            && subtotal + taxTotal == total
    }

    /// Status from the CRM's state and what has been paid.
    public var derivedStatus: InvoiceStatus {
        InvoiceStatusRules.status(crmStatus: crmStatus, total: total, amountPaid: amountPaid)
    }
}

public enum InvoiceStatusRules {
    public static func status(crmStatus: InvoiceStatus, total: Int64, amountPaid: Int64) -> InvoiceStatus {
        switch crmStatus {
        case .draft, .void: return crmStatus
        case .open, .partiallyPaid, .paid:
            if total > 0 && amountPaid >= total { return .paid }
            if amountPaid > 0 { return .partiallyPaid }
            return total <= 0 ? .paid : .open
        }
    }

    /// Overdue is never stored: it depends on today.
    public static func isOverdue(status: InvoiceStatus, dueDate: CalendarDate, balance: Int64, today: CalendarDate) -> Bool {
        (status == .open || status == .partiallyPaid) && balance > 0 && dueDate < today
    }
}

/// One row of the invoice list.
public struct InvoiceSummary: Sendable, Equatable {
    public var id: String
    public var accountId: String
    public var number: String
    public var issueDate: CalendarDate
    public var dueDate: CalendarDate
    public var total: Money
    public var balance: Money
    public var status: InvoiceStatus
    public var isOverdue: Bool
}

public struct PaymentSummary: Sendable, Equatable {
    public var id: String
    public var createdAt: Int64
    public var amount: Money
    /// The part of the payment applied to the invoice being shown (or the whole amount on the dashboard).
    public var allocated: Money
    public var status: String
    public var methodBrand: String?
    public var methodLast4: String?
}

public struct InvoiceDetail: Sendable, Equatable {
    public var summary: InvoiceSummary
    public var accountName: String
    public var subtotal: Money
    public var taxTotal: Money
    public var amountPaid: Money
    public var lines: [InvoiceLine]
    public var totalsMismatch: Bool
    public var billToName: String
    public var billToAddress: String
    public var notes: String
    public var terms: String
    public var payments: [PaymentSummary]
}
