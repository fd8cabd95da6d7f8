import PortalCore

/// What a page needs to mount the gateway's hosted fields (or its 3-D Secure challenge).
enum HostedFieldsView {
    static func values(_ fields: HostedFieldsConfiguration, gateway: String) -> [String: String] {
        ["script": fields.scriptURL, "publicKey": fields.parameters["publicKey"] ?? "",
         "origin": fields.parameters["gatewayOrigin"] ?? fields.origins.first ?? "",
         "kind": gateway, "clientSecret": fields.parameters["setupIntentClientSecret"] ?? ""]
    }
}
