import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Gateways
import GRDB
import Hummingbird
import HummingbirdTesting
import Logging
import PortalCore
import Synchronization
import Testing

/// `/payment-methods` against the real sandbox gateway over HTTP on 127.0.0.1.
@Suite struct PaymentMethodsTests {
    static let settings = SandboxSettings(secretKey: "sk_sandbox_web", publicKey: "pk_sandbox_web", allowedOrigins: ["http://127.0.0.1"],
                                          lateResponseDelay: .seconds(3))
    static let webhookSecret = "whsec"

    /// The sandbox adapter, counting the calls that reach the gateway, and the sandbox's own engine
    /// (what tests read its charges from, as its webhook sender does).
    final class CountingGateway: PaymentGateway, @unchecked Sendable {
        let inner: SandboxGateway
        let engine: SandboxEngine
        let customerCalls = Mutex(0)
        let chargeCalls = Mutex(0)
        let refundCalls = Mutex(0)
        let voidCalls = Mutex(0)
        var name: String { inner.name }
        init(_ inner: SandboxGateway, engine: SandboxEngine) {
            self.inner = inner
            self.engine = engine
        }
        func ensureCustomer(existingId: String?, accountId: String, email: String?, name: String) async throws -> String {
            customerCalls.withLock { $0 += 1 }
            return try await inner.ensureCustomer(existingId: existingId, accountId: accountId, email: email, name: name)
        }
        func hostedFields(customerId: String) async throws -> HostedFieldsConfiguration { try await inner.hostedFields(customerId: customerId) }
        func completeSavedMethod(customerId: String, browserResult: [String: String]) async throws -> SavedMethodDetails {
            try await inner.completeSavedMethod(customerId: customerId, browserResult: browserResult)
        }
        func detachMethod(customerId: String, methodId: String) async throws { try await inner.detachMethod(customerId: customerId, methodId: methodId) }
        func charge(_ request: GatewayChargeRequest) async throws -> GatewayChargeOutcome {
            chargeCalls.withLock { $0 += 1 }
            return try await inner.charge(request)
        }
        func refund(transactionId: String, amount: Money, idempotencyKey: String) async throws -> GatewayRefund {
            refundCalls.withLock { $0 += 1 }
            return try await inner.refund(transactionId: transactionId, amount: amount, idempotencyKey: idempotencyKey)
        }
        func void(transactionId: String, idempotencyKey: String) async throws {
            voidCalls.withLock { $0 += 1 }
            try await inner.void(transactionId: transactionId, idempotencyKey: idempotencyKey)
        }
        func findTransaction(idempotencyKey: String) async throws -> GatewayTransaction? { try await inner.findTransaction(idempotencyKey: idempotencyKey) }
        func verifyWebhook(headers: [String: String], body: [UInt8], now: Date) throws -> GatewayWebhookEvent {
            try inner.verifyWebhook(headers: headers, body: body, now: now)
        }
    }

    /// The sandbox on a free port, and the portal configured to use it.
    func withGateway(_ body: @Sendable (Portal, any TestClientProtocol, URL) async throws -> Void) async throws {
        try await withCountingGateway { portal, client, base, _ in try await body(portal, client, base) }
    }

