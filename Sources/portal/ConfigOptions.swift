import ArgumentParser
import Configuration
import Foundation
import PortalCore

/// Settings shared by every subcommand. Each option overrides its environment variable, which
/// overrides the default: the same order the Hummingbird template uses (CLI → environment → default).
struct ConfigOptions: ParsableArguments {
    @Option(name: .customLong("database"), help: "SQLite database file. Env: PORTAL_DATABASE. Default: var/portal.sqlite")
    var database: String?

    @Option(name: .customLong("bind"), help: "Address to listen on, host:port. Env: PORTAL_BIND. Default: 127.0.0.1:8080")
    var bind: String?

    @Option(name: .customLong("public-url"), help: "The portal's public base URL, used in emailed links and to decide Secure cookies and HSTS. Env: PORTAL_PUBLIC_URL. Required by serve.")
    var publicURL: String?

    @Option(name: .customLong("key-file"), help: "File holding the 32-byte data-encryption key (base64), which seals TOTP secrets and gateway credentials. Create one with `portal key generate`. Env: PORTAL_KEY_FILE. Required.")
    var keyFile: String?

    @Option(name: .customLong("smtp-url"), help: "Outgoing mail: smtp://user:pass@host:587 (STARTTLS), smtps://user:pass@host:465, or file:///dir to write .eml files. Env: PORTAL_SMTP_URL. Required by serve and worker.")
    var smtpURL: String?

    @Option(name: .customLong("mail-from"), help: "Sender of outgoing mail, e.g. \"Billing <billing@example.com>\". Env: PORTAL_MAIL_FROM. Required by serve and worker.")
    var mailFrom: String?

    @Option(name: .customLong("resources"), help: "Directory holding Templates/, Public/ and Migrations/. Env: PORTAL_RESOURCES. Default: the current directory")
    var resources: String?

    @Option(name: .customLong("company-name"), help: "Business name printed on invoices. Env: PORTAL_COMPANY_NAME. Default: Payment Portal")
    var companyName: String?

    @Option(name: .customLong("company-address"), help: "Business address printed on invoices; \\n separates lines. Env: PORTAL_COMPANY_ADDRESS")
    var companyAddress: String?

    @Option(name: .customLong("company-logo"), help: "PNG logo printed on invoices. Env: PORTAL_COMPANY_LOGO")
    var companyLogo: String?

    @Option(name: .customLong("pdf-font"), help: "TrueType font embedded in invoice PDFs. Env: PORTAL_PDF_FONT. Default: DejaVu Sans")
    var pdfFont: String?

    @Option(name: .customLong("gateway"), help: "Card gateway: none, sandbox, stripe or authorizenet. Env: PORTAL_GATEWAY. Default: the gateway saved with `portal gateway configure` (encrypted), else none")
    var gateway: String?

    @Option(name: .customLong("sandbox-url"), help: "Base URL of the sandbox gateway. Env: PORTAL_SANDBOX_URL")
    var sandboxURL: String?

    @Option(name: .customLong("sandbox-secret-key"), help: "Sandbox gateway server API key. Env: PORTAL_SANDBOX_SECRET_KEY")
    var sandboxSecretKey: String?

    @Option(name: .customLong("sandbox-public-key"), help: "Sandbox gateway publishable key. Env: PORTAL_SANDBOX_PUBLIC_KEY")
    var sandboxPublicKey: String?

    @Option(name: .customLong("sandbox-webhook-secret"), help: "Secret the sandbox signs webhooks with. Env: PORTAL_SANDBOX_WEBHOOK_SECRET")
    var sandboxWebhookSecret: String?

    @Option(name: .customLong("stripe-secret-key"), help: "Stripe secret key. Env: PORTAL_STRIPE_SECRET_KEY")
    var stripeSecretKey: String?

    @Option(name: .customLong("stripe-publishable-key"), help: "Stripe publishable key. Env: PORTAL_STRIPE_PUBLISHABLE_KEY")
    var stripePublishableKey: String?

