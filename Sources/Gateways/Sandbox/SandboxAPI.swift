import Foundation
import Hummingbird
import Logging
import PortalCore

/// Settings for the sandbox gateway's own listener.
public struct SandboxSettings: Sendable {
    /// Bearer key for the server API (`sk_sandbox_…`); the portal's adapter holds it.
    public var secretKey: String
    /// Publishable key for the hosted fields (`pk_sandbox_…`).
    public var publicKey: String
    /// How long a `timeout` test card's charge waits before answering: longer than any caller waits.
    public var lateResponseDelay: Duration
    /// Sites allowed to frame the hosted fields (the portal's origin), like a real gateway's domain list.
    public var allowedOrigins: [String]
    /// Where to send signed events, if anywhere.
    public var webhooks: SandboxWebhookSender?

    public init(secretKey: String, publicKey: String, allowedOrigins: [String] = [], lateResponseDelay: Duration = .seconds(20),
                webhooks: SandboxWebhookSender? = nil) {
        self.webhooks = webhooks
        self.secretKey = secretKey
        self.publicKey = publicKey
        self.allowedOrigins = allowedOrigins
        self.lateResponseDelay = lateResponseDelay
    }
}

/// The sandbox gateway's HTTP API, shaped like a real gateway's: JSON bodies, a bearer secret key,
/// `Idempotency-Key` headers, and JSON errors `{"error": {"code", "message"}}`.
public enum SandboxAPI {
    public static func router(engine: SandboxEngine, settings: SandboxSettings) -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self)
        SandboxHostedFields.register(on: router, settings: settings)
        let api = router.group("v1")

        // Hosted fields post here from the sandbox's own page; the number stays on this origin.
        api.post("tokens") { request, context -> Response in
            let body = try await JSONBody(request, context)
            guard body.string("key") == settings.publicKey else { return error(401, "invalid_key", "Invalid publishable key.") }
            do {
                let token = try engine.tokenize(SandboxCardInput(
                    number: body.string("number") ?? "", expMonth: body.int("exp_month") ?? 0, expYear: body.int("exp_year") ?? 0,
                    cvc: body.string("cvc") ?? "", postalCode: body.string("postal_code")))
                return json(200, ["id": token.token, "brand": token.brand, "last4": token.last4])
            } catch let cardError as SandboxCardError {
                return error(402, String(describing: cardError), cardError.message)
            }
        }

        let secured = api.group().add(middleware: BearerKeyMiddleware(secretKey: settings.secretKey))
        secured.post("customers") { request, context -> Response in
            let body = try await JSONBody(request, context)
            let id = try engine.createCustomer(reference: body.string("reference") ?? "", email: body.string("email"), name: body.string("name") ?? "")
            return json(200, ["id": id])
        }
        secured.get("customers/{id}") { _, context -> Response in
            try engine.customerExists(context.parameters.require("id")) ? json(200, ["id": try context.parameters.require("id")])
                : error(404, "resource_missing", "No such customer.")
        }
        secured.post("customers/{id}/methods") { request, context -> Response in
            let body = try await JSONBody(request, context)
            return try gatewayCall {
                let method = try engine.attach(token: body.string("token") ?? "", to: try context.parameters.require("id"))
                return json(200, methodJSON(method))
            }
        }
        secured.post("customers/{id}/methods/{method}/detach") { _, context -> Response in
            try gatewayCall {
                try engine.detach(methodId: try context.parameters.require("method"), customerId: try context.parameters.require("id"))
                return json(200, ["detached": true])
            }
        }
        secured.post("charges") { request, context -> Response in
            let body = try await JSONBody(request, context)
            guard let key = request.headers[HTTPField.Name("Idempotency-Key")!], !key.isEmpty else {
                return error(400, "idempotency_key_missing", "Send an Idempotency-Key header.")
            }
            guard let currency = body.string("currency").flatMap(CurrencyCode.init), let amount = body.int64("amount") else {
                return error(400, "parameter_invalid", "amount (integer minor units) and currency (ISO 4217) are required.")
            }
            let metadata = body.object("metadata")
            return try await gatewayCallAsync {
                let result = try engine.charge(GatewayChargeRequest(
                    customerId: body.string("customer") ?? "", methodId: body.string("method") ?? "",
                    amount: Money(amount, currency), idempotencyKey: key, metadata: metadata))
                switch result.charge.status {
                case .succeeded: settings.webhooks?.send(type: "charge.succeeded", charge: result.charge)
                case .declined: settings.webhooks?.send(type: "charge.failed", charge: result.charge)
                default: break
                }
                if result.respondLate { try await Task.sleep(for: settings.lateResponseDelay) }
                return json(200, chargeJSON(result.charge))
            }
        }
        secured.get("charges") { request, _ -> Response in
            guard let key = request.uri.queryParameters["idempotency_key"].map(String.init),
                  let charge = try engine.charge(idempotencyKey: key) else {
                return error(404, "resource_missing", "No charge with that idempotency key.")
            }
            return json(200, chargeJSON(charge))
        }
        secured.post("charges/{id}/refunds") { request, context -> Response in
            let body = try await JSONBody(request, context)
            guard let key = request.headers[HTTPField.Name("Idempotency-Key")!], !key.isEmpty else {
                return error(400, "idempotency_key_missing", "Send an Idempotency-Key header.")
            }
            return try gatewayCall {
                let chargeId = try context.parameters.require("id")
                let refund = try engine.refund(chargeId: chargeId, amount: body.int64("amount") ?? 0, idempotencyKey: key)
                if let charge = try engine.charge(id: chargeId) { settings.webhooks?.send(type: "charge.refunded", charge: charge) }
                return json(200, ["id": refund.refundId, "amount": refund.amount.minorUnits, "currency": refund.amount.currency.code])
            }
        }
        secured.post("charges/{id}/void") { request, context -> Response in
            let key = request.headers[HTTPField.Name("Idempotency-Key")!] ?? ""
            return try gatewayCall {
                try engine.void(chargeId: try context.parameters.require("id"), idempotencyKey: key.isEmpty ? UUID().uuidString : key)
                return json(200, ["voided": true])
            }
        }
        // The browser completes 3-D Secure with the charge's client secret (no secret key).
        api.post("charges/{id}/confirm") { request, context -> Response in
            let body = try await JSONBody(request, context)
            return try gatewayCall {
                let charge = try engine.confirmAuthentication(chargeId: try context.parameters.require("id"), clientSecret: body.string("client_secret") ?? "")
                return json(200, chargeJSON(charge))
            }
        }
        return router
    }

    static func methodJSON(_ m: SavedMethodDetails) -> [String: Any] {
        ["id": m.gatewayMethodId, "brand": m.brand, "last4": m.last4, "exp_month": m.expMonth, "exp_year": m.expYear,
         "fingerprint": m.fingerprint ?? ""]
    }

    static func chargeJSON(_ c: SandboxCharge) -> [String: Any] {
        var values: [String: Any] = ["id": c.id, "status": c.status.rawValue, "amount": c.amount.minorUnits,
                                     "currency": c.amount.currency.code, "amount_refunded": c.amountRefunded, "retryable": c.retryable]
        if let code = c.declineCode { values["decline_code"] = code }
        if let message = c.message { values["message"] = message }
        if let auth = c.authorizationCode { values["authorization_code"] = auth }
        if let secret = c.clientSecret { values["client_secret"] = secret }
        return values
    }

    static func gatewayCall(_ body: () throws -> Response) throws -> Response {
        do { return try body() } catch let failure as PaymentGatewayError { return mapped(failure) }
    }

    static func gatewayCallAsync(_ body: () async throws -> Response) async throws -> Response {
        do { return try await body() } catch let failure as PaymentGatewayError { return mapped(failure) }
    }

    static func mapped(_ failure: PaymentGatewayError) -> Response {
        switch failure {
        case .rejected(let code, let message): error(400, code, message)
        case .idempotencyConflict: error(409, "idempotency_conflict", "This Idempotency-Key was used with different parameters.")
        case .notFound: error(404, "resource_missing", "No such object.")
        default: error(500, "api_error", "\(failure)")
        }
    }

    static func json(_ status: Int, _ object: [String: Any]) -> Response {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
        return Response(status: .init(code: status), headers: [.contentType: "application/json"],
                         body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    static func error(_ status: Int, _ code: String, _ message: String) -> Response {
        json(status, ["error": ["code": code, "message": message]])
    }
}

/// The server API needs `Authorization: Bearer <secret key>`.
struct BearerKeyMiddleware<Context: RequestContext>: RouterMiddleware {
    let secretKey: String

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let presented = request.headers[.authorization].flatMap { $0.hasPrefix("Bearer ") ? String($0.dropFirst(7)) : nil } ?? ""
        guard constantTimeEquals(Array(presented.utf8), Array(secretKey.utf8)) else {
            return SandboxAPI.error(401, "invalid_api_key", "Invalid API key.")
        }
        return try await next(request, context)
    }
}

/// A JSON object body, read leniently as a gateway does (numbers may arrive as strings).
struct JSONBody {
    let values: [String: Any]

    init(_ request: Request, _ context: some RequestContext) async throws {
        var request = request
        let buffer = try await request.collectBody(upTo: 64 * 1024)
        let data = Data(buffer.readableBytesView)
        values = (data.isEmpty ? nil : (try? JSONSerialization.jsonObject(with: data)) as? [String: Any]) ?? [:]
    }

    func string(_ key: String) -> String? {
        if let s = values[key] as? String { return s }
        if let n = values[key] as? NSNumber { return n.stringValue }
        return nil
    }

    func int(_ key: String) -> Int? { int64(key).map(Int.init) }

    func int64(_ key: String) -> Int64? {
        if let n = values[key] as? NSNumber { return n.int64Value }
        if let s = values[key] as? String { return Int64(s) }
        return nil
    }

    func object(_ key: String) -> [String: String] {
        (values[key] as? [String: Any])?.compactMapValues { $0 as? String } ?? [:]
    }
}

import HTTPTypes

