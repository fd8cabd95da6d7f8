import ArgumentParser
import Foundation
import PortalCore

/// `portal gateway configure|show`: the card gateway and its credentials, stored encrypted.
struct GatewayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "gateway", abstract: "Configure the card gateway (credentials are stored encrypted).",
                                                    subcommands: [Configure.self, Show.self])

    struct Configure: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Save and activate the sandbox gateway's settings. Reads the secret key, then the webhook secret, from standard input (one per line) so they never appear in the process list or shell history.")

        @OptionGroup var options: ConfigOptions
        @Argument(help: "Gateway: sandbox.")
        var kind: String
        @Option(help: "The gateway's base URL, e.g. http://127.0.0.1:8081")
        var url: String
        @Option(name: .customLong("public-key"), help: "Publishable key for the hosted fields.")
        var publicKey: String

        func run() async throws {
            try await runReportingConfiguration {
                guard kind == "sandbox" else {
                    printError("only the sandbox gateway can be configured so far")
                    throw ExitCode.validationFailure
                }
                guard let parsed = URL(string: url), ["http", "https"].contains(parsed.scheme ?? ""), parsed.host != nil else {
                    printError("--url must be an http(s) URL")
                    throw ExitCode.validationFailure
                }
                if isatty(STDIN_FILENO) == 1 { print("Secret key: ", terminator: "") }
                let secretKey = readLine(strippingNewline: true) ?? ""
                if isatty(STDIN_FILENO) == 1 { print("Webhook secret: ", terminator: "") }
                let webhookSecret = readLine(strippingNewline: true) ?? ""
                guard !secretKey.isEmpty, !webhookSecret.isEmpty else {
                    printError("give the secret key and the webhook secret on standard input, one per line")
                    throw ExitCode.validationFailure
                }
                let configuration = try options.load(needPublicURL: .optional, needMail: .optional, defaultGateway: .none)
                let runtime = try await Runtime.open(configuration, logger: makeLogger(level: try options.logLevelValue()))
                let settings = GatewaySettings(gateway: kind, publicSettings: ["url": url, "public_key": publicKey],
                                               secrets: ["secret_key": secretKey, "webhook_secret": webhookSecret])
                try await runtime.services.gatewaySettings.configure(settings, actor: AuditEvent(action: "", actorKind: .system, actorLabel: "cli"))
                print("sandbox gateway configured: \(url), secret key \(GatewaySettings.mask(secretKey))")
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
