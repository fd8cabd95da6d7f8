import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Hummingbird
import HummingbirdTesting
import PortalCore
import Testing
@testable import Gateways

/// The contract every adapter must meet, run over real HTTP on 127.0.0.1. Today: the sandbox.
@Suite struct GatewayContractTests {
    static let settings = SandboxSettings(secretKey: "sk_sandbox_test", publicKey: "pk_sandbox_test", lateResponseDelay: .seconds(3))
    let eur = CurrencyCode("EUR")!

    /// Runs the sandbox gateway on a free loopback port and hands `body` an adapter pointed at it.
    func withSandbox(timeout: TimeInterval = 10, _ body: @Sendable (SandboxGateway, URL) async throws -> Void) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sandbox-http-\(UUID().uuidString)")
        let engine = try SandboxEngine(db: try PortalDatabase.open(path: directory.appendingPathComponent("sandbox.sqlite").path),
                                       clock: .system, fingerprintSecret: "fp")
        var logger = Logger(label: "sandbox-tests")
        logger.logLevel = .error
        let app = Application(router: SandboxAPI.router(engine: engine, settings: Self.settings),
                              configuration: .init(address: .hostname("127.0.0.1", port: 0)), logger: logger)
        try await app.test(.live) { client in
            let base = URL(string: "http://127.0.0.1:\(try #require(client.port))")!
            let gateway = SandboxGateway(baseURL: base, secretKey: Self.settings.secretKey, publicKey: Self.settings.publicKey,
                                         webhookSecret: "whsec_test", timeout: timeout)
            try await body(gateway, base)
        }
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