    @Option(name: .customLong("stripe-webhook-secret"), help: "Stripe webhook signing secret. Env: PORTAL_STRIPE_WEBHOOK_SECRET")
    var stripeWebhookSecret: String?

    @Option(name: .customLong("stripe-api-base"), help: "Stripe API base (a localstripe URL in tests). Env: PORTAL_STRIPE_API_BASE. Default: https://api.stripe.com")
    var stripeAPIBase: String?

    @Option(name: .customLong("stripe-js-url"), help: "Stripe.js URL. Env: PORTAL_STRIPE_JS_URL. Default: https://js.stripe.com/v3/")
    var stripeJSURL: String?

    @Option(name: .customLong("authorizenet-api-login-id"), help: "Authorize.Net API Login ID. Env: PORTAL_AUTHORIZENET_API_LOGIN_ID")
    var authorizeNetAPILoginID: String?

    @Option(name: .customLong("authorizenet-transaction-key"), help: "Authorize.Net Transaction Key. Env: PORTAL_AUTHORIZENET_TRANSACTION_KEY")
    var authorizeNetTransactionKey: String?

    @Option(name: .customLong("authorizenet-client-key"), help: "Authorize.Net Public Client Key (for AcceptUI in the browser). Env: PORTAL_AUTHORIZENET_CLIENT_KEY")
    var authorizeNetClientKey: String?

    @Option(name: .customLong("authorizenet-signature-key"), help: "Authorize.Net Signature Key (webhooks). Env: PORTAL_AUTHORIZENET_SIGNATURE_KEY")
    var authorizeNetSignatureKey: String?

    @Option(name: .customLong("authorizenet-environment"), help: "sandbox or production: picks the API endpoint and AcceptUI script. Env: PORTAL_AUTHORIZENET_ENVIRONMENT. Default: sandbox")
    var authorizeNetEnvironment: String?

    @Option(name: .customLong("authorizenet-endpoint"), help: "Authorize.Net API endpoint (a local fake in tests). Env: PORTAL_AUTHORIZENET_ENDPOINT. Default: the environment's")
    var authorizeNetEndpoint: String?

    @Option(name: .customLong("authorizenet-acceptui-url"), help: "AcceptUI.js URL. Env: PORTAL_AUTHORIZENET_ACCEPTUI_URL. Default: the environment's")
    var authorizeNetAcceptUIURL: String?

    @Option(name: .customLong("authorizenet-currency"), help: "The currency the Authorize.Net account settles in. Env: PORTAL_AUTHORIZENET_CURRENCY. Default: USD")
    var authorizeNetCurrency: String?

    @Option(name: .customLong("billing-email"), help: "The business's billing inbox, told when a customer removes a card. Env: PORTAL_BILLING_EMAIL")
    var billingEmail: String?

    @Option(name: .customLong("impersonation-minutes"), help: "How long staff may view as a customer before they are returned to the console. Env: PORTAL_IMPERSONATION_MINUTES. Default: 30")
    var impersonationMinutes: String?

    @Option(name: .customLong("payment-link-days-from-issue"), help: "A payment link lasts at least this many days after its invoice's issue date. Env: PORTAL_PAYMENT_LINK_DAYS_FROM_ISSUE. Default: 60")
    var paymentLinkDaysFromIssue: String?

    @Option(name: .customLong("payment-link-days-after-due"), help: "…and at least this many days after its due date (the later wins). Env: PORTAL_PAYMENT_LINK_DAYS_AFTER_DUE. Default: 30")
    var paymentLinkDaysAfterDue: String?

    @Option(name: .customLong("api-rate-limit"), help: "Requests per minute each API key may make. Env: PORTAL_API_RATE_LIMIT. Default: 60")
    var apiRateLimit: String?

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical. Env: PORTAL_LOG_LEVEL. Default: info")
    var logLevel: String?

