import CreatioSync
import Foundation
import Gateways
import GRDB
import Logging
import PortalCore
import PortalWeb

/// Opens everything a command needs from a validated configuration: the database (migrated),
/// the data key, templates and the service layer.
struct Runtime {
    let configuration: PortalConfiguration
    let services: PortalServices
    let logger: Logger

    /// `creatio`: the CRM connection the staff console's integration page uses (reprocessing,
    /// reconciliation); nil leaves the page saying Creatio is not configured.
    /// `servesPages`: the process answers page requests (serve, demo), so it gets the hot read paths.
    static func open(_ configuration: PortalConfiguration, logger: Logger, hasher: PasswordHasher = PasswordHasher(),
                     creatio: CreatioConfiguration? = nil, servesPages: Bool = false) async throws -> Runtime {
        let secrets: SecretBox
        do {
            secrets = try SecretBox(keyFile: configuration.keyFile)
        } catch let error as SecretBoxError {
            throw ConfigurationError("PORTAL_KEY_FILE", "\(error)")
        }
        let database = try openDatabase(configuration, logger: logger)
        let templates = try await MailTemplates(directory: configuration.templatesDirectory)
        var gatewayConfiguration = configuration.gateway
        if gatewayConfiguration == .fromDatabase {
            let stored = try await GatewaySettingsService(db: database, secretBox: secrets, clock: .system).active()
            gatewayConfiguration = stored.flatMap(GatewayConfiguration.init(stored:)) ?? .none
        }
        var dependencies = PortalServices.Dependencies(
            database: database, clock: .system, secrets: secrets, hasher: hasher, mailTemplates: templates,
            links: LinkBuilder(publicURL: configuration.publicURL), gateway: Self.gateway(gatewayConfiguration),
            billingAddress: configuration.billingEmail, paymentPolicy: configuration.payments, recurringPolicy: configuration.recurring,
            logger: logger)
        dependencies.impersonationPolicy = configuration.impersonation
        dependencies.paymentLinkPolicy = configuration.paymentLinks
        dependencies.apiKeyPolicy = configuration.apiKeys
        dependencies.syncAlertPolicy = configuration.syncAlerts
        if servesPages { dependencies.servingPages() }
        if let creatio {
            dependencies.integration = CreatioIntegrationControl(sync: CreatioSyncService(
                client: CreatioClient(creatio), db: database, directory: DirectoryService(db: database, hasher: hasher, clock: .system),
                invoices: InvoiceService(db: database, clock: .system), clock: .system))
        }
        let services = try await PortalServices(dependencies)
        return Runtime(configuration: configuration, services: services, logger: logger)
    }

    static func gateway(_ configuration: GatewayConfiguration) -> (any PaymentGateway)? {
        switch configuration {
        case .none, .fromDatabase: nil
        case .sandbox(let url, let secretKey, let publicKey, let webhookSecret):
            SandboxGateway(baseURL: URL(string: url)!, secretKey: secretKey, publicKey: publicKey, webhookSecret: webhookSecret)
        case .stripe(let apiBase, let jsURL, let secretKey, let publishableKey, let webhookSecret):
            StripeGateway(apiBase: URL(string: apiBase)!, jsURL: jsURL, secretKey: secretKey, publishableKey: publishableKey,
                          webhookSecret: webhookSecret)
        case .authorizeNet(let endpoint, let acceptUIURL, let apiLoginID, let transactionKey, let clientKey, let signatureKey, let currency):
            AuthorizeNetGateway(endpoint: URL(string: endpoint)!, acceptUIURL: acceptUIURL, apiLoginID: apiLoginID, transactionKey: transactionKey,
                                clientKey: clientKey, signatureKey: signatureKey, currency: CurrencyCode(currency) ?? CurrencyCode("USD")!)
        }
    }

    func mailer() throws -> any Mailer {
        switch try configuration.mail() {
        case .smtp(let settings): SMTPMailer(settings: settings)
        case .files(let directory): FileMailer(directory: directory, logger: logger)
        }
    }

    func webSettings() -> WebSettings {
        let csrfKey = services.secrets.derivedKeyBytes(purpose: "csrf")
        return WebSettings(
            host: configuration.bindHost, port: configuration.bindPort, publicURL: configuration.publicURL,
            templatesDirectory: configuration.templatesDirectory, publicDirectory: configuration.publicDirectory,
            csrfKey: SymmetricKeyData(csrfKey), documents: configuration.documents)
    }

    /// Mail delivery, session clean-up, gateway events and unanswered refunds, run beside the web server (and by the worker).
    func backgroundServices() throws -> [PeriodicService] {
        let delivery = MailDeliveryService(outbox: services.outbox, mailer: try mailer(), from: configuration.mailFrom, logger: logger)
        let sessions = services.sessions
        let webhooks = services.webhooks
        let refunds = services.refunds
        return [
            PeriodicService(name: "mail-delivery", interval: .seconds(5), logger: logger) { try await delivery.runOnce() },
            PeriodicService(name: "session-cleanup", interval: .seconds(300), logger: logger) { try await sessions.purgeExpired() },
            PeriodicService(name: "webhooks", interval: .seconds(2), logger: logger) { try await webhooks.runOnce() },
            PeriodicService(name: "refund-resume", interval: .seconds(60), logger: logger) { try await refunds.resumeStale() },
        ]
    }

    /// What only the worker runs: the billing jobs (recurring charges, reconciliation, reminders).
    func workerServices() throws -> [PeriodicService] {
        let jobs = BillingJobs(services: services, logger: logger)
        let worker = Self.workerName()
        let alerts = services.syncAlerts
        var services = try backgroundServices() + [
            PeriodicService(name: "billing", interval: .seconds(30), logger: logger) { _ = try await jobs.runOnce(worker: worker) },
        ]
        if alerts.policy.address != nil {
            services.append(PeriodicService(name: "sync-alerts", interval: .seconds(60), logger: logger) { try await alerts.check() })
        }
        return services
    }

    /// The configured database, opened and migrated; a file that cannot be opened is a configuration error.
    static func openDatabase(_ configuration: PortalConfiguration, logger: Logger) throws -> DatabasePool {
        let database: DatabasePool
        do {
            database = try PortalDatabase.open(path: configuration.databasePath)
        } catch {
            throw ConfigurationError("PORTAL_DATABASE", "cannot open \(configuration.databasePath): \(error)")
        }
        let applied = try Migrator(directory: configuration.migrationsDirectory).migrate(database)
        for name in applied { logger.notice("migration applied", metadata: ["migration": "\(name)"]) }
        return database
    }

    /// Names the worker in the leases it takes, so a stuck charge shows who held it.
    static func workerName() -> String {
        "\(ProcessInfo.processInfo.hostName)-\(ProcessInfo.processInfo.processIdentifier)"
    }
}

/// Logs go to standard error, leaving standard output for what a command prints (links, status).
private let bootstrapLogging: Void = LoggingSystem.bootstrap(StreamLogHandler.standardError)

func makeLogger(level: Logger.Level) -> Logger {
    _ = bootstrapLogging
    var logger = Logger(label: "portal")
    logger.logLevel = level
    return logger
}
