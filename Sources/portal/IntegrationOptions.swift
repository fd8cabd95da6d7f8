import ArgumentParser
import Configuration
import PortalCore

/// Integration alerts: who is told when CRM sync failures pile up, the pull stalls or pushes to the
/// CRM die or wait too long. Read like every other setting (CLI, then environment, then default) by
/// the worker, which checks every cycle.
struct IntegrationOptions: ParsableArguments {
    @Option(name: .customLong("sync-alert-email"), help: "Where integration alerts are emailed (none: no alerts). Env: PORTAL_SYNC_ALERT_EMAIL")
    var alertEmail: String?

    @Option(name: .customLong("sync-alert-failures"), help: "Open sync failures from which an alert is sent. Env: PORTAL_SYNC_ALERT_FAILURES. Default: 10")
    var alertFailures: String?

    @Option(name: .customLong("sync-stall-minutes"), help: "Minutes without a successful Creatio pull, or for the oldest update waiting for the CRM, before an alert. Env: PORTAL_SYNC_STALL_MINUTES. Default: 60")
    var stallMinutes: String?

    func reader() -> ConfigReader {
        var values: [AbsoluteConfigKey: ConfigValue] = [:]
        for (key, value) in [("portal.sync.alert.email", alertEmail), ("portal.sync.alert.failures", alertFailures),
                             ("portal.sync.stall.minutes", stallMinutes)] {
            if let value { values[AbsoluteConfigKey(stringLiteral: key)] = ConfigValue(.string(value), isSecret: false) }
        }
        return ConfigReader(providers: [InMemoryProvider(name: "arguments", values: values), EnvironmentVariablesProvider()])
    }

    /// Validates the settings into `configuration`, or throws one line naming the one that is wrong.
    func apply(to configuration: inout PortalConfiguration) throws {
        let config = reader()
        var policy = SyncAlertPolicy()
        if let address = config.string(forKey: "portal.sync.alert.email"), !address.isEmpty {
            guard InvitationService.isPlausibleEmail(normalizeEmail(address)) else {
                throw ConfigurationError("PORTAL_SYNC_ALERT_EMAIL", "must be an email address")
            }
            policy.address = address
        }
        if let text = config.string(forKey: "portal.sync.alert.failures") {
            guard let value = Int(text), (1...100_000).contains(value) else {
                throw ConfigurationError("PORTAL_SYNC_ALERT_FAILURES", "must be a whole number from 1, e.g. 10")
            }
            policy.failureThreshold = value
        }
        if let text = config.string(forKey: "portal.sync.stall.minutes") {
            guard let value = Int(text), (1...10_080).contains(value) else {
                throw ConfigurationError("PORTAL_SYNC_STALL_MINUTES", "must be a whole number of minutes from 1 to 10080")
            }
            policy.stallMinutes = value
        }
        configuration.syncAlerts = policy
    }
}
