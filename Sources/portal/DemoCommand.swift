import ArgumentParser
import CreatioSync
import Foundation
import Gateways
import ServiceLifecycle
import Hummingbird
import PortalCore
import PortalWeb

/// `portal demo`: a fresh database under var/demo, seeded with fixed logins, mail written to
/// var/mail as .eml files, then the portal served. Nothing here exists outside the demo.
struct Demo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Create a fresh demo database with seeded data and fixed logins, then serve it.")

    @OptionGroup var options: ConfigOptions
    @OptionGroup var payments: PaymentOptions

    static let sandboxSecretKey = "sk_sandbox_demo"
    static let sandboxPublicKey = "pk_sandbox_demo"
    static let sandboxWebhookSecret = "whsec_sandbox_demo"


    @Flag(help: "Seed and print the logins, then exit without serving.")
    var seedOnly = false

    @Option(name: .customLong("sandbox-port"), help: "Port of the built-in sandbox gateway started with the demo. Default: the portal's port + 1")
    var sandboxPort: Int?

    @Option(name: .customLong("creatio-port"), help: "Port of the Creatio simulator started with the demo. Default: the portal's port + 2")
    var creatioPort: Int?

    /// Seconds between the demo's Creatio passes: short, so a payment shows up in the CRM soon.
    static let creatioInterval = 15

    func run() async throws {
        try await runReportingConfiguration {
            let cwd = FileManager.default.currentDirectoryPath
            let demoDirectory = cwd + "/var/demo"
            try FileManager.default.createDirectory(atPath: demoDirectory, withIntermediateDirectories: true)
            let keyFile = demoDirectory + "/portal.key"
            if !FileManager.default.fileExists(atPath: keyFile) { try SecretBox.generateKeyFile(at: keyFile) }
            var options = self.options
            if options.database == nil { options.database = demoDirectory + "/portal.sqlite" }
            let (host, port) = try PortalConfiguration.parseBind(options.bind ?? ProcessInfo.processInfo.environment["PORTAL_BIND"] ?? "127.0.0.1:8080")
            let gatewayPort = sandboxPort ?? port + 1
            let sandboxURL = "http://\(host):\(gatewayPort)"
            var configuration = try options.load(
                needPublicURL: .optional, needMail: .optional, defaultKeyFile: keyFile,
                defaultSMTP: "file://" + cwd + "/var/mail", defaultMailFrom: "Payment Portal Demo <billing@demo.example.com>",
                defaultCompany: ("Northwind Industrial Supplies GmbH", "Industriestraße 5\n70565 Stuttgart\nGermany"),
                defaultGateway: .sandbox(url: sandboxURL, secretKey: Self.sandboxSecretKey, publicKey: Self.sandboxPublicKey,
                                         webhookSecret: Self.sandboxWebhookSecret))
            try payments.apply(to: &configuration)
            for suffix in ["", "-wal", "-shm"] {
                try? FileManager.default.removeItem(atPath: configuration.databasePath + suffix)
            }
            let logger = makeLogger(level: try options.logLevelValue())
            // A small Creatio beside the portal: its account and invoices come in by sync, and payments go back.
            let simulator = CreatioSimulator()
            let crm = await simulator.seedDemo()
            let creatioAddress = "http://\(host):\(creatioPort ?? port + 2)"
            let creatio = CreatioConfiguration(baseURL: URL(string: creatioAddress)!, odataPath: "0/odata",
                                               auth: .forms(user: crm.user, password: crm.password))
            let runtime = try await Runtime.open(configuration, logger: logger, creatio: creatio, servesPages: true)
            let seeded = try await DemoSeed(services: runtime.services).run(creatio: (crm.accountId, crm.accountName))

            // Written unbuffered: the server runs on and the logins must show at once.
            FileHandle.standardOutput.write(Data("""

            Payment Portal demo
            ===================
            Open:      \(configuration.publicURL)/login
            Customers: alice@example.com, bob@example.com   password: \(DemoSeed.password)
                       TOTP secret for every enrolled demo user: \(DemoSeed.totpSecret)
                       (add it to an authenticator app, or: oathtool --totp -b \(DemoSeed.totpSecret))
            Invited:   carol@example.com — accept at \(seeded.carolInviteLink)
            Staff:     \(configuration.publicURL)/staff/login — admin@example.com   password: \(DemoSeed.password)  (same TOTP secret)
            Gateway:   built-in sandbox at \(sandboxURL) — test card 4242 4242 4242 4242, any future expiry, any CVC
            Creatio:   simulator at \(creatioAddress)/ (its invoices, and what the portal wrote back), synced every \(Self.creatioInterval) s
                       dana@example.com (same password and TOTP) pays its invoices; staff see the sync at /staff/integration
            Mail:      written to \(cwd)/var/mail/*.eml
            Database:  \(configuration.databasePath)


            """.utf8))
            if seedOnly { return }
            // The demo is one process: the worker's jobs run beside the web server.
            var background: [any Service] = try runtime.workerServices()
            background.append(simulator.application(host: host, port: creatioPort ?? port + 2, logger: logger))
            let services = runtime.services
            let pass = CreatioSettings(connection: creatio, fields: .defaults, useBatch: true, interval: Self.creatioInterval)
                .pass(database: services.database, directory: services.directory, invoices: services.invoices, outbox: services.crmOutbox,
                      links: services.paymentLinks, logger: logger)
            background.append(PeriodicService(name: "creatio", interval: .seconds(Self.creatioInterval), logger: logger) {
                _ = await pass.runOnce()
            })
            if case .sandbox(_, _, _, let webhookSecret) = configuration.gateway {
                // The sandbox reports its charges and refunds to the portal as a real gateway would.
                let webhooks = SandboxWebhookSender(url: URL(string: runtime.services.links.absolute(SitePath.webhook("sandbox")))!,
                                                    secret: webhookSecret, logger: logger)
                background.append(try SandboxServer.application(
                    host: host, port: gatewayPort, databasePath: demoDirectory + "/sandbox.sqlite",
                    settings: SandboxSettings(secretKey: Self.sandboxSecretKey, publicKey: Self.sandboxPublicKey,
                                              allowedOrigins: [LinkBuilder.origin(of: configuration.publicURL)], webhooks: webhooks),
                    fingerprintSecret: Self.sandboxSecretKey, logger: logger))
            }
            let app = try await buildApplication(settings: runtime.webSettings(), services: runtime.services, logger: logger,
                                                 backgroundServices: background)
            try await app.runService()
        }
    }
}
