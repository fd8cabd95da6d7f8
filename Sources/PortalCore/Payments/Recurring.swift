import Foundation

/// When the worker retries failed recurring charges and sends reminders.
public struct RecurringPolicy: Sendable, Equatable {
    /// Days after a failed recurring charge to try again, one retry per entry.
    public var retryDays: [Int]
    /// Reminders this many days before an invoice's due date…
    public var reminderDaysBefore: [Int]
    /// …and this many days after it, while a balance remains.
    public var reminderDaysAfter: [Int]
    /// Customers hear this many days before a saved card expires.
    public var cardExpiryNoticeDays: Int

    public init(retryDays: [Int] = [1, 3, 5], reminderDaysBefore: [Int] = [7, 1], reminderDaysAfter: [Int] = [1, 7],
                cardExpiryNoticeDays: Int = 30) {
        self.retryDays = retryDays
        self.reminderDaysBefore = reminderDaysBefore
        self.reminderDaysAfter = reminderDaysAfter
        self.cardExpiryNoticeDays = cardExpiryNoticeDays
    }

    /// Parses "1,3,5" (whole days, 0–365, ascending or not); nil for anything else.
    public static func days(_ text: String) -> [Int]? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if trimmed.isEmpty { return [] }
        let values = trimmed.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard values.allSatisfy({ $0 != nil && (0...365).contains($0!) }) else { return nil }
        return values.compactMap { $0 }
    }
}

public enum AutopayTiming: Sendable, Equatable {
    case onDueDate
    case daysBefore(Int)

    var storage: (timing: String, days: Int) {
        switch self {
        case .onDueDate: ("due_date", 0)
        case .daysBefore(let days): ("days_before", days)
        }
    }

    init(timing: String, days: Int) {
        self = timing == "days_before" && days > 0 ? .daysBefore(days) : .onDueDate
    }

    public var label: String {
        switch self {
        case .onDueDate: "on each invoice's due date"
        case .daysBefore(let days): "\(days) day\(days == 1 ? "" : "s") before each invoice's due date"
        }
    }
}

public enum PlanFrequency: String, Sendable, Equatable, CaseIterable {
    case weekly, monthly

    /// The n-th instalment date after `start` (0 is `start`). Monthly dates keep the day of month,
    /// falling back to the month's last day (31 Jan → 28/29 Feb → 31 Mar).
    public func date(_ n: Int, from start: CalendarDate) -> CalendarDate {
        switch self {
        case .weekly: return start.adding(days: 7 * n)
        case .monthly: return start.addingMonths(n)
        }
    }
}

/// The words a customer agrees to. Changing them means a new version; every enrolment keeps the
/// exact text and version it was given.
public enum RecurringConsent {
    public static let version = "2026-11-autopay-v1"
    public static let planVersion = "2026-11-plan-v1"

    public static func autopay(account: String, card: String, timing: AutopayTiming) -> String {
        "I authorise \(account)'s payment portal to charge \(card) for the full balance of each invoice issued to \(account), "
            + "\(timing.label), until I cancel autopay. I can pause or cancel autopay at any time in the portal before a charge is made. "
            + "I will get an email receipt for every charge."
    }

    public static func plan(account: String, card: String, amount: Money, frequency: PlanFrequency, start: CalendarDate,
                            end: CalendarDate?) -> String {
        "I authorise \(account)'s payment portal to charge \(card) \(amount.formatted) \(frequency.rawValue) starting \(start.formatted), "
            + (end.map { "until \($0.formatted) or " } ?? "until ")
            + "the account's open \(amount.currency.code) balance is paid, whichever comes first. The last charge is never more than the balance left. "
            + "I can cancel the plan at any time in the portal before a charge is made."
    }
}

public struct AutopayEnrollment: Sendable, Equatable {
    public enum Status: String, Sendable { case active, paused, cancelled }
    public var id: String
    public var methodId: String
    public var methodLabel: String
    public var timing: AutopayTiming
    public var status: Status
    public var consentVersion: String
    public var consentText: String
    public var consentedAt: Int64
    public var coversFrom: CalendarDate
}

public struct PaymentPlan: Sendable, Equatable {
    public enum Status: String, Sendable { case active, paused, cancelled, completed }
    public var id: String
    public var methodId: String
    public var methodLabel: String
    public var amount: Money
    public var frequency: PlanFrequency
    public var startDate: CalendarDate
    public var endDate: CalendarDate?
    public var status: Status
    public var consentText: String
}

/// One upcoming charge, for the schedules customers see.
public struct UpcomingCharge: Sendable, Equatable {
    public var date: CalendarDate
    public var amount: Money
    public var description: String
}

public enum RecurringError: Error, Equatable, Sendable {
    case notFound
    case methodNotFound
    case methodExpired
    case invalidDays
    case invalidAmount
    case belowMinimum(Money)
    case aboveBalance(Money)
    case nothingOwed
    case invalidDates
    case consentRequired
    case notActive
}
