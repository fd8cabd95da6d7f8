import ArgumentParser
import Configuration
import PortalCore

/// Payment rules: partial payments, overpayment, reconciliation, retries and reminders. Read like
/// every other setting (CLI, then environment, then default) by the commands that take payments.
struct PaymentOptions: ParsableArguments {
    @Option(name: .customLong("min-partial-payment"), help: "Smallest partial payment, in minor units of the invoice's currency (100 = 1.00). Env: PORTAL_MIN_PARTIAL_PAYMENT. Default: 100")
    var minimumPartial: String?

    @Option(name: .customLong("allow-overpayment"), help: "true to accept more than the balance, kept as account credit. Env: PORTAL_ALLOW_OVERPAYMENT. Default: false")
    var allowOverpayment: String?

    @Option(name: .customLong("reconcile-after"), help: "Seconds a payment may wait for the gateway's answer before it is looked up. Env: PORTAL_RECONCILE_AFTER. Default: 600")
    var reconcileAfter: String?

    @Option(name: .customLong("retry-days"), help: "Days after a failed recurring charge to retry, comma-separated. Env: PORTAL_RETRY_DAYS. Default: 1,3,5")
    var retryDays: String?

    @Option(name: .customLong("reminder-days-before"), help: "Days before the due date to remind. Env: PORTAL_REMINDER_DAYS_BEFORE. Default: 7,1")
    var reminderDaysBefore: String?

    @Option(name: .customLong("reminder-days-after"), help: "Days after the due date to remind while unpaid. Env: PORTAL_REMINDER_DAYS_AFTER. Default: 1,7")
    var reminderDaysAfter: String?

    func reader() -> ConfigReader {
        var values: [AbsoluteConfigKey: ConfigValue] = [:]
        for (key, value) in [("portal.min.partial.payment", minimumPartial), ("portal.allow.overpayment", allowOverpayment),
                             ("portal.reconcile.after", reconcileAfter), ("portal.retry.days", retryDays),
                             ("portal.reminder.days.before", reminderDaysBefore), ("portal.reminder.days.after", reminderDaysAfter)] {
            if let value { values[AbsoluteConfigKey(stringLiteral: key)] = ConfigValue(.string(value), isSecret: false) }
        }
        return ConfigReader(providers: [InMemoryProvider(name: "arguments", values: values), EnvironmentVariablesProvider()])
    }

    /// Validates the settings into `configuration`, or throws one line naming the one that is wrong.
    func apply(to configuration: inout PortalConfiguration) throws {
        let config = reader()
        var payments = PaymentPolicy()
        if let text = config.string(forKey: "portal.min.partial.payment") {
            guard let value = Int64(text), value >= 1, value <= 100_000_000 else {
                throw ConfigurationError("PORTAL_MIN_PARTIAL_PAYMENT", "must be a whole number of minor units from 1, e.g. 100 for 1.00")
            }
            payments.minimumPartial = value
        }
        if let text = config.string(forKey: "portal.allow.overpayment") {
            guard let value = ["true": true, "false": false, "1": true, "0": false, "yes": true, "no": false][text.lowercased()] else {
                throw ConfigurationError("PORTAL_ALLOW_OVERPAYMENT", "must be true or false")
            }
            payments.allowOverpayment = value
        }
        if let text = config.string(forKey: "portal.reconcile.after") {
            guard let value = Int64(text), value >= 0, value <= 86_400 * 7 else {
                throw ConfigurationError("PORTAL_RECONCILE_AFTER", "must be a number of seconds from 0 to 604800")
            }
            payments.reconcileAfterSeconds = value
        }
        var recurring = RecurringPolicy()
        func days(_ key: ConfigKey, _ variable: String) throws -> [Int]? {
            guard let text = config.string(forKey: key) else { return nil }
            guard let days = RecurringPolicy.days(text) else {
                throw ConfigurationError(variable, "must be whole days from 0 to 365, comma-separated, e.g. 1,3,5")
            }
            return days
        }
        if let value = try days("portal.retry.days", "PORTAL_RETRY_DAYS") { recurring.retryDays = value }
        if let value = try days("portal.reminder.days.before", "PORTAL_REMINDER_DAYS_BEFORE") { recurring.reminderDaysBefore = value }
        if let value = try days("portal.reminder.days.after", "PORTAL_REMINDER_DAYS_AFTER") { recurring.reminderDaysAfter = value }
        configuration.payments = payments
        configuration.recurring = recurring
    }
}
