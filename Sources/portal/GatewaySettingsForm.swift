import Foundation
import Gateways
import PortalCore

/// Gateway settings checked the same way whether they come from the environment (`ConfigOptions`) or
/// from `portal gateway configure`, and the one mapping between a `GatewayConfiguration` and the
/// settings `GatewaySettingsService` stores (public values in the clear, secrets sealed).
enum GatewaySettingsForm {
    /// What the settings are called where they came from, for the one-line error.
    struct Names {
        var environment: String
        var endpoint: String
        var acceptUI: String

        static let variables = Names(environment: "PORTAL_AUTHORIZENET_ENVIRONMENT", endpoint: "PORTAL_AUTHORIZENET_ENDPOINT",
                                     acceptUI: "PORTAL_AUTHORIZENET_ACCEPTUI_URL")
        static let options = Names(environment: "--environment", endpoint: "--url", acceptUI: "--script-url")
    }

    static func requireHTTP(_ value: String, _ name: String, example: String? = nil) throws {
        guard let parsed = URL(string: value), ["http", "https"].contains(parsed.scheme ?? ""), parsed.host != nil else {
            throw ConfigurationError(name, "must be an http(s) URL" + (example.map { " such as \($0)" } ?? ""))
        }
    }

    /// The API endpoint and AcceptUI script belong to one environment (a sandbox login does not work
    /// in production and the other way round), so the environment picks both; either can be
    /// overridden (the tests point them at a local fake).
    static func authorizeNetAddresses(environment: String?, endpoint: String?, acceptUIURL: String?, names: Names) throws -> (String, String) {
        let defaults: (URL, String)
        switch environment ?? "sandbox" {
        case "sandbox", "": defaults = (AuthorizeNetGateway.sandboxEndpoint, AuthorizeNetGateway.sandboxAcceptUI)
        case "production": defaults = (AuthorizeNetGateway.productionEndpoint, AuthorizeNetGateway.productionAcceptUI)
        case let other: throw ConfigurationError(names.environment, "must be sandbox or production (got \"\(other)\")")
        }
        let chosen = (endpoint.flatMap { $0.isEmpty ? nil : $0 } ?? defaults.0.absoluteString, acceptUIURL.flatMap { $0.isEmpty ? nil : $0 } ?? defaults.1)
        try requireHTTP(chosen.0, names.endpoint, example: defaults.0.absoluteString)
        try requireHTTP(chosen.1, names.acceptUI, example: defaults.1)
        return chosen
    }

    static func currency(_ value: String?, _ name: String) throws -> String {
        guard let code = CurrencyCode(value.flatMap { $0.isEmpty ? nil : $0 } ?? "USD") else {
            throw ConfigurationError(name, "must be a three-letter ISO 4217 currency code such as USD")
        }
        return code.code
    }
}

extension GatewayConfiguration {
    /// As `GatewaySettingsService` keeps it; nil for `none` and `fromDatabase`.
    var stored: GatewaySettings? {
        switch self {
        case .none, .fromDatabase: nil
        case .sandbox(let url, let secretKey, let publicKey, let webhookSecret):
            GatewaySettings(gateway: "sandbox", publicSettings: ["url": url, "public_key": publicKey],
                            secrets: ["secret_key": secretKey, "webhook_secret": webhookSecret])
        case .stripe(let apiBase, let jsURL, let secretKey, let publishableKey, let webhookSecret):
            GatewaySettings(gateway: "stripe", publicSettings: ["api_base": apiBase, "js_url": jsURL, "publishable_key": publishableKey],
                            secrets: ["secret_key": secretKey, "webhook_secret": webhookSecret])
        case .authorizeNet(let endpoint, let acceptUIURL, let apiLoginID, let transactionKey, let clientKey, let signatureKey, let currency):
            GatewaySettings(gateway: "authorizenet",
                            publicSettings: ["endpoint": endpoint, "acceptui_url": acceptUIURL, "api_login_id": apiLoginID,
                                             "client_key": clientKey, "currency": currency],
                            secrets: ["transaction_key": transactionKey, "signature_key": signatureKey])
        }
    }

    /// Back from storage; nil when something is missing (the portal then runs without a gateway).
    init?(stored: GatewaySettings) {
        let p = stored.publicSettings, s = stored.secrets
        switch stored.gateway {
        case "sandbox":
            guard let url = p["url"], let publicKey = p["public_key"], let secretKey = s["secret_key"], let webhookSecret = s["webhook_secret"] else {
                return nil
            }
            self = .sandbox(url: url, secretKey: secretKey, publicKey: publicKey, webhookSecret: webhookSecret)
        case "stripe":
            guard let apiBase = p["api_base"], let jsURL = p["js_url"], let publishableKey = p["publishable_key"],
                  let secretKey = s["secret_key"], let webhookSecret = s["webhook_secret"] else { return nil }
            self = .stripe(apiBase: apiBase, jsURL: jsURL, secretKey: secretKey, publishableKey: publishableKey, webhookSecret: webhookSecret)
        case "authorizenet":
            guard let endpoint = p["endpoint"], let acceptUIURL = p["acceptui_url"], let apiLoginID = p["api_login_id"],
                  let clientKey = p["client_key"], let currency = p["currency"],
                  let transactionKey = s["transaction_key"], let signatureKey = s["signature_key"] else { return nil }
            self = .authorizeNet(endpoint: endpoint, acceptUIURL: acceptUIURL, apiLoginID: apiLoginID, transactionKey: transactionKey,
                                 clientKey: clientKey, signatureKey: signatureKey, currency: currency)
        default:
            return nil
        }
    }
}
