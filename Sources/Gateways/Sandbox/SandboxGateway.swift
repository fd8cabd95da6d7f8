import Foundation
import PortalCore

/// The portal's adapter for the sandbox gateway: its server API over HTTPS/HTTP with the secret
/// key, and the configuration its hosted fields need in the browser.
public struct SandboxGateway: PaymentGateway {
    public let name = "sandbox"
    let baseURL: URL
    let publicKey: String
    let webhookSignature: TimestampedSignature
    let http: GatewayHTTP

    /// `timeout` bounds every call; a charge that outlives it is reported as `unknown`, never declined.
    public init(baseURL: URL, secretKey: String, publicKey: String, webhookSecret: String, timeout: TimeInterval = 15) {
        self.baseURL = baseURL
        self.publicKey = publicKey
        self.webhookSignature = SandboxWebhookSignature.make(secret: webhookSecret)
        self.http = GatewayHTTP(apiBase: baseURL, secretKey: secretKey, timeout: timeout)
    }

    public func ensureCustomer(existingId: String?, accountId: String, email: String?, name: String) async throws -> String {
        if let existingId {
            let (status, _) = try await http.call("GET", "customers/\(existingId)")
            if status == 200 { return existingId }
        }
        let (status, body) = try await http.call("POST", "customers", .json(["reference": accountId, "email": email ?? "", "name": name]))
        guard status == 200, let id = body["id"] as? String else { throw GatewayHTTP.failure(status, body, gateway: "The sandbox gateway") }
        return id
    }

    public func hostedFields(customerId: String) async throws -> HostedFieldsConfiguration {
        let origin = LinkBuilder.origin(of: baseURL.absoluteString)
        return HostedFieldsConfiguration(scriptURL: origin + "/v1/hosted-fields.js", origins: [origin],
                                         parameters: ["publicKey": publicKey, "gatewayOrigin": origin])
    }

    public func completeSavedMethod(customerId: String, browserResult: [String: String]) async throws -> SavedMethodDetails {
        guard let token = browserResult["token"], token.hasPrefix("tok_") else {
            throw PaymentGatewayError.rejected(code: "token_missing", message: "The card form did not return a token.")
        }
        let (status, body) = try await http.call("POST", "customers/\(customerId)/methods", .json(["token": token]))
        guard status == 200, let id = body["id"] as? String else { throw GatewayHTTP.failure(status, body, gateway: "The sandbox gateway") }
        return SavedMethodDetails(gatewayMethodId: id, brand: body["brand"] as? String ?? "unknown", last4: body["last4"] as? String ?? "",
                                  expMonth: (body["exp_month"] as? NSNumber)?.intValue ?? 0, expYear: (body["exp_year"] as? NSNumber)?.intValue ?? 0,
                                  fingerprint: body["fingerprint"] as? String)
    }

    public func detachMethod(customerId: String, methodId: String) async throws {
        let (status, body) = try await http.call("POST", "customers/\(customerId)/methods/\(methodId)/detach", .json([:]))
        guard status == 200 || status == 404 else { throw GatewayHTTP.failure(status, body, gateway: "The sandbox gateway") }
    }

    public func charge(_ request: GatewayChargeRequest) async throws -> GatewayChargeOutcome {
        let status: Int
        let body: [String: Any]
        do {
            (status, body) = try await http.call("POST", "charges", .json([
                "customer": request.customerId, "method": request.methodId, "amount": request.amount.minorUnits,
                "currency": request.amount.currency.code, "metadata": request.metadata,
            ]), idempotencyKey: request.idempotencyKey)
        } catch PaymentGatewayError.unavailable(let reason) {
            // The request may have reached the gateway: only a lookup can tell.
            return .unknown(reason: reason)
        }
        if status >= 500 { return .unknown(reason: "gateway answered \(status)") }
        guard status == 200, let id = body["id"] as? String else { throw GatewayHTTP.failure(status, body, gateway: "The sandbox gateway") }
        switch body["status"] as? String {
        case "succeeded": return .approved(transactionId: id, authorizationCode: body["authorization_code"] as? String)
        case "declined":
            return .declined(code: body["decline_code"] as? String ?? "card_declined", message: body["message"] as? String ?? "Declined.",
                             retryable: (body["retryable"] as? NSNumber)?.boolValue ?? false)
        case "requires_action": return .requiresAction(transactionId: id, clientSecret: body["client_secret"] as? String ?? "")
        default: return .unknown(reason: "unexpected status \(body["status"] ?? "none")")
        }
    }

    public func refund(transactionId: String, amount: Money, idempotencyKey: String) async throws -> GatewayRefund {
        let (status, body) = try await http.call("POST", "charges/\(transactionId)/refunds", .json(["amount": amount.minorUnits]), idempotencyKey: idempotencyKey)
        guard status == 200, let id = body["id"] as? String else { throw GatewayHTTP.failure(status, body, gateway: "The sandbox gateway") }
        return GatewayRefund(refundId: id, amount: amount)
    }

    public func void(transactionId: String, idempotencyKey: String) async throws {
        let (status, body) = try await http.call("POST", "charges/\(transactionId)/void", .json([:]), idempotencyKey: idempotencyKey)
        guard status == 200 else { throw GatewayHTTP.failure(status, body, gateway: "The sandbox gateway") }
    }

    public func findTransaction(idempotencyKey: String) async throws -> GatewayTransaction? {
        let (status, body) = try await http.call("GET", "charges?idempotency_key=" + GatewayHTTP.encode(idempotencyKey))
        if status == 404 { return nil }
        guard status == 200, let id = body["id"] as? String, let currency = (body["currency"] as? String).flatMap(CurrencyCode.init),
              let amount = (body["amount"] as? NSNumber)?.int64Value else { throw GatewayHTTP.failure(status, body, gateway: "The sandbox gateway") }
        return GatewayTransaction(transactionId: id, status: GatewayTransactionStatus(rawValue: body["status"] as? String ?? "") ?? .processing,
                                  amount: Money(amount, currency), declineCode: body["decline_code"] as? String,
                                  amountRefunded: GatewayHTTP.money(body["amount_refunded"], currency: body["currency"]))
    }

    public func verifyWebhook(headers: [String: String], body: [UInt8], now: Date) throws -> GatewayWebhookEvent {
        let header = headers.first { $0.key.lowercased() == SandboxWebhookSignature.header.lowercased() }?.value
        try webhookSignature.verify(header: header, body: body, now: now)
        guard let object = (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any], let id = object["id"] as? String else {
            throw PaymentGatewayError.rejected(code: "webhook_malformed", message: "Webhook body is not an event.")
        }
        let kind = GatewayWebhookEvent.Kind(rawValue: object["type"] as? String ?? "") ?? .other
        let created = (object["created"] as? NSNumber).map { Date(timeIntervalSince1970: $0.doubleValue) } ?? now
        let data = object["data"] as? [String: Any] ?? [:]
        return GatewayWebhookEvent(id: id, kind: kind, transactionId: data["charge"] as? String, occurredAt: created,
                                   reference: data["idempotency_key"] as? String,
                                   amountRefunded: GatewayHTTP.money(data["amount_refunded"], currency: data["currency"]))
    }
}