    /// CLI values first, then environment variables (`portal.public-url` ↔ `PORTAL_PUBLIC_URL`).
    func reader() -> ConfigReader {
        var values: [AbsoluteConfigKey: ConfigValue] = [:]
        let pairs: [(String, String?)] = [
            ("portal.database", database), ("portal.bind", bind), ("portal.public.url", publicURL),
            ("portal.key.file", keyFile), ("portal.smtp.url", smtpURL), ("portal.mail.from", mailFrom),
            ("portal.resources", resources), ("portal.log.level", logLevel),
            ("portal.company.name", companyName), ("portal.company.address", companyAddress), ("portal.company.logo", companyLogo),
            ("portal.pdf.font", pdfFont), ("portal.gateway", gateway), ("portal.sandbox.url", sandboxURL),
            ("portal.sandbox.secret.key", sandboxSecretKey), ("portal.sandbox.public.key", sandboxPublicKey),
            ("portal.sandbox.webhook.secret", sandboxWebhookSecret), ("portal.billing.email", billingEmail),
            ("portal.impersonation.minutes", impersonationMinutes),
            ("portal.payment.link.days.from.issue", paymentLinkDaysFromIssue), ("portal.payment.link.days.after.due", paymentLinkDaysAfterDue),
            ("portal.api.rate.limit", apiRateLimit),
            ("portal.stripe.secret.key", stripeSecretKey), ("portal.stripe.publishable.key", stripePublishableKey),
            ("portal.stripe.webhook.secret", stripeWebhookSecret), ("portal.stripe.api.base", stripeAPIBase), ("portal.stripe.js.url", stripeJSURL),
            ("portal.authorizenet.api.login.id", authorizeNetAPILoginID), ("portal.authorizenet.transaction.key", authorizeNetTransactionKey),
            ("portal.authorizenet.client.key", authorizeNetClientKey), ("portal.authorizenet.signature.key", authorizeNetSignatureKey),
            ("portal.authorizenet.environment", authorizeNetEnvironment), ("portal.authorizenet.endpoint", authorizeNetEndpoint),
            ("portal.authorizenet.acceptui.url", authorizeNetAcceptUIURL), ("portal.authorizenet.currency", authorizeNetCurrency),
        ]
        for (key, value) in pairs {
            if let value { values[AbsoluteConfigKey(stringLiteral: key)] = ConfigValue(.string(value), isSecret: false) }
        }
        return ConfigReader(providers: [
            InMemoryProvider(name: "arguments", values: values),
            EnvironmentVariablesProvider(),
        ])
    }

    enum Requirement { case required, optional }

