import ArgumentParser
import Configuration
import CreatioSync
import Foundation
import GRDB
import Logging
import PortalCore

/// Where the Creatio instance is and how to sign in: a user and password (forms sign-in) or an
/// Identity Service client (OAuth client credentials). Read like every other setting: CLI, then
/// environment.
struct CreatioOptions: ParsableArguments {
    @Option(name: .customLong("creatio-url"), help: "Base URL of the Creatio instance, e.g. https://acme.creatio.com. Env: PORTAL_CREATIO_URL")
    var url: String?

    @Option(name: .customLong("creatio-odata-path"), help: "0/odata (.NET Framework) or odata (.NET Core/.NET 8). Env: PORTAL_CREATIO_ODATA_PATH. Default: 0/odata")
    var odataPath: String?

    @Option(name: .customLong("creatio-user"), help: "User for forms sign-in. Env: PORTAL_CREATIO_USER")
    var user: String?

    @Option(name: .customLong("creatio-password"), help: "Password for forms sign-in. Env: PORTAL_CREATIO_PASSWORD")
    var password: String?

    @Option(name: .customLong("creatio-client-id"), help: "OAuth client id (instead of a user). Env: PORTAL_CREATIO_CLIENT_ID")
    var clientId: String?

    @Option(name: .customLong("creatio-client-secret"), help: "OAuth client secret. Env: PORTAL_CREATIO_CLIENT_SECRET")
    var clientSecret: String?

    @Option(name: .customLong("creatio-token-url"), help: "Identity Service token endpoint, e.g. https://acme-is.creatio.com/connect/token. Env: PORTAL_CREATIO_TOKEN_URL")
    var tokenURL: String?

    @Option(name: .customLong("creatio-field-map"), help: "JSON file naming the Invoice columns the push writes (see docs/ARCHITECTURE.md). Env: PORTAL_CREATIO_FIELD_MAP. Default: the built-in Usr… names")
    var fieldMap: String?

    @Option(name: .customLong("creatio-batch"), help: "Push through OData $batch: on or off. Env: PORTAL_CREATIO_BATCH. Default: on")
    var batch: String?

    @Option(name: .customLong("creatio-interval"), help: "Seconds between pull-and-push rounds in `portal worker` and `portal sync`. Env: PORTAL_CREATIO_INTERVAL. Default: 60")
    var interval: String?

    func reader() -> ConfigReader {
        var values: [AbsoluteConfigKey: ConfigValue] = [:]
        for (key, value, secret) in [("portal.creatio.url", url, false), ("portal.creatio.odata.path", odataPath, false),
                                     ("portal.creatio.user", user, false), ("portal.creatio.password", password, true),
                                     ("portal.creatio.client.id", clientId, false), ("portal.creatio.client.secret", clientSecret, true),
                                     ("portal.creatio.token.url", tokenURL, false), ("portal.creatio.field.map", fieldMap, false),
                                     ("portal.creatio.batch", batch, false), ("portal.creatio.interval", interval, false)] {
            if let value { values[AbsoluteConfigKey(stringLiteral: key)] = ConfigValue(.string(value), isSecret: secret) }
        }
        return ConfigReader(providers: [InMemoryProvider(name: "arguments", values: values), EnvironmentVariablesProvider()])
    }

    /// nil when no Creatio URL is set (the portal then runs without the CRM connection); otherwise
    /// the validated connection, or one line naming the setting that is wrong.
    func optionalConfiguration() throws -> CreatioConfiguration? {
        reader().string(forKey: "portal.creatio.url") == nil ? nil : try configuration()
    }

