import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import PortalCore
import Testing
@testable import Gateways

/// The Stripe adapter against localstripe (a Stripe API fake, run as a separate process on
/// 127.0.0.1 by `Tests/support/localstripe_server.py`, one per test).
struct StripeHarness: ContractHarness {
    static let secretKey = "sk_test_portal"
    static let webhookSecret = "whsec_stripe"

    let base: URL
    let adapter: StripeGateway
    /// Never answers: localstripe has no card whose answer comes late.
    let silent: SilentListener
    var gateway: any PaymentGateway { adapter }
    let currency = CurrencyCode("EUR")!
    let unknownCustomerId = "cus_gone"
    let unknownTransactionId = "pi_nope"
    var expectedScript: String { base.absoluteString + "/js.stripe.com/v3/" }
    var expectedOrigins: [String] { ["http://127.0.0.1:\(base.port!)"] }
    let approvedCard = (brand: "visa", last4: "4242", expMonth: 12, expYear: 2030)
    var decline: (amount: Money, code: String, retryable: Bool) { (money(900), "card_declined", true) }

    /// `python3 Tests/support/localstripe_server.py 0`, stopped when `body` returns.
    static func run(_ body: @Sendable (StripeHarness) async throws -> Void) async throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
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
        try await body(StripeHarness(base: base, adapter: adapter(base), silent: try SilentListener()))
    }

    static func adapter(_ base: URL, timeout: TimeInterval = 10) -> StripeGateway {
        StripeGateway(apiBase: base, jsURL: base.absoluteString + "/js.stripe.com/v3/", secretKey: secretKey,
                      publishableKey: "pk_test_portal", webhookSecret: webhookSecret, timeout: timeout)
    }

    /// What Stripe.js does in the browser for a SetupIntent: create the card method and confirm; for a
    /// card that needs authentication, confirm once more after the (fake) 3-D Secure dialog.
    static func confirmSetup(_ base: URL, clientSecret: String, number: String) async throws -> String {
        let intent = String(clientSecret.split(separator: "_secret_").first ?? "")
        let method = try await form(base, "payment_methods", [("type", "card"), ("card[number]", number), ("card[exp_month]", "12"),
                                                              ("card[exp_year]", "2030"), ("card[cvc]", "123")])
        let confirmed = try await form(base, "setup_intents/\(intent)/confirm", [("payment_method", try #require(method["id"] as? String))])
        if confirmed["status"] as? String == "requires_action" {
            _ = try await form(base, "setup_intents/\(intent)/confirm", [])
        }
        return intent
    }

    static func form(_ base: URL, _ path: String, _ fields: [(String, String)]) async throws -> [String: Any] {
        var request = URLRequest(url: base.appendingPathComponent("v1/" + path))
        request.httpMethod = "POST"
        // localstripe takes a secret key here; Stripe.js would use the publishable key.
        request.setValue("Bearer \(secretKey)", forHTTPHeaderField: "Authorization")
        request.setValue("application/x-www-form-urlencoded", forHTTPHeaderField: "Content-Type")
        request.httpBody = Data(fields.map { "\($0.0.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)=\($0.1)" }.joined(separator: "&").utf8)
        let (data, _) = try await URLSession.shared.data(for: request)
        return (try JSONSerialization.jsonObject(with: data) as? [String: Any]) ?? [:]
    }

    func browserResult(customer: String, card: ContractCard) async throws -> [String: String] {
        let number = switch card {
        case .approved, .late: "4242424242424242"
        case .declinedWhenCharged: "4000000000000341"
        case .customerAction: "4000002500003155"
        }
        let fields = try await adapter.hostedFields(customerId: customer)
        let secret = try #require(fields.parameters["setupIntentClientSecret"])
        return ["setup_intent": try await Self.confirmSetup(base, clientSecret: secret, number: number)]
    }

    func unanswered(customer: String) async throws -> (gateway: any PaymentGateway, request: GatewayChargeRequest, landed: Bool) {
        let card = try await save(customer: customer, .approved)
        return (Self.adapter(silent.url, timeout: 1),
                GatewayChargeRequest(customerId: customer, methodId: card.gatewayMethodId, amount: money(4_200), idempotencyKey: "pay_slow"), false)
    }

    func settle() async {}

    /// Stripe charges are captured at once, so what a void cancels is an intent still waiting for
    /// the customer to authenticate.
    func voidable(customer: String) async throws -> (id: String, key: String) {
        let card = try await save(customer: customer, .customerAction)
        let outcome = try await adapter.charge(GatewayChargeRequest(customerId: customer, methodId: card.gatewayMethodId, amount: money(300),
                                                                    idempotencyKey: "pay_v"))
        guard case .requiresAction(let id, _) = outcome else { throw PaymentGatewayError.rejected(code: "test", message: "not pending: \(outcome)") }
        return (id, "pay_v")
    }

    func webhook(transactionId: String, at: Date, forged: Bool) -> (headers: [String: String], body: [UInt8]) {
        let body = Array(#"{"id":"evt_1","type":"payment_intent.succeeded","created":\#(Int(at.timeIntervalSince1970)),"data":{"object":{"id":"\#(transactionId)"}}}"#.utf8)
        let signer = TimestampedSignature(header: "Stripe-Signature", secret: forged ? "whsec_attacker" : Self.webhookSecret)
        return (["Stripe-Signature": signer.sign(body: body, at: at)], body)
    }
}
