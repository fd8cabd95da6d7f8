import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import PortalCore
import Synchronization
import Testing
@testable import Gateways

/// The sandbox sends signed events to a real HTTP receiver on 127.0.0.1, and the portal's adapter
/// verifies them.
@Suite struct SandboxWebhookDeliveryTests {
    final class Received: Sendable {
        let events = Mutex<[(body: [UInt8], signature: String?)]>([])
    }

    @Test func chargesAndRefundsArriveSignedAndVerify() async throws {
        let received = Received()
        let receiver = Router()
        receiver.post("hooks") { request, _ -> HTTPResponse.Status in
            var request = request
            let body = try await request.collectBody(upTo: 65_536)
            received.events.withLock { $0.append((Array(body.readableBytesView), request.headers[HTTPField.Name("Sandbox-Signature")!])) }
            return .ok
        }
        let logger = { var logger = Logger(label: "webhooks"); logger.logLevel = .error; return logger }()
        let receiverApp = Application(router: receiver, configuration: .init(address: .hostname("127.0.0.1", port: 0)), logger: logger)
        try await receiverApp.test(.live) { receiverClient in
            let hookURL = URL(string: "http://127.0.0.1:\(try #require(receiverClient.port))/hooks")!
            let settings = SandboxSettings(secretKey: "sk", publicKey: "pk",
                                           webhooks: SandboxWebhookSender(url: hookURL, secret: "whsec_delivery", logger: logger))
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("hooks-\(UUID().uuidString)")
            let engine = try SandboxEngine(db: try PortalDatabase.open(path: directory.appendingPathComponent("s.sqlite").path),
                                           clock: .system, fingerprintSecret: "fp")
            let sandbox = Application(router: SandboxAPI.router(engine: engine, settings: settings),
                                      configuration: .init(address: .hostname("127.0.0.1", port: 0)), logger: logger)
            try await sandbox.test(.live) { sandboxClient in
                let base = URL(string: "http://127.0.0.1:\(try #require(sandboxClient.port))")!
                let gateway = SandboxGateway(baseURL: base, secretKey: "sk", publicKey: "pk", webhookSecret: "whsec_delivery")
                let customer = try await gateway.ensureCustomer(existingId: nil, accountId: "acc", email: nil, name: "Acme")
                let token = try engine.tokenize(SandboxCardInput(number: "4242424242424242", expMonth: 1, expYear: 2032, cvc: "123"))
                let card = try await gateway.completeSavedMethod(customerId: customer, browserResult: ["token": token.token])
                guard case .approved(let charge, _) = try await gateway.charge(GatewayChargeRequest(
                    customerId: customer, methodId: card.gatewayMethodId, amount: Money(900, CurrencyCode("EUR")!), idempotencyKey: "k")) else {
                    Issue.record("not approved"); return
                }
                _ = try await gateway.refund(transactionId: charge, amount: Money(900, CurrencyCode("EUR")!), idempotencyKey: "r")

                let deadline = ContinuousClock.now + .seconds(10)
                while received.events.withLock({ $0.count }) < 2 && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
                let events = received.events.withLock { $0 }
                #expect(events.count == 2)
                let kinds = try events.map { event in
                    try gateway.verifyWebhook(headers: ["Sandbox-Signature": event.signature ?? ""], body: event.body, now: Date())
                }
                #expect(Set(kinds.map(\.kind)) == [.chargeSucceeded, .chargeRefunded])
                #expect(kinds.allSatisfy { $0.transactionId == charge && $0.reference == "k" })
                // Refund events carry the charge's refunded total, so they can be applied in any order.
                #expect(kinds.first { $0.kind == .chargeRefunded }?.amountRefunded == Money(900, CurrencyCode("EUR")!))
                // Tampered in transit: refused.
                #expect(throws: PaymentGatewayError.invalidWebhookSignature) {
                    try gateway.verifyWebhook(headers: ["Sandbox-Signature": events[0].signature ?? ""], body: events[0].body + [0x0A], now: Date())
                }
            }
        }
    }
}
