import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Hummingbird
import HummingbirdTesting
import Logging
import PortalCore
import Testing
@testable import Gateways

/// The sandbox gateway on a free loopback port, with a fresh SQLite file.
struct SandboxHarness: ContractHarness {
    static let settings = SandboxSettings(secretKey: "sk_sandbox_test", publicKey: "pk_sandbox_test", lateResponseDelay: .seconds(3))
    static let webhookSecret = "whsec_test"

    let base: URL
    let adapter: SandboxGateway
    var gateway: any PaymentGateway { adapter }
    let currency = CurrencyCode("EUR")!
    let unknownCustomerId = "cus_gone"
    let unknownTransactionId = "ch_nope"
    var expectedScript: String { origin + "/v1/hosted-fields.js" }
    var expectedOrigins: [String] { [origin] }
    let approvedCard = (brand: "visa", last4: "4242", expMonth: 12, expYear: 2031)
    var decline: (amount: Money, code: String, retryable: Bool) { (money(500), "insufficient_funds", true) }
    var origin: String { base.absoluteString.hasSuffix("/") ? String(base.absoluteString.dropLast()) : base.absoluteString }

    static func run(_ body: @Sendable (SandboxHarness) async throws -> Void) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sandbox-http-\(UUID().uuidString)")
        let engine = try SandboxEngine(db: try PortalDatabase.open(path: directory.appendingPathComponent("sandbox.sqlite").path),
                                       clock: .system, fingerprintSecret: "fp")
        var logger = Logger(label: "sandbox-tests")
        logger.logLevel = .error
        let app = Application(router: SandboxAPI.router(engine: engine, settings: settings),
                              configuration: .init(address: .hostname("127.0.0.1", port: 0)), logger: logger)
        try await app.test(.live) { client in
            let base = URL(string: "http://127.0.0.1:\(try #require(client.port))")!
            try await body(SandboxHarness(base: base, adapter: Self.adapter(base)))
        }
    }

    static func adapter(_ base: URL, timeout: TimeInterval = 10, secretKey: String = settings.secretKey) -> SandboxGateway {
        SandboxGateway(baseURL: base, secretKey: secretKey, publicKey: settings.publicKey, webhookSecret: webhookSecret, timeout: timeout)
    }

    /// What the hosted fields do in the browser: post the card to the gateway's own origin.
    static func tokenize(_ base: URL, number: String, cvc: String = "123", key: String = settings.publicKey) async throws -> (Int, [String: Any]) {
        var request = URLRequest(url: base.appendingPathComponent("v1/tokens"))
        request.httpMethod = "POST"
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.httpBody = try JSONSerialization.data(withJSONObject: [
            "key": key, "number": number, "exp_month": 12, "exp_year": 2031, "cvc": cvc, "postal_code": "80331",
        ])
        let (data, response) = try await URLSession.shared.data(for: request)
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] ?? [:])
    }

    func save(customer: String, number: String) async throws -> SavedMethodDetails {
        let (status, token) = try await Self.tokenize(base, number: number)
        try #require(status == 200, "tokenize answered \(status) \(token)")
        return try await adapter.completeSavedMethod(customerId: customer, browserResult: ["token": try #require(token["id"] as? String)])
    }

    func browserResult(customer: String, card: ContractCard) async throws -> [String: String] {
        let number = switch card {
        case .approved: "4242424242424242"
        case .declinedWhenCharged: "4000000000009995"
        case .customerAction: "4000002500003155"
        case .late: "4000000000000259"
        }
        let (status, token) = try await Self.tokenize(base, number: number)
        try #require(status == 200, "tokenize answered \(status) \(token)")
        return ["token": try #require(token["id"] as? String)]
    }

    func unanswered(customer: String) async throws -> (gateway: any PaymentGateway, request: GatewayChargeRequest, landed: Bool) {
        let slow = try await save(customer: customer, .late)
        return (Self.adapter(base, timeout: 1),
                GatewayChargeRequest(customerId: customer, methodId: slow.gatewayMethodId, amount: money(4_200), idempotencyKey: "pay_slow"), true)
    }

    func settle() async {}

    func webhook(transactionId: String, at: Date, forged: Bool) -> (headers: [String: String], body: [UInt8]) {
        let body = Array(#"{"id":"evt_1","type":"charge.succeeded","created":\#(Int(at.timeIntervalSince1970)),"data":{"charge":"\#(transactionId)"}}"#.utf8)
        let signer = SandboxWebhookSignature.make(secret: forged ? "attacker" : Self.webhookSecret)
        return (["Sandbox-Signature": signer.sign(body: body, at: at)], body)
    }
}
