import PortalCore

/// What a page needs to mount the gateway's hosted fields (or its 3-D Secure challenge), and what
/// those fields send back with the form.
enum HostedFieldsView {
    static func values(_ fields: HostedFieldsConfiguration, gateway: String) -> [String: Any] {
        var values: [String: Any] = [
            "script": fields.scriptURL, "publicKey": fields.parameters["publicKey"] ?? "",
            "origin": fields.parameters["gatewayOrigin"] ?? fields.origins.first ?? "",
            "kind": gateway, "clientSecret": fields.parameters["setupIntentClientSecret"] ?? "",
        ]
        if let loginID = fields.parameters["apiLoginID"], let clientKey = fields.parameters["clientKey"] {
            values["acceptUI"] = ["apiLoginID": loginID, "clientKey": clientKey]
        }
        return values
    }

    /// The fields `partials/card_entry` fills from the gateway: a token, a SetupIntent, or opaque data.
    static let resultFields = ["token", "setup_intent", "data_descriptor", "data_value", "exp_month", "exp_year"]

    static func browserResult(_ form: FormFields) -> [String: String] {
        Dictionary(uniqueKeysWithValues: resultFields.map { ($0, form.value($0)) })
    }

    /// Whether the gateway's fields returned anything a card can be saved from.
    static func hasCard(_ result: [String: String]) -> Bool {
        !(result["token"] ?? "").isEmpty || !(result["setup_intent"] ?? "").isEmpty || !(result["data_value"] ?? "").isEmpty
    }

    /// What is missing from a new card's entry (the gateway's result, then the billing details), or nil.
    static func cardEntryProblem(_ result: [String: String], billingName: String, billingPostcode: String) -> String? {
        if !hasCard(result) { return ErrorMessages.cardDetailsMissing }
        if billingName.isEmpty || billingPostcode.isEmpty { return ErrorMessages.billingDetailsMissing }
        return nil
    }

    /// Adds the card entry to a payment form's values (`gateway`, or `blocked` when no gateway is
    /// configured); returns the gateway's origins for the page's Content-Security-Policy.
    static func addCardEntry(to values: inout [String: Any], services: PortalServices, scope: CustomerScope, accountName: String,
                             email: String) async throws -> [String] {
        guard services.payments.isConfigured else {
            values["blocked"] = ErrorMessages.payment(.notConfigured)
            return []
        }
        let fields = try await services.paymentMethods.hostedFields(scope, accountName: accountName, email: email)
        values["gateway"] = Self.values(fields, gateway: services.gateway?.name ?? "")
        return fields.origins
    }

    /// For a payment waiting on 3-D Secure: what the receipt page needs to run the bank's challenge
    /// and post back to `action`; returns the gateway's origins (none when nothing is waiting).
    static func addAuthentication(to values: inout [String: Any], payment: Payment, services: PortalServices, scope: CustomerScope,
                                  accountName: String, email: String, action: String) async throws -> [String] {
        guard payment.requiresAction, let gateway = services.gateway else { return [] }
        let fields = try await services.paymentMethods.hostedFields(scope, accountName: accountName, email: email)
        var authentication = Self.values(fields, gateway: gateway.name)
        authentication["clientSecret"] = payment.actionClientSecret ?? ""
        authentication["transactionId"] = payment.transactionId ?? ""
        authentication["action"] = action
        values["authentication"] = authentication
        return fields.origins
    }
}
