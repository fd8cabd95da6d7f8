import ArgumentParser
import Foundation
import PortalCore
import PortalWeb

/// `portal api-key create|list|revoke`: bearer keys for the JSON API (`/api/v1/…`).
struct ApiKeyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "api-key", abstract: "Manage API keys for the JSON API.",
                                                    subcommands: [Create.self, List.self, Revoke.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a key and print it once; only its hash is kept.")

        @OptionGroup var options: ConfigOptions

        @Option(help: "What uses the key, e.g. \"Creatio invoice process\".")
        var name: String

        @Option(help: "What the key may do (repeatable): payment-links.")
        var scope: [String] = []

        func run() async throws {
            try await withApiKeys(options) { keys in
                let created = try await keys.create(name: name, scopes: scope)
                print("created API key \(created.key.id) \"\(created.key.name)\" (\(created.key.scopes.joined(separator: " ")))")
                print("key (shown once, store it now): \(created.secret)")
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List API keys (never the keys themselves).")

        @OptionGroup var options: ConfigOptions

        func run() async throws {
            try await withApiKeys(options) { keys in
                for key in try await keys.list() {
                    let state = key.revokedAt.map { "revoked \(ISOTime.string($0))" } ?? "active"
                    let used = key.lastUsedAt.map { "last used \(ISOTime.string($0))" } ?? "never used"
                    print("\(key.id)\t\(key.name)\t\(key.scopes.joined(separator: " "))\t\(state)\t\(used)")
                }
            }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a key; requests with it are refused from now on.")

        @OptionGroup var options: ConfigOptions

        @Argument(help: "The key's id (from `portal api-key list`).")
        var id: String

        func run() async throws {
            try await withApiKeys(options) { keys in
                try await keys.revoke(id: id)
                print("revoked API key \(id)")
            }
        }
    }
}

private func withApiKeys(_ options: ConfigOptions, _ body: (ApiKeyService) async throws -> Void) async throws {
    try await withServices(options) { try await body($0.apiKeys) }
}

/// Opens the portal's services for a management command and turns the API-key and payment-link
/// errors into one line and a failing exit status.
func withServices(_ options: ConfigOptions, needPublicURL: Bool = false, _ body: (PortalServices) async throws -> Void) async throws {
    try await runReportingConfiguration {
        let configuration = try options.load(needPublicURL: needPublicURL ? .required : .optional, needMail: .optional)
        let runtime = try await Runtime.open(configuration, logger: makeLogger(level: try options.logLevelValue()))
        do {
            try await body(runtime.services)
        } catch let error as ApiKeyError {
            printError(ErrorWords.apiKey(error))
            throw ExitCode.failure
        } catch let error as PaymentLinkError {
            printError(ErrorWords.paymentLink(error))
            throw ExitCode.failure
        }
    }
}