    /// The validated connection, or one line naming the setting that is wrong.
    func configuration() throws -> CreatioConfiguration {
        let config = reader()
        func httpURL(_ key: ConfigKey, _ variable: String) throws -> URL? {
            guard let text = config.string(forKey: key) else { return nil }
            guard let url = URL(string: text), ["http", "https"].contains(url.scheme?.lowercased() ?? ""), url.host != nil else {
                throw ConfigurationError(variable, "must be an http or https URL, e.g. https://acme.creatio.com")
            }
            return url
        }
        guard let base = try httpURL("portal.creatio.url", "PORTAL_CREATIO_URL") else {
            throw ConfigurationError("PORTAL_CREATIO_URL", "is required, e.g. https://acme.creatio.com")
        }
        let odataPath = config.string(forKey: "portal.creatio.odata.path") ?? "0/odata"
        guard ["0/odata", "odata"].contains(odataPath.trimmingCharacters(in: CharacterSet(charactersIn: "/"))) else {
            throw ConfigurationError("PORTAL_CREATIO_ODATA_PATH", "must be 0/odata or odata")
        }
        let auth: CreatioConfiguration.Auth
        if let clientId = config.string(forKey: "portal.creatio.client.id") {
            guard let secret = config.string(forKey: "portal.creatio.client.secret", isSecret: true), !secret.isEmpty else {
                throw ConfigurationError("PORTAL_CREATIO_CLIENT_SECRET", "is required with PORTAL_CREATIO_CLIENT_ID")
            }
            guard let tokenURL = try httpURL("portal.creatio.token.url", "PORTAL_CREATIO_TOKEN_URL") else {
                throw ConfigurationError("PORTAL_CREATIO_TOKEN_URL", "is required with PORTAL_CREATIO_CLIENT_ID, e.g. https://acme-is.creatio.com/connect/token")
            }
            auth = .oauth(tokenURL: tokenURL, clientId: clientId, secret: secret)
        } else if let user = config.string(forKey: "portal.creatio.user") {
            guard let password = config.string(forKey: "portal.creatio.password", isSecret: true), !password.isEmpty else {
                throw ConfigurationError("PORTAL_CREATIO_PASSWORD", "is required with PORTAL_CREATIO_USER")
            }
            auth = .forms(user: user, password: password)
        } else {
            throw ConfigurationError("PORTAL_CREATIO_USER", "or PORTAL_CREATIO_CLIENT_ID is required to sign in to Creatio")
        }
        return CreatioConfiguration(baseURL: base, odataPath: odataPath, auth: auth)
    }
}

/// How the pull and push run, beside where Creatio is.
struct CreatioSettings {
    var connection: CreatioConfiguration
    var fields: CreatioFieldMap
    var useBatch: Bool
    var interval: Int

    /// The pull and the push over one client, so they share one sign-in.
    func pass(database: DatabasePool, directory: DirectoryService, invoices: InvoiceService, outbox: CRMOutbox,
              links: PaymentLinkService?, logger: Logger) -> CreatioPass {
        let client = CreatioClient(connection)
        return CreatioPass(sync: CreatioSyncService(client: client, db: database, directory: directory, invoices: invoices, clock: .system),
                           push: CreatioPushService(client: client, outbox: outbox, links: links, fields: fields, useBatch: useBatch, logger: logger),
                           links: links, logger: logger)
    }
}

extension CreatioOptions {
    /// Whether Creatio is configured at all; without it the worker runs as it always has.
    var isConfigured: Bool { reader().string(forKey: "portal.creatio.url") != nil }

    func settings() throws -> CreatioSettings {
        let config = reader()
        let connection = try configuration()
        var fields = CreatioFieldMap.defaults
        if let path = config.string(forKey: "portal.creatio.field.map"), !path.isEmpty {
            do { fields = try CreatioFieldMap.load(path: path) } catch let error as CreatioFieldMap.Invalid {
                throw ConfigurationError("PORTAL_CREATIO_FIELD_MAP", error.description)
            }
        }
        var useBatch = true
        if let text = config.string(forKey: "portal.creatio.batch") {
            switch text.lowercased() {
            case "on", "true", "yes", "1": useBatch = true
            case "off", "false", "no", "0": useBatch = false
            default: throw ConfigurationError("PORTAL_CREATIO_BATCH", "must be on or off")
            }
        }
        var interval = 60
        if let text = config.string(forKey: "portal.creatio.interval") {
            guard let seconds = Int(text), seconds >= 10 else { throw ConfigurationError("PORTAL_CREATIO_INTERVAL", "must be a whole number of seconds, at least 10") }
            interval = seconds
        }
        return CreatioSettings(connection: connection, fields: fields, useBatch: useBatch, interval: interval)
    }
}
