import Foundation

/// Which card gateway the portal uses, with its credentials.
public enum GatewayConfiguration: Sendable, Equatable {
    /// Not set in the environment: use the gateway stored (encrypted) with `portal gateway configure`.
    case fromDatabase
    case none
    case sandbox(url: String, secretKey: String, publicKey: String, webhookSecret: String)
    case stripe(apiBase: String, jsURL: String, secretKey: String, publishableKey: String, webhookSecret: String)
    /// `currency` is the one the Authorize.Net account settles in (ISO 4217 code).
    case authorizeNet(endpoint: String, acceptUIURL: String, apiLoginID: String, transactionKey: String, clientKey: String,
                      signatureKey: String, currency: String)
}

/// A setting that is missing or wrong; startup prints `description` as one line and stops.
public struct ConfigurationError: Error, CustomStringConvertible, Equatable {
    public var setting: String
    public var problem: String

    public init(_ setting: String, _ problem: String) {
        self.setting = setting
        self.problem = problem
    }

    public var description: String { "configuration error: \(setting) \(problem)" }
}

/// Settings for serve/worker/CLI, already validated. Each comes from a CLI option, then the
/// environment variable named in `ConfigurationKey`, then a default.
public struct PortalConfiguration: Sendable {
    public var databasePath: String
    public var bindHost: String
    public var bindPort: Int
    public var publicURL: String
    public var keyFile: String
    /// `smtp://…`, `smtps://…`, or `file:///dir` to write .eml files instead of sending.
    public var smtpURL: String
    public var mailFrom: String
    /// Where Templates/, Public/ and Migrations/ live.
    public var resourcesDirectory: String
    /// Who issues the invoices, and the fonts their PDFs embed.
    public var documents = InvoiceDocumentSettings(companyName: "Payment Portal")
    public var gateway: GatewayConfiguration = .fromDatabase
    /// The business's billing inbox (`PORTAL_BILLING_EMAIL`), told about removed cards.
    public var billingEmail: String?
    public var payments = PaymentPolicy()
    public var recurring = RecurringPolicy()
    public var impersonation = ImpersonationPolicy()
    public var paymentLinks = PaymentLinkPolicy()
    public var apiKeys = ApiKeyPolicy()
    /// Integration alerts (`PORTAL_SYNC_ALERT_*`), checked by the worker.
    public var syncAlerts = SyncAlertPolicy()

    public init(databasePath: String, bindHost: String, bindPort: Int, publicURL: String, keyFile: String,
                smtpURL: String, mailFrom: String, resourcesDirectory: String) {
        self.databasePath = databasePath
        self.bindHost = bindHost
        self.bindPort = bindPort
        self.publicURL = publicURL
        self.keyFile = keyFile
        self.smtpURL = smtpURL
        self.mailFrom = mailFrom
        self.resourcesDirectory = resourcesDirectory
    }

    public var templatesDirectory: String { resourcesDirectory + "/Templates" }
    public var publicDirectory: String { resourcesDirectory + "/Public" }
    public var migrationsDirectory: String { resourcesDirectory + "/Migrations" }
    public var isHTTPS: Bool { publicURL.lowercased().hasPrefix("https://") }

    public enum Mail: Equatable, Sendable {
        case smtp(SMTPSettings)
        case files(String)
    }

    public func mail() throws -> Mail {
        if smtpURL.hasPrefix("file://") {
            let path = String(smtpURL.dropFirst("file://".count))
            guard path.hasPrefix("/") else { throw ConfigurationError("PORTAL_SMTP_URL", "file:// needs an absolute path, e.g. file:///srv/portal/mail") }
            return .files(path)
        }
        guard let settings = SMTPSettings(url: smtpURL) else {
            throw ConfigurationError("PORTAL_SMTP_URL", "must be smtp://[user:pass@]host[:port], smtps://… or file:///dir (got an unusable value)")
        }
        return .smtp(settings)
    }

    /// Parses "host:port".
    public static func parseBind(_ value: String) throws -> (String, Int) {
        guard let colon = value.lastIndex(of: ":"), let port = Int(value[value.index(after: colon)...]), (1...65535).contains(port) else {
            throw ConfigurationError("PORTAL_BIND", "must be host:port, e.g. 127.0.0.1:8080 (got \"\(value)\")")
        }
        var host = String(value[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty else { throw ConfigurationError("PORTAL_BIND", "needs a host, e.g. 127.0.0.1:8080") }
        return (host, port)
    }

    public static func validatePublicURL(_ value: String) throws -> String {
        guard let url = URL(string: value), let scheme = url.scheme?.lowercased(), ["http", "https"].contains(scheme),
              url.host?.isEmpty == false, url.query == nil else {
            throw ConfigurationError("PORTAL_PUBLIC_URL", "must be an absolute http(s) URL such as https://pay.example.com (got \"\(value)\")")
        }
        return value.hasSuffix("/") ? String(value.dropLast()) : value
    }

    public static func validateMailFrom(_ value: String) throws -> String {
        guard InvitationService.isPlausibleEmail(normalizeEmail(SMTPMailer.bareAddress(value))) else {
            throw ConfigurationError("PORTAL_MAIL_FROM", "must be an email address, e.g. \"Billing <billing@example.com>\"")
        }
        return value
    }
}
