import ArgumentParser
import Configuration
import Foundation
import Gateways
import Hummingbird
import PortalCore

/// `portal sandbox-gateway`: the built-in test gateway on its own port and SQLite file.
struct SandboxGatewayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sandbox-gateway",
        abstract: "Run the built-in sandbox payment gateway alone (hosted card fields + server API) for development and tests.")

    @Option(help: "Address to listen on. Env: PORTAL_SANDBOX_BIND. Default: 127.0.0.1:8081")
    var bind: String?
    @Option(help: "The sandbox's own SQLite file. Env: PORTAL_SANDBOX_DATABASE. Default: var/sandbox.sqlite")
    var database: String?
    @Option(name: .customLong("secret-key"), help: "Server API key the portal uses. Env: PORTAL_SANDBOX_SECRET_KEY. Required.")
    var secretKey: String?
    @Option(name: .customLong("public-key"), help: "Publishable key for the hosted fields. Env: PORTAL_SANDBOX_PUBLIC_KEY. Required.")
    var publicKey: String?
    @Option(name: .customLong("allowed-origin"), help: "Origin allowed to frame the card fields (the portal's public URL); repeat for several. Env: PORTAL_SANDBOX_ALLOWED_ORIGINS (comma-separated).")
    var allowedOrigin: [String] = []
    @Option(name: .customLong("webhook-url"), help: "Where to send signed events (charge.succeeded, charge.failed, charge.refunded). Env: PORTAL_SANDBOX_WEBHOOK_URL")
    var webhookURL: String?
    @Option(name: .customLong("webhook-secret"), help: "Secret the events are signed with. Env: PORTAL_SANDBOX_WEBHOOK_SECRET")
    var webhookSecret: String?

    func run() async throws {
        try await runReportingConfiguration {
            let env = ConfigReader(providers: [EnvironmentVariablesProvider()])
            let (host, port) = try PortalConfiguration.parseBind(bind ?? env.string(forKey: "portal.sandbox.bind", default: "127.0.0.1:8081"))
            guard let secret = secretKey ?? env.string(forKey: "portal.sandbox.secret.key"), !secret.isEmpty else {
                throw ConfigurationError("PORTAL_SANDBOX_SECRET_KEY", "is not set")
            }
            guard let publishable = publicKey ?? env.string(forKey: "portal.sandbox.public.key"), !publishable.isEmpty else {
                throw ConfigurationError("PORTAL_SANDBOX_PUBLIC_KEY", "is not set")
            }
            let origins = allowedOrigin.isEmpty
                ? (env.string(forKey: "portal.sandbox.allowed.origins") ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
                : allowedOrigin
            let path = database ?? env.string(forKey: "portal.sandbox.database", default: "var/sandbox.sqlite")
            let logger = makeLogger(level: .info)
            var webhooks: SandboxWebhookSender?
            if let target = webhookURL ?? env.string(forKey: "portal.sandbox.webhook.url"), !target.isEmpty {
                guard let url = URL(string: target), url.scheme?.hasPrefix("http") == true else {
                    throw ConfigurationError("PORTAL_SANDBOX_WEBHOOK_URL", "must be an http(s) URL")
                }
                guard let signing = webhookSecret ?? env.string(forKey: "portal.sandbox.webhook.secret"), !signing.isEmpty else {
                    throw ConfigurationError("PORTAL_SANDBOX_WEBHOOK_SECRET", "is required with a webhook URL")
                }
                webhooks = SandboxWebhookSender(url: url, secret: signing, logger: logger)
            }
            let app = try SandboxServer.application(
                host: host, port: port, databasePath: path,
                settings: SandboxSettings(secretKey: secret, publicKey: publishable, allowedOrigins: origins, webhooks: webhooks),
                fingerprintSecret: secret, logger: logger)
            logger.notice("sandbox gateway listening", metadata: ["bind": "\(host):\(port)"])
            try await app.runService()
        }
    }
}
