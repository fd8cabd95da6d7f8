import ArgumentParser
import Foundation
import PortalCore

/// `portal gateway configure|show`: the card gateway and its credentials, stored encrypted.
struct GatewayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "gateway", abstract: "Configure the card gateway (credentials are stored encrypted).",
                                                    subcommands: [Configure.self, Show.self])

    struct Configure: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Save and activate a gateway's settings. Reads its two secrets from standard input, one per line, so they never appear in the process list or shell history: sandbox and stripe the secret key, then the webhook secret; authorizenet the transaction key, then the signature key.")

        @OptionGroup var options: ConfigOptions
        @Argument(help: "Gateway: sandbox, stripe or authorizenet.")
        var kind: String
        @Option(help: "sandbox: the gateway's base URL, e.g. http://127.0.0.1:8081 (required). stripe: the API base (default https://api.stripe.com). authorizenet: the API endpoint (default: the environment's).")
        var url: String?
        @Option(name: .customLong("public-key"), help: "sandbox and stripe: the publishable key. authorizenet: the Public Client Key. Required.")
        var publicKey: String?
        @Option(name: .customLong("script-url"), help: "stripe: the Stripe.js URL (default https://js.stripe.com/v3/). authorizenet: the AcceptUI.js URL (default: the environment's).")
        var scriptURL: String?
        @Option(name: .customLong("api-login-id"), help: "authorizenet: the API Login ID. Required.")
        var apiLoginID: String?
        @Option(help: "authorizenet: sandbox or production. Default: sandbox")
        var environment: String?
        @Option(help: "authorizenet: the currency the account settles in. Default: USD")
        var currency: String?

        func run() async throws {
            try await runReportingConfiguration {
                guard ["sandbox", "stripe", "authorizenet"].contains(kind) else {
                    printError("the gateway must be sandbox, stripe or authorizenet")
                    throw ExitCode.validationFailure
                }
                guard let publicKey, !publicKey.isEmpty else { throw ConfigurationError("--public-key", "is required") }
                // Checked before the secrets are asked for.
                let url = try url.map { url -> String in
                    try GatewaySettingsForm.requireHTTP(url, "--url")
                    return url
                }
                if let scriptURL { try GatewaySettingsForm.requireHTTP(scriptURL, "--script-url") }
                let secretNames = kind == "authorizenet" ? ("Transaction key", "Signature key") : ("Secret key", "Webhook secret")
                if isatty(STDIN_FILENO) == 1 { print("\(secretNames.0): ", terminator: "") }
                let first = readLine(strippingNewline: true) ?? ""
                if isatty(STDIN_FILENO) == 1 { print("\(secretNames.1): ", terminator: "") }
                let second = readLine(strippingNewline: true) ?? ""
                guard !first.isEmpty, !second.isEmpty else {
                    printError("give the \(secretNames.0.lowercased()) and the \(secretNames.1.lowercased()) on standard input, one per line")
                    throw ExitCode.validationFailure
                }
                let gateway: GatewayConfiguration
                switch kind {
                case "sandbox":
                    guard let url else { throw ConfigurationError("--url", "is required for the sandbox gateway") }
                    gateway = .sandbox(url: url, secretKey: first, publicKey: publicKey, webhookSecret: second)
                case "stripe":
                    gateway = .stripe(apiBase: url ?? "https://api.stripe.com", jsURL: scriptURL ?? "https://js.stripe.com/v3/", secretKey: first,
                                      publishableKey: publicKey, webhookSecret: second)
                default:
                    guard let apiLoginID, !apiLoginID.isEmpty else { throw ConfigurationError("--api-login-id", "is required for Authorize.Net") }
                    let (endpoint, acceptUI) = try GatewaySettingsForm.authorizeNetAddresses(environment: environment, endpoint: url, acceptUIURL: scriptURL,
                                                                                             names: .options)
                    gateway = .authorizeNet(endpoint: endpoint, acceptUIURL: acceptUI, apiLoginID: apiLoginID, transactionKey: first,
                                            clientKey: publicKey, signatureKey: second, currency: try GatewaySettingsForm.currency(currency, "--currency"))
                }
                let configuration = try options.load(needPublicURL: .optional, needMail: .optional, defaultGateway: .none)
                let runtime = try await Runtime.open(configuration, logger: makeLogger(level: try options.logLevelValue()))
                guard let settings = gateway.stored else { return }
                try await runtime.services.gatewaySettings.configure(settings, actor: AuditEvent(action: "", actorKind: .system, actorLabel: "cli"))
                print("\(kind) gateway configured: \(settings.publicSettings["url"] ?? settings.publicSettings["endpoint"] ?? settings.publicSettings["api_base"] ?? ""), \(secretNames.0.lowercased()) \(GatewaySettings.mask(first))")
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show the active gateway's settings, secrets masked.")
        @OptionGroup var options: ConfigOptions

        func run() async throws {
            try await runReportingConfiguration {
                let configuration = try options.load(needPublicURL: .optional, needMail: .optional, defaultGateway: .none)
                let runtime = try await Runtime.open(configuration, logger: makeLogger(level: try options.logLevelValue()))
                guard let settings = try await runtime.services.gatewaySettings.active() else {
                    print("no gateway configured")
                    return
                }
                print("gateway: \(settings.gateway)")
                for (key, value) in settings.publicSettings.sorted(by: { $0.key < $1.key }) { print("\(key): \(value)") }
                for (key, value) in settings.maskedSecrets.sorted(by: { $0.key < $1.key }) { print("\(key): \(value)") }
            }
        }
    }
}
