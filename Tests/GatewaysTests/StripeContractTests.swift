import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import PortalCore
import Testing
@testable import Gateways

/// The Stripe adapter against localstripe (a Stripe API fake on 127.0.0.1, started per suite).
@Suite(.serialized) struct StripeContractTests {
    let eur = CurrencyCode("EUR")!

    /// `python3 Tests/support/localstripe_server.py 0`, stopped when the test ends.
    func withLocalStripe(_ body: (StripeGateway, URL) async throws -> Void) async throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", root.appendingPathComponent("Tests/support/localstripe_server.py").path, "0"]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        defer {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        var buffer = Data()
        while !buffer.contains(UInt8(ascii: "\n")) {
            let chunk = output.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            buffer.append(chunk)
        }
        let port = try #require(Int(String(decoding: buffer, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)),
                                "localstripe did not start")
        let base = URL(string: "http://127.0.0.1:\(port)")!
        let gateway = StripeGateway(apiBase: base, jsURL: base.absoluteString + "/js.stripe.com/v3/", secretKey: "sk_test_portal",
                                    publishableKey: "pk_test_portal", webhookSecret: "whsec_stripe", timeout: 10)
        try await body(gateway, base)
    }

    /// What Stripe.js does in the browser for a SetupIntent: create the card method and confirm.
    static func confirmSetup(_ base: URL, clientSecret: String, number: String) async throws -> String {
        let intent = String(clientSecret.split(separator: "_secret_").first ?? "")
        let method = try await form(base, "payment_methods", [("type", "card"), ("card[number]", number), ("card[exp_month]", "12"),
                                                              ("card[exp_year]", "2030"), ("card[cvc]", "123")])
        _ = try await form(base, "setup_intents/\(intent)/confirm", [("payment_method", try #require(method["id"] as? String))])
        return intent
    }

    static func form(_ base: URL, _ path: String, _ fields: [(String, String)]) async throws -> [String: Any] {
        var request = URLRequest(url: base.appendingPathComponent("v1/" + path))
        request.httpMethod = "POST"
        // localstripe takes a secret key here; Stripe.js would use the publishable key.
        request.setValue("Bearer sk_test_portal", forHTTPHeaderField: "Authorization")
        request.setValue("application/x-www-form-urlencoded", forHTTPHeaderField: "Content-Type")
        request.httpBody = Data(fields.map { "\($0.0.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)=\($0.1)" }.joined(separator: "&").utf8)
        let (data, _) = try await URLSession.shared.data(for: request)
        return (try JSONSerialization.jsonObject(with: data) as? [String: Any]) ?? [:]
    }

    func saved(_ gateway: StripeGateway, _ base: URL, customer: String, number: String) async throws -> SavedMethodDetails {
        let fields = try await gateway.hostedFields(customerId: customer)
        let secret = try #require(fields.parameters["setupIntentClientSecret"])
        let intent = try await Self.confirmSetup(base, clientSecret: secret, number: number)
        return try await gateway.completeSavedMethod(customerId: customer, browserResult: ["setup_intent": intent])
    }

    @Test func savesChargesRefundsAndFindsByKey() async throws {
        try await withLocalStripe { gateway, base in
            let customer = try await gateway.ensureCustomer(existingId: nil, accountId: "acc_1", email: "a@example.com", name: "Acme")
            #expect(try await gateway.ensureCustomer(existingId: customer, accountId: "acc_1", email: nil, name: "Acme") == customer)
            let fields = try await gateway.hostedFields(customerId: customer)
            #expect(fields.scriptURL.hasSuffix("/js.stripe.com/v3/") && fields.origins == ["http://127.0.0.1:\(base.port!)"])
            let card = try await saved(gateway, base, customer: customer, number: "4242424242424242")
            #expect(card.brand == "visa" && card.last4 == "4242" && card.expMonth == 12 && card.expYear == 2030 && card.gatewayMethodId.hasPrefix("pm_"))

            let outcome = try await gateway.charge(GatewayChargeRequest(customerId: customer, methodId: card.gatewayMethodId,
                                                                        amount: Money(1_500, eur), idempotencyKey: "pay_stripe_1"))
            guard case .approved(let intent, _) = outcome else { Issue.record("not approved: \(outcome)"); return }
            let found = try #require(try await gateway.findTransaction(idempotencyKey: "pay_stripe_1"))
            #expect(found.transactionId == intent && found.status == .succeeded && found.amount == Money(1_500, eur))
            #expect(try await gateway.findTransaction(idempotencyKey: "pay_never") == nil)
            let refund = try await gateway.refund(transactionId: intent, amount: Money(500, eur), idempotencyKey: "ref_stripe_1")
            #expect(refund.refundId.hasPrefix("re_"))
            await #expect(throws: PaymentGatewayError.self) {
                try await gateway.completeSavedMethod(customerId: customer, browserResult: ["setup_intent": "seti_missing"])
            }
        }
    }

    @Test func declinesComeBackWithTheirCode() async throws {
        try await withLocalStripe { gateway, base in
            let customer = try await gateway.ensureCustomer(existingId: nil, accountId: "acc_2", email: nil, name: "Bakery")
            // Attaches fine, declines when charged.
            let card = try await saved(gateway, base, customer: customer, number: "4000000000000341")
            let outcome = try await gateway.charge(GatewayChargeRequest(customerId: customer, methodId: card.gatewayMethodId,
                                                                        amount: Money(900, eur), idempotencyKey: "pay_declined"))
            guard case .declined(let code, let message, let retryable) = outcome else { Issue.record("not declined: \(outcome)"); return }
            #expect(code == "card_declined" && message == "Your card was declined." && retryable)
        }
    }

    @Test func webhooksAreVerifiedOnTheRawBody() async throws {
        try await withLocalStripe { gateway, _ in
            let signer = TimestampedSignature(header: "Stripe-Signature", secret: "whsec_stripe")
            let body = Array(#"{"id":"evt_1","type":"payment_intent.succeeded","created":1795000000,"data":{"object":{"id":"pi_1"}}}"#.utf8)
            let now = Date()
            let event = try gateway.verifyWebhook(headers: ["Stripe-Signature": signer.sign(body: body, at: now)], body: body, now: now)
            #expect(event.kind == .chargeSucceeded && event.transactionId == "pi_1")
            // Refunds and disputes arrive as a Charge or a Dispute: they name the intent the portal recorded.
            let refunded = Array(#"{"id":"evt_2","type":"charge.refunded","data":{"object":{"object":"charge","id":"ch_1","payment_intent":"pi_1","amount_refunded":500,"currency":"eur","metadata":{"idempotency_key":"pay_1"}}}}"#.utf8)
            let refund = try gateway.verifyWebhook(headers: ["Stripe-Signature": signer.sign(body: refunded, at: now)], body: refunded, now: now)
            #expect(refund.kind == .chargeRefunded && refund.transactionId == "pi_1" && refund.reference == "pay_1"
                    && refund.amountRefunded == Money(500, eur))
            let disputed = Array(#"{"id":"evt_3","type":"charge.dispute.created","data":{"object":{"object":"dispute","id":"dp_1","charge":"ch_1","payment_intent":"pi_1"}}}"#.utf8)
            let dispute = try gateway.verifyWebhook(headers: ["Stripe-Signature": signer.sign(body: disputed, at: now)], body: disputed, now: now)
            #expect(dispute.kind == .chargeDisputed && dispute.transactionId == "pi_1")
            #expect(throws: PaymentGatewayError.invalidWebhookSignature) {
                try gateway.verifyWebhook(headers: ["Stripe-Signature": signer.sign(body: body, at: now)], body: body + [0x20], now: now)
            }
            #expect(throws: PaymentGatewayError.staleWebhook) {
                try gateway.verifyWebhook(headers: ["Stripe-Signature": signer.sign(body: body, at: now.addingTimeInterval(-400))], body: body, now: now)
            }
        }
    }
}