    /// Validates what this command needs and returns the configuration, or throws one line naming the setting.
    func load(needPublicURL: Requirement = .required, needMail: Requirement = .required, needKey: Requirement = .required,
              defaultPublicURL: String? = nil,
              defaultKeyFile: String? = nil, defaultSMTP: String? = nil, defaultMailFrom: String? = nil,
              defaultCompany: (name: String, address: String)? = nil,
              defaultGateway: GatewayConfiguration = .fromDatabase) throws -> PortalConfiguration {
        let config = reader()
        let database = config.string(forKey: "portal.database", default: "var/portal.sqlite")
        guard !database.isEmpty else { throw ConfigurationError("PORTAL_DATABASE", "must not be empty") }
        let (host, port) = try PortalConfiguration.parseBind(config.string(forKey: "portal.bind", default: "127.0.0.1:8080"))

        var publicURL = config.string(forKey: "portal.public.url") ?? defaultPublicURL ?? ""
        if publicURL.isEmpty {
            if needPublicURL == .required {
                throw ConfigurationError("PORTAL_PUBLIC_URL", "is not set: give the portal's public base URL, e.g. https://pay.example.com")
            }
            publicURL = "http://\(host):\(port)"
        }
        publicURL = try PortalConfiguration.validatePublicURL(publicURL)

        let keyFile = config.string(forKey: "portal.key.file") ?? defaultKeyFile ?? ""
        if keyFile.isEmpty && needKey == .required {
            throw ConfigurationError("PORTAL_KEY_FILE", "is not set: create a key with `portal key generate --out FILE` and point PORTAL_KEY_FILE at it")
        }

        var smtpURL = config.string(forKey: "portal.smtp.url") ?? defaultSMTP ?? ""
        var mailFrom = config.string(forKey: "portal.mail.from") ?? defaultMailFrom ?? ""
        if needMail == .required {
            if smtpURL.isEmpty { throw ConfigurationError("PORTAL_SMTP_URL", "is not set: e.g. smtp://user:pass@mail.example.com:587, or file:///var/lib/portal/mail") }
            if mailFrom.isEmpty { throw ConfigurationError("PORTAL_MAIL_FROM", "is not set: e.g. \"Billing <billing@example.com>\"") }
        } else {
            if smtpURL.isEmpty { smtpURL = "file://" + FileManager.default.currentDirectoryPath + "/var/mail" }
            if mailFrom.isEmpty { mailFrom = "portal@localhost.localdomain" }
        }
        mailFrom = try PortalConfiguration.validateMailFrom(mailFrom)

        let resources = config.string(forKey: "portal.resources", default: FileManager.default.currentDirectoryPath)
        for folder in ["Templates", "Public", "Migrations"] {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: resources + "/" + folder, isDirectory: &isDirectory), isDirectory.boolValue else {
                throw ConfigurationError("PORTAL_RESOURCES", "must be the directory holding Templates/, Public/ and Migrations/ (no \(folder)/ in \(resources))")
            }
        }
        var documents = InvoiceDocumentSettings(
            companyName: config.string(forKey: "portal.company.name") ?? defaultCompany?.name ?? "Payment Portal",
            companyAddress: (config.string(forKey: "portal.company.address") ?? defaultCompany?.address ?? "")
                .replacingOccurrences(of: "\\n", with: "\n"),
            logoPath: config.string(forKey: "portal.company.logo"))
        if let font = config.string(forKey: "portal.pdf.font") { documents.fontPath = font }
        guard FileManager.default.isReadableFile(atPath: documents.fontPath) else {
            throw ConfigurationError("PORTAL_PDF_FONT", "cannot read the font file \(documents.fontPath) (install fonts-dejavu-core, or point it at a .ttf)")
        }
        if let logo = documents.logoPath, !FileManager.default.isReadableFile(atPath: logo) {
            throw ConfigurationError("PORTAL_COMPANY_LOGO", "cannot read \(logo)")
        }
        var configuration = PortalConfiguration(
            databasePath: database, bindHost: host, bindPort: port, publicURL: publicURL, keyFile: keyFile,
            smtpURL: smtpURL, mailFrom: mailFrom, resourcesDirectory: resources)
        configuration.documents = documents
        configuration.gateway = try Self.gateway(config, defaultGateway: defaultGateway)
        if let minutes = config.string(forKey: "portal.impersonation.minutes") {
            guard let value = Int64(minutes), (1...240).contains(value) else {
                throw ConfigurationError("PORTAL_IMPERSONATION_MINUTES", "must be a whole number of minutes from 1 to 240")
            }
            configuration.impersonation.timeLimitSeconds = value * 60
        }
        func number(_ key: ConfigKey, _ variable: String, _ range: ClosedRange<Int>) throws -> Int? {
            guard let text = config.string(forKey: key) else { return nil }
            guard let value = Int(text), range.contains(value) else {
                throw ConfigurationError(variable, "must be a whole number from \(range.lowerBound) to \(range.upperBound)")
            }
            return value
        }
        if let days = try number("portal.payment.link.days.from.issue", "PORTAL_PAYMENT_LINK_DAYS_FROM_ISSUE", 1...730) {
            configuration.paymentLinks.daysFromIssue = days
        }
        if let days = try number("portal.payment.link.days.after.due", "PORTAL_PAYMENT_LINK_DAYS_AFTER_DUE", 0...730) {
            configuration.paymentLinks.daysAfterDue = days
        }
        if let limit = try number("portal.api.rate.limit", "PORTAL_API_RATE_LIMIT", 1...10_000) { configuration.apiKeys.requestsPerWindow = limit }
        if let billing = config.string(forKey: "portal.billing.email"), !billing.isEmpty {
            guard InvitationService.isPlausibleEmail(normalizeEmail(billing)) else {
                throw ConfigurationError("PORTAL_BILLING_EMAIL", "must be an email address")
            }
            configuration.billingEmail = billing
        }
        _ = try configuration.mail()
        return configuration
    }

    static func gateway(_ config: ConfigReader, defaultGateway: GatewayConfiguration) throws -> GatewayConfiguration {
        guard let kind = config.string(forKey: "portal.gateway") else { return defaultGateway }
        func required(_ key: ConfigKey, _ variable: String) throws -> String {
            guard let value = config.string(forKey: key), !value.isEmpty else {
                throw ConfigurationError(variable, "is required when PORTAL_GATEWAY=\(kind)")
            }
            return value
        }
        switch kind {
        case "none", "": return .none
        case "sandbox":
            let url = try required("portal.sandbox.url", "PORTAL_SANDBOX_URL")
            try GatewaySettingsForm.requireHTTP(url, "PORTAL_SANDBOX_URL", example: "http://127.0.0.1:8081")
            return .sandbox(url: url, secretKey: try required("portal.sandbox.secret.key", "PORTAL_SANDBOX_SECRET_KEY"),
                            publicKey: try required("portal.sandbox.public.key", "PORTAL_SANDBOX_PUBLIC_KEY"),
                            webhookSecret: try required("portal.sandbox.webhook.secret", "PORTAL_SANDBOX_WEBHOOK_SECRET"))
        case "stripe":
            let apiBase = config.string(forKey: "portal.stripe.api.base", default: "https://api.stripe.com")
            let jsURL = config.string(forKey: "portal.stripe.js.url", default: "https://js.stripe.com/v3/")
            try GatewaySettingsForm.requireHTTP(apiBase, "PORTAL_STRIPE_API_BASE")
            try GatewaySettingsForm.requireHTTP(jsURL, "PORTAL_STRIPE_JS_URL")
            return .stripe(apiBase: apiBase, jsURL: jsURL, secretKey: try required("portal.stripe.secret.key", "PORTAL_STRIPE_SECRET_KEY"),
                           publishableKey: try required("portal.stripe.publishable.key", "PORTAL_STRIPE_PUBLISHABLE_KEY"),
                           webhookSecret: try required("portal.stripe.webhook.secret", "PORTAL_STRIPE_WEBHOOK_SECRET"))
        case "authorizenet":
            let (endpoint, acceptUI) = try GatewaySettingsForm.authorizeNetAddresses(
                environment: config.string(forKey: "portal.authorizenet.environment"), endpoint: config.string(forKey: "portal.authorizenet.endpoint"),
                acceptUIURL: config.string(forKey: "portal.authorizenet.acceptui.url"), names: .variables)
            let currency = try GatewaySettingsForm.currency(config.string(forKey: "portal.authorizenet.currency"), "PORTAL_AUTHORIZENET_CURRENCY")
            return .authorizeNet(endpoint: endpoint, acceptUIURL: acceptUI,
                                 apiLoginID: try required("portal.authorizenet.api.login.id", "PORTAL_AUTHORIZENET_API_LOGIN_ID"),
                                 transactionKey: try required("portal.authorizenet.transaction.key", "PORTAL_AUTHORIZENET_TRANSACTION_KEY"),
                                 clientKey: try required("portal.authorizenet.client.key", "PORTAL_AUTHORIZENET_CLIENT_KEY"),
                                 signatureKey: try required("portal.authorizenet.signature.key", "PORTAL_AUTHORIZENET_SIGNATURE_KEY"),
                                 currency: currency)
        default:
            throw ConfigurationError("PORTAL_GATEWAY", "must be none, sandbox, stripe or authorizenet (got \"\(kind)\")")
        }
    }

    func logLevelValue() throws -> Logger.Level {
        let raw = reader().string(forKey: "portal.log.level", default: "info")
        guard let level = Logger.Level(rawValue: raw) else {
            throw ConfigurationError("PORTAL_LOG_LEVEL", "must be one of trace, debug, info, notice, warning, error, critical (got \"\(raw)\")")
        }
        return level
    }
}

import Logging
