import Foundation
import PortalCore

/// Stripe: Elements + SetupIntents to save a card, off-session PaymentIntents to charge it,
/// `Idempotency-Key` on every write, `Stripe-Signature` webhooks. The API base and Stripe.js URL are
/// configurable so the same adapter runs against localstripe in tests.
public struct StripeGateway: PaymentGateway {
    public let name = "stripe"
    let apiBase: URL
    let jsURL: String
    let publishableKey: String
    let webhookSignature: TimestampedSignature
    let http: GatewayHTTP

    public init(apiBase: URL = URL(string: "https://api.stripe.com")!, jsURL: String = "https://js.stripe.com/v3/", secretKey: String,
                publishableKey: String, webhookSecret: String, timeout: TimeInterval = 15) {
        self.apiBase = apiBase
        self.jsURL = jsURL
        self.publishableKey = publishableKey
        self.webhookSignature = TimestampedSignature(header: "Stripe-Signature", secret: webhookSecret)
        self.http = GatewayHTTP(apiBase: apiBase, secretKey: secretKey, timeout: timeout)
    }

    public func ensureCustomer(existingId: String?, accountId: String, email: String?, name: String) async throws -> String {
        if let existingId {
            let (status, body) = try await http.call("GET", "customers/\(existingId)")
            if status == 200, body["deleted"] as? Bool != true { return existingId }
        }
        var form = [("name", name), ("metadata[account_id]", accountId)]
        if let email, !email.isEmpty { form.append(("email", email)) }
        let (status, body) = try await http.call("POST", "customers", .form(form))
        guard status == 200, let id = body["id"] as? String else { throw GatewayHTTP.failure(status, body, gateway: "Stripe") }
        return id
    }

    /// Creates a SetupIntent for the customer; the page confirms it with Stripe.js.
    public func hostedFields(customerId: String) async throws -> HostedFieldsConfiguration {
        let (status, body) = try await http.call("POST", "setup_intents", .form([
            ("customer", customerId), ("usage", "off_session"), ("payment_method_types[]", "card"),
        ]))
        guard status == 200, let secret = body["client_secret"] as? String else { throw GatewayHTTP.failure(status, body, gateway: "Stripe") }
        let origins = Set([LinkBuilder.origin(of: jsURL), LinkBuilder.origin(of: apiBase.absoluteString)]).sorted()
        return HostedFieldsConfiguration(scriptURL: jsURL, origins: origins,
                                         parameters: ["publicKey": publishableKey, "setupIntentClientSecret": secret])
    }

    /// The browser returns the confirmed SetupIntent's id; the server checks it and attaches its method.
    public func completeSavedMethod(customerId: String, browserResult: [String: String]) async throws -> SavedMethodDetails {
        guard let intent = browserResult["setup_intent"], intent.hasPrefix("seti_") else {
            throw PaymentGatewayError.rejected(code: "setup_intent_missing", message: "The card form did not finish.")
        }
        let (status, body) = try await http.call("GET", "setup_intents/\(intent)")
        guard status == 200 else { throw GatewayHTTP.failure(status, body, gateway: "Stripe") }
        guard body["status"] as? String == "succeeded", let method = Self.id(body["payment_method"]) else {
            throw PaymentGatewayError.rejected(code: "setup_incomplete", message: "The card was not confirmed.")
        }
        guard Self.id(body["customer"]) == customerId else { throw PaymentGatewayError.notFound }
        let (methodStatus, details) = try await http.call("GET", "payment_methods/\(method)")
        guard methodStatus == 200 else { throw GatewayHTTP.failure(methodStatus, details, gateway: "Stripe") }
        if Self.id(details["customer"]) != customerId {
            // localstripe does not attach on confirmation; Stripe does. Attaching is checked, not assumed.
            let (attachStatus, attached) = try await http.call("POST", "payment_methods/\(method)/attach", .form([("customer", customerId)]))
            guard attachStatus == 200 else { throw GatewayHTTP.failure(attachStatus, attached, gateway: "Stripe") }
        }
        let card = details["card"] as? [String: Any] ?? [:]
        return SavedMethodDetails(gatewayMethodId: method, brand: card["brand"] as? String ?? "unknown", last4: card["last4"] as? String ?? "",
                                  expMonth: (card["exp_month"] as? NSNumber)?.intValue ?? 0, expYear: (card["exp_year"] as? NSNumber)?.intValue ?? 0,
                                  fingerprint: card["fingerprint"] as? String)
    }

    public func detachMethod(customerId: String, methodId: String) async throws {
        let (status, body) = try await http.call("POST", "payment_methods/\(methodId)/detach", .form([]))
        guard status == 200 || status == 404 else { throw GatewayHTTP.failure(status, body, gateway: "Stripe") }
    }