    /// `timeout` bounds the portal's calls to the sandbox, whose `timeout` test card answers after 3 s.
    func withCountingGateway(timeout: TimeInterval = 15, logs: LogCapture? = nil,
                             integration: (@Sendable (DatabasePool) -> any IntegrationControl)? = nil, _ body: @Sendable (Portal, any TestClientProtocol, URL, CountingGateway) async throws -> Void) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("pm-sandbox-\(UUID().uuidString)")
        let engine = try SandboxEngine(db: try PortalDatabase.open(path: directory.appendingPathComponent("sandbox.sqlite").path),
                                       clock: .system, fingerprintSecret: "fp")
        var logger = Logger(label: "sandbox")
        logger.logLevel = .error
        let sandbox = Application(router: SandboxAPI.router(engine: engine, settings: Self.settings),
                                  configuration: .init(address: .hostname("127.0.0.1", port: 0)), logger: logger)
        try await sandbox.test(.live) { sandboxClient in
            let base = URL(string: "http://127.0.0.1:\(try #require(sandboxClient.port))")!
            let gateway = CountingGateway(SandboxGateway(baseURL: base, secretKey: Self.settings.secretKey, publicKey: Self.settings.publicKey,
                                                         webhookSecret: Self.webhookSecret, timeout: timeout), engine: engine)
            try await withPortal(logs: logs, gateway: gateway, billingAddress: "billing@example.com", integration: integration) { portal, client in
                try await body(portal, client, base, gateway)
            }
        }
    }

    /// What the sandbox's hosted fields do in the browser.
    static func token(_ base: URL, number: String) async throws -> String {
        var request = URLRequest(url: base.appendingPathComponent("v1/tokens"))
        request.httpMethod = "POST"
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.httpBody = try JSONSerialization.data(withJSONObject: [
            "key": settings.publicKey, "number": number, "exp_month": 11, "exp_year": 2030, "cvc": "123",
        ])
        let (data, _) = try await URLSession.shared.data(for: request)
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        return try #require(object["id"] as? String, "no token: \(object)")
    }

    @Test func addSetDefaultAndRemoveCards() async throws {
        try await withGateway { portal, client, base in
            let acme = try await portal.account("Acme Widgets GmbH")
            let alice = try await portal.customer("alice@example.com", accounts: [acme])
            let browser = try await portal.signedIn(client, alice)

            let empty = try await browser.get("/payment-methods")
            #expect(empty.status == .ok && empty.contains("No saved cards yet."))
            let origin = base.absoluteString.hasSuffix("/") ? String(base.absoluteString.dropLast()) : base.absoluteString
            #expect(empty.body.contains("data-gateway-origin=\"\(origin)\"") && empty.body.contains("<script src=\"\(origin)/v1/hosted-fields.js\">"))
            // The page's policy admits exactly the gateway's origin for script, frame and connect; other pages admit none.
            let policy = try #require(empty.headers[.contentSecurityPolicy])
            #expect(policy.contains("script-src 'self' \(origin)") && policy.contains("frame-src 'self' \(origin)")
                    && policy.contains("connect-src 'self' \(origin)") && policy.contains("frame-ancestors 'none'"))
            let invoices = try await browser.get("/invoices")
            #expect(invoices.headers[.contentSecurityPolicy]?.contains(origin) == false)

            let visa = try await Self.token(base, number: "4242424242424242")
            let saved = try await browser.post("/payment-methods", ["token": visa, "billing_name": "Alice Andersen", "billing_postcode": "80331"])
            #expect(saved.status == .seeOther && saved.location == "/payment-methods")
            let mastercard = try await Self.token(base, number: "5555555555554444")
            _ = try await browser.get("/payment-methods")
            try await browser.post("/payment-methods", ["token": mastercard, "billing_name": "Alice Andersen", "billing_postcode": "80331"])

            let list = try await browser.get("/payment-methods")
            #expect(list.contains("Visa •••• 4242 default") || list.body.contains("Visa •••• 4242 <span class=\"badge\">default</span>"))
            #expect(list.contains("Mastercard •••• 4444") && list.contains("11/2030"))
            let methods = try await portal.services.paymentMethods.list(CustomerScope(userId: alice.id, accountId: acme.id))
            let visaId = try #require(methods.first { $0.last4 == "4242" }?.id)
            let mcId = try #require(methods.first { $0.last4 == "4444" }?.id)
            #expect(methods.first { $0.id == visaId }?.isDefault == true)

            try await browser.post("/payment-methods/\(mcId)/default")
            #expect(try await portal.services.paymentMethods.list(CustomerScope(userId: alice.id, accountId: acme.id)).first { $0.isDefault }?.id == mcId)

            let confirm = try await browser.get("/payment-methods/\(mcId)/remove")
            #expect(confirm.status == .ok && confirm.contains("Remove Mastercard •••• 4444?"))
            let removed = try await browser.post("/payment-methods/\(mcId)/remove")
            #expect(removed.status == .seeOther)
            let after = try await portal.services.paymentMethods.list(CustomerScope(userId: alice.id, accountId: acme.id))
            #expect(after.map(\.id) == [visaId] && after.first?.isDefault == true)

            let actions = try await portal.audit("payment_method.add").count + portal.audit("payment_method.set_default").count
                + portal.audit("payment_method.remove").count
            #expect(actions == 4)
            let billingMail = try await portal.mail(to: "billing@example.com")
            #expect(billingMail.count == 1 && billingMail.first?.message.textBody.contains("Mastercard •••• 4444") == true)

            // Nothing like a card number was stored.
            let stored = try await portal.database.read { db in
                try String.fetchAll(db, sql: "SELECT brand || last4 || gateway_method_id || coalesce(fingerprint, '') FROM payment_methods")
            }
            #expect(!stored.joined().contains("4242424242424242"))
        }
    }

    @Test func anotherCustomersCardIsNotFoundAndTokensAreValidated() async throws {
        try await withGateway { portal, client, base in
            let acme = try await portal.account("Acme")
            let bakery = try await portal.account("Bakery")
            let alice = try await portal.customer("alice@example.com", accounts: [acme])
            let bob = try await portal.customer("bob@example.com", accounts: [bakery])
            let bobBrowser = try await portal.signedIn(client, bob)
            _ = try await bobBrowser.get("/payment-methods")
            try await bobBrowser.post("/payment-methods", ["token": try await Self.token(base, number: "4242424242424242"),
                                                           "billing_name": "Bob", "billing_postcode": "90-001"])
            let bobsCard = try #require(try await portal.services.paymentMethods.list(CustomerScope(userId: bob.id, accountId: bakery.id)).first)

            let browser = try await portal.signedIn(client, alice)
            _ = try await browser.get("/payment-methods")
            #expect(try await browser.get("/payment-methods/\(bobsCard.id)/remove").status == .notFound)
            #expect(try await browser.post("/payment-methods/\(bobsCard.id)/remove").status == .notFound)
            #expect(try await browser.post("/payment-methods/\(bobsCard.id)/default").status == .notFound)
            #expect(try await portal.services.paymentMethods.list(CustomerScope(userId: bob.id, accountId: bakery.id)).count == 1)

            _ = try await browser.get("/payment-methods")
            let forged = try await browser.post("/payment-methods", ["token": "tok_forged", "billing_name": "A", "billing_postcode": "1"])
            #expect(forged.status == .unprocessableContent && forged.contains("could not be saved"))
            let missing = try await browser.post("/payment-methods", ["token": "", "billing_name": "A", "billing_postcode": "1"])
            #expect(missing.status == .unprocessableContent && missing.contains("secure card form"))
            // A card number typed into our own form is refused and never stored.
            let typed = try await browser.post("/payment-methods", ["token": "", "billing_name": "4242 4242 4242 4242", "billing_postcode": "1"])
            #expect(typed.status == .badRequest && typed.contains("That looks like a card number"))
            #expect(try await portal.services.paymentMethods.list(CustomerScope(userId: alice.id, accountId: acme.id)).isEmpty)
        }
    }

    @Test func theGatewayCustomerIsCreatedOnceAndThenReused() async throws {
        try await withCountingGateway { portal, client, _, gateway in
            let acme = try await portal.account("Acme")
            let alice = try await portal.customer("alice@example.com", accounts: [acme])
            let browser = try await portal.signedIn(client, alice)
            for _ in 0..<3 { #expect(try await browser.get("/payment-methods").status == .ok) }
            #expect(gateway.customerCalls.withLock { $0 } == 1)
            let stored = try await portal.database.read { try Int.fetchOne($0, sql: "SELECT count(*) FROM gateway_customers") }
            #expect(stored == 1)
        }
    }

    @Test func withoutAGatewayThePageSaysSo() async throws {
        try await withPortal { portal, client in
            let alice = try await portal.customer("alice@example.com")
            let browser = try await portal.signedIn(client, alice)
            let page = try await browser.get("/payment-methods")
            #expect(page.status == .ok && page.contains("Card payments are not set up for this portal yet."))
            #expect(page.headers[.contentSecurityPolicy]?.contains("script-src 'self';") == true)
        }
    }
}
