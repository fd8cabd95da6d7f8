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
}