    public func charge(_ request: GatewayChargeRequest) async throws -> GatewayChargeOutcome {
        var form = [
            ("amount", String(request.amount.minorUnits)), ("currency", request.amount.currency.code.lowercased()),
            ("customer", request.customerId), ("payment_method", request.methodId), ("off_session", "true"), ("confirm", "true"),
            ("metadata[idempotency_key]", request.idempotencyKey),
        ]
        for (key, value) in request.metadata.sorted(by: { $0.key < $1.key }) { form.append(("metadata[\(key)]", value)) }
        let status: Int
        let body: [String: Any]
        do {
            (status, body) = try await http.call("POST", "payment_intents", .form(form), idempotencyKey: request.idempotencyKey)
        } catch PaymentGatewayError.unavailable(let reason) {
            return .unknown(reason: reason)
        }
        if status >= 500 { return .unknown(reason: "Stripe answered \(status)") }
        if status == 402, let error = body["error"] as? [String: Any] {
            let code = error["decline_code"] as? String ?? error["code"] as? String ?? "card_declined"
            if let intent = error["payment_intent"] as? [String: Any], intent["status"] as? String == "requires_action",
               let id = intent["id"] as? String, let secret = intent["client_secret"] as? String {
                return .requiresAction(transactionId: id, clientSecret: secret)
            }
            return .declined(code: code, message: error["message"] as? String ?? "Your card was declined.", retryable: DeclineCode.retryable(code))
        }
        guard status == 200, let id = body["id"] as? String else { throw GatewayHTTP.failure(status, body, gateway: "Stripe") }
        switch body["status"] as? String {
        case "succeeded": return .approved(transactionId: id, authorizationCode: nil)
        case "requires_action": return .requiresAction(transactionId: id, clientSecret: body["client_secret"] as? String ?? "")
        case "processing": return .unknown(reason: "processing")
        default:
            let error = body["last_payment_error"] as? [String: Any]
            let code = error?["decline_code"] as? String ?? error?["code"] as? String ?? "card_declined"
            return .declined(code: code, message: error?["message"] as? String ?? "Your card was declined.", retryable: DeclineCode.retryable(code))
        }
    }

    public func refund(transactionId: String, amount: Money, idempotencyKey: String) async throws -> GatewayRefund {
        let (status, body) = try await http.call("POST", "refunds", .form([("payment_intent", transactionId), ("amount", String(amount.minorUnits))]),
                                            idempotencyKey: idempotencyKey)
        guard status == 200, let id = body["id"] as? String else { throw GatewayHTTP.failure(status, body, gateway: "Stripe") }
        return GatewayRefund(refundId: id, amount: amount)
    }

    public func void(transactionId: String, idempotencyKey: String) async throws {
        let (status, body) = try await http.call("POST", "payment_intents/\(transactionId)/cancel", .form([]), idempotencyKey: idempotencyKey)
        guard status == 200 else { throw GatewayHTTP.failure(status, body, gateway: "Stripe") }
    }

    /// Stripe has no lookup by idempotency key, so the key also travels as metadata: search for it
    /// (Stripe), or scan the latest intents where search is not offered (localstripe).
    public func findTransaction(idempotencyKey: String) async throws -> GatewayTransaction? {
        let quoted = idempotencyKey.replacingOccurrences(of: "'", with: "\\'")
        var (status, body) = try await http.call("GET", "payment_intents/search?query=" + GatewayHTTP.encode("metadata['idempotency_key']:'\(quoted)'"))
        if status == 404 || status == 400 { (status, body) = try await http.call("GET", "payment_intents?limit=100") }
        guard status == 200 else { throw GatewayHTTP.failure(status, body, gateway: "Stripe") }
        let intents = body["data"] as? [[String: Any]] ?? []
        guard let intent = intents.first(where: { ($0["metadata"] as? [String: Any])?["idempotency_key"] as? String == idempotencyKey }),
              let id = intent["id"] as? String, let currency = (intent["currency"] as? String).flatMap(CurrencyCode.init),
              let amount = (intent["amount"] as? NSNumber)?.int64Value else { return nil }
        let state: GatewayTransactionStatus = switch intent["status"] as? String {
        case "succeeded": .succeeded
        case "requires_action": .requiresAction
        case "processing": .processing
        case "canceled": .voided
        default: .declined
        }
        return GatewayTransaction(transactionId: id, status: state, amount: Money(amount, currency))
    }

    public func verifyWebhook(headers: [String: String], body: [UInt8], now: Date) throws -> GatewayWebhookEvent {
        let header = headers.first { $0.key.lowercased() == "stripe-signature" }?.value
        try webhookSignature.verify(header: header, body: body, now: now)
        guard let object = (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any], let id = object["id"] as? String else {
            throw PaymentGatewayError.rejected(code: "webhook_malformed", message: "Webhook body is not an event.")
        }
        let kind: GatewayWebhookEvent.Kind = switch object["type"] as? String {
        case "payment_intent.succeeded": .chargeSucceeded
        case "payment_intent.payment_failed": .chargeFailed
        case "charge.refunded": .chargeRefunded
        case "charge.dispute.created": .chargeDisputed
        default: .other
        }
        let dataObject = (object["data"] as? [String: Any])?["object"] as? [String: Any] ?? [:]
        let created = (object["created"] as? NSNumber).map { Date(timeIntervalSince1970: $0.doubleValue) } ?? now
        // Charges are made as PaymentIntents and recorded by the intent's id; refund and dispute
        // events carry a Charge or a Dispute, which name their intent.
        let isIntent = dataObject["object"] as? String == "payment_intent"
        let transactionId = isIntent ? dataObject["id"] as? String : Self.id(dataObject["payment_intent"]) ?? dataObject["id"] as? String
        let refunded = dataObject["object"] as? String == "charge" ? GatewayHTTP.money(dataObject["amount_refunded"], currency: dataObject["currency"]) : nil
        return GatewayWebhookEvent(id: id, kind: kind, transactionId: transactionId, occurredAt: created,
                                   reference: (dataObject["metadata"] as? [String: Any])?["idempotency_key"] as? String, amountRefunded: refunded)
    }

    // MARK: Helpers

    static func id(_ value: Any?) -> String? {
        if let id = value as? String { return id }
        return (value as? [String: Any])?["id"] as? String
    }
}