    static func save(_ gateway: SandboxGateway, _ base: URL, customer: String, number: String) async throws -> SavedMethodDetails {
        let (status, token) = try await tokenize(base, number: number)
        try #require(status == 200, "tokenize answered \(status) \(token)")
        return try await gateway.completeSavedMethod(customerId: customer, browserResult: ["token": try #require(token["id"] as? String)])
    }

    @Test func savesACardAndReusesTheCustomer() async throws {
        try await withSandbox { gateway, base in
            let customer = try await gateway.ensureCustomer(existingId: nil, accountId: "acc_1", email: "a@example.com", name: "Acme")
            #expect(try await gateway.ensureCustomer(existingId: customer, accountId: "acc_1", email: nil, name: "Acme") == customer)
            let fresh = try await gateway.ensureCustomer(existingId: "cus_gone", accountId: "acc_1", email: nil, name: "Acme")
            #expect(fresh != "cus_gone" && fresh.hasPrefix("cus_"))
            let method = try await Self.save(gateway, base, customer: customer, number: "4242424242424242")
            #expect(method.brand == "visa" && method.last4 == "4242" && method.expMonth == 12 && method.expYear == 2031)
            let fields = try await gateway.hostedFields(customerId: customer)
            #expect(fields.origins == [base.absoluteString.hasSuffix("/") ? String(base.absoluteString.dropLast()) : base.absoluteString])
            #expect(fields.parameters["publicKey"] == Self.settings.publicKey && fields.scriptURL.hasSuffix("/v1/hosted-fields.js"))
            await #expect(throws: PaymentGatewayError.self) { try await gateway.completeSavedMethod(customerId: customer, browserResult: [:]) }
        }
    }

    @Test func theHostedFieldsRefuseBadCardsAndBadKeys() async throws {
        try await withSandbox { _, base in
            let (badNumber, body) = try await Self.tokenize(base, number: "4242424242424241")
            #expect(badNumber == 402 && ((body["error"] as? [String: Any])?["message"] as? String) == "Your card number is invalid.")
            let (badKey, _) = try await Self.tokenize(base, number: "4242424242424242", key: "pk_other")
            #expect(badKey == 401)
        }
    }

    @Test func chargesApprovedDeclinedAndRequiringAction() async throws {
        try await withSandbox { gateway, base in
            let customer = try await gateway.ensureCustomer(existingId: nil, accountId: "acc_1", email: nil, name: "Acme")
            let good = try await Self.save(gateway, base, customer: customer, number: "4242424242424242")
            let request = GatewayChargeRequest(customerId: customer, methodId: good.gatewayMethodId, amount: Money(1_999, eur), idempotencyKey: "pay_a")
            guard case .approved(let id, let auth) = try await gateway.charge(request) else { Issue.record("not approved"); return }
            #expect(id.hasPrefix("ch_") && auth?.count == 6)
            // The same key again: the same charge, not a second one.
            #expect(try await gateway.charge(request) == .approved(transactionId: id, authorizationCode: auth))
            var other = request
            other.amount = Money(2_000, eur)
            await #expect(throws: PaymentGatewayError.idempotencyConflict) { try await gateway.charge(other) }

            let insufficient = try await Self.save(gateway, base, customer: customer, number: "4000000000009995")
            let declined = try await gateway.charge(GatewayChargeRequest(customerId: customer, methodId: insufficient.gatewayMethodId,
                                                                         amount: Money(500, eur), idempotencyKey: "pay_b"))
            #expect(declined == .declined(code: "insufficient_funds", message: "Your card has insufficient funds.", retryable: true))
            let stolen = try await Self.save(gateway, base, customer: customer, number: "4000000000009979")
            guard case .declined(_, _, let retryable) = try await gateway.charge(GatewayChargeRequest(
                customerId: customer, methodId: stolen.gatewayMethodId, amount: Money(500, eur), idempotencyKey: "pay_c")) else {
                Issue.record("stolen card not declined"); return
            }
            #expect(!retryable)

            let threeDS = try await Self.save(gateway, base, customer: customer, number: "4000002500003155")
            guard case .requiresAction(let pending, let secret) = try await gateway.charge(GatewayChargeRequest(
                customerId: customer, methodId: threeDS.gatewayMethodId, amount: Money(700, eur), idempotencyKey: "pay_d")) else {
                Issue.record("3-D Secure card did not require action"); return
            }
            #expect(secret.contains("_secret_"))
            #expect(try await gateway.findTransaction(idempotencyKey: "pay_d")?.status == .requiresAction)
            _ = pending
        }
    }

    @Test func aTimeoutIsUnknownNeverDeclinedAndTheLookupSettlesIt() async throws {
        try await withSandbox(timeout: 1) { gateway, base in
            let customer = try await gateway.ensureCustomer(existingId: nil, accountId: "acc_1", email: nil, name: "Acme")
            let slow = try await Self.save(gateway, base, customer: customer, number: "4000000000000259")
            let outcome = try await gateway.charge(GatewayChargeRequest(customerId: customer, methodId: slow.gatewayMethodId,
                                                                        amount: Money(4_200, eur), idempotencyKey: "pay_slow"))
            guard case .unknown = outcome else { Issue.record("expected unknown, got \(outcome)"); return }
            let found = try #require(try await gateway.findTransaction(idempotencyKey: "pay_slow"))
            #expect(found.status == .succeeded && found.amount == Money(4_200, eur))
            #expect(try await gateway.findTransaction(idempotencyKey: "pay_never_sent") == nil)
        }
    }

    @Test func refundsAndVoids() async throws {
        try await withSandbox { gateway, base in
            let customer = try await gateway.ensureCustomer(existingId: nil, accountId: "acc_1", email: nil, name: "Acme")
            let card = try await Self.save(gateway, base, customer: customer, number: "5555555555554444")
            guard case .approved(let charged, _) = try await gateway.charge(GatewayChargeRequest(
                customerId: customer, methodId: card.gatewayMethodId, amount: Money(10_000, eur), idempotencyKey: "pay_r")) else {
                Issue.record("not approved"); return
            }
            let partial = try await gateway.refund(transactionId: charged, amount: Money(2_500, eur), idempotencyKey: "ref_1")
            #expect(try await gateway.refund(transactionId: charged, amount: Money(2_500, eur), idempotencyKey: "ref_1") == partial)
            #expect(try await gateway.findTransaction(idempotencyKey: "pay_r")?.status == .partiallyRefunded)
            await #expect(throws: PaymentGatewayError.self) {
                try await gateway.refund(transactionId: charged, amount: Money(7_501, eur), idempotencyKey: "ref_2")
            }
            guard case .approved(let second, _) = try await gateway.charge(GatewayChargeRequest(
                customerId: customer, methodId: card.gatewayMethodId, amount: Money(300, eur), idempotencyKey: "pay_v")) else {
                Issue.record("not approved"); return
            }
            try await gateway.void(transactionId: second, idempotencyKey: "void_1")
            try await gateway.void(transactionId: second, idempotencyKey: "void_2")
            #expect(try await gateway.findTransaction(idempotencyKey: "pay_v")?.status == .voided)
            await #expect(throws: PaymentGatewayError.notFound) { try await gateway.void(transactionId: "ch_nope", idempotencyKey: "void_3") }
        }
    }

    @Test func theServerAPINeedsTheSecretKey() async throws {
        try await withSandbox { _, base in
            let wrong = SandboxGateway(baseURL: base, secretKey: "sk_wrong", publicKey: "pk", webhookSecret: "x")
            await #expect(throws: PaymentGatewayError.rejected(code: "invalid_api_key", message: "Invalid API key.")) {
                try await wrong.ensureCustomer(existingId: nil, accountId: "acc", email: nil, name: "x")
            }
        }
    }

    @Test func webhooksValidForgedAndStale() async throws {
        try await withSandbox { gateway, _ in
            let signer = SandboxWebhookSignature.make(secret: "whsec_test")
            let now = Date()
            let body = Array(#"{"id":"evt_1","type":"charge.succeeded","created":1795000000,"data":{"charge":"ch_1"}}"#.utf8)
            let event = try gateway.verifyWebhook(headers: ["sandbox-signature": signer.sign(body: body, at: now)], body: body, now: now)
            #expect(event.id == "evt_1" && event.kind == .chargeSucceeded && event.transactionId == "ch_1")
            let forged = SandboxWebhookSignature.make(secret: "attacker").sign(body: body, at: now)
            #expect(throws: PaymentGatewayError.invalidWebhookSignature) {
                try gateway.verifyWebhook(headers: ["Sandbox-Signature": forged], body: body, now: now)
            }
            let old = signer.sign(body: body, at: now.addingTimeInterval(-600))
            #expect(throws: PaymentGatewayError.staleWebhook) { try gateway.verifyWebhook(headers: ["Sandbox-Signature": old], body: body, now: now) }
        }
    }
}

import Logging
