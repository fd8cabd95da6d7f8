import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import PortalCore
import Testing
@testable import Gateways
import GatewayFakes

/// The Authorize.Net adapter against the local fake (`FakeAuthorizeNet`).
struct AuthorizeNetHarness: ContractHarness {
    let endpoint: URL
    let fake: FakeAuthorizeNet
    let adapter: AuthorizeNetGateway
    var gateway: any PaymentGateway { adapter }
    let currency = CurrencyCode("USD")!
    let unknownCustomerId = "900000001"
    let unknownTransactionId = "900000002"
    var expectedScript: String { Self.acceptUI(endpoint) }
    var expectedOrigins: [String] { [LinkBuilder.origin(of: endpoint.absoluteString)] }
    let approvedCard = (brand: "visa", last4: "1111", expMonth: 12, expYear: 2031)
    /// The sandbox's rule for card 4222222222222: the amount in dollars is the response reason code.
    var decline: (amount: Money, code: String, retryable: Bool) { (money(200), "card_declined", true) }

    static func run(_ body: @Sendable (AuthorizeNetHarness) async throws -> Void) async throws {
        try await FakeAuthorizeNet.run { fake, endpoint in
            try await body(AuthorizeNetHarness(endpoint: endpoint, fake: fake, adapter: adapter(endpoint)))
        }
    }

    static func acceptUI(_ endpoint: URL) -> String { LinkBuilder.origin(of: endpoint.absoluteString) + "/v3/AcceptUI.js" }

    static func adapter(_ endpoint: URL, timeout: TimeInterval = 10, transactionKey: String = FakeAuthorizeNet.transactionKey) -> AuthorizeNetGateway {
        AuthorizeNetGateway(endpoint: endpoint, acceptUIURL: acceptUI(endpoint), apiLoginID: FakeAuthorizeNet.loginID, transactionKey: transactionKey,
                            clientKey: FakeAuthorizeNet.clientKey, signatureKey: FakeAuthorizeNet.signatureKey, timeout: timeout)
    }

    func browserResult(customer: String, card: ContractCard) async throws -> [String: String] {
        let number = switch card {
        case .approved, .customerAction: "4111111111111111"
        case .declinedWhenCharged: "4222222222222"
        case .late: FakeAuthorizeNet.lateCard
        }
        return try await FakeAuthorizeNet.acceptUIToken(endpoint, number: number)
    }

    func unanswered(customer: String) async throws -> (gateway: any PaymentGateway, request: GatewayChargeRequest, landed: Bool) {
        let slow = try await save(customer: customer, .late)
        return (Self.adapter(endpoint, timeout: 1),
                GatewayChargeRequest(customerId: customer, methodId: slow.gatewayMethodId, amount: money(4_200), idempotencyKey: "pay_slow"), true)
    }

    func settle() async { await fake.settle() }

    /// Authorize.Net's own sample notification, for `transactionId`, dated `at`.
    func webhook(transactionId: String, at: Date, forged: Bool) -> (headers: [String: String], body: [UInt8]) {
        let sample = FakeAuthorizeNet.fixture("webhook-authcapture")
        let event = sample.setting("eventDate", .string(AuthorizeNetTime.text(at) + ".0080095Z"))
            .setting("payload", (sample["payload"] ?? [:]).setting("id", .string(transactionId)))
        let body = event.serialized()
        let signer = AuthorizeNetWebhookSignature(signatureKey: forged ? String(FakeAuthorizeNet.signatureKey.reversed()) : FakeAuthorizeNet.signatureKey)
        return (["X-ANET-Signature": signer.sign(body: body)], body)
    }
}
