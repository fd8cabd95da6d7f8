import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import PortalCore
import Testing
@testable import Gateways

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

    /// What AcceptUI does in the browser: send the card to Authorize.Net with the public client key
    /// (`securePaymentContainerRequest`) and hand the page the opaque token, plus the expiry it shows
    /// as "MM/YY" (`encryptedCardData.expDate`), which the page splits.
    static func acceptToken(_ endpoint: URL, number: String, expiry: String = "1231") async throws -> [String: String] {
        let body: OrderedJSON = ["securePaymentContainerRequest": [
            "merchantAuthentication": ["name": .string(FakeAuthorizeNet.loginID), "clientKey": .string(FakeAuthorizeNet.clientKey)],
            "refId": "12345",
            "data": ["type": "TOKEN", "id": .string(UUID().uuidString.lowercased()),
                     "token": ["cardNumber": .string(number), "expirationDate": .string(expiry), "cardCode": "123"]],
        ]]
        var request = URLRequest(url: endpoint)
        request.httpMethod = "POST"
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.httpBody = Data(body.serialized())
        let (data, _) = try await URLSession.shared.data(for: request)
        let answer = try OrderedJSON.parse(data)
        let opaque = try #require(answer["opaqueData"], "no token: \(answer)")
        return ["data_descriptor": try #require(opaque["dataDescriptor"]?.text), "data_value": try #require(opaque["dataValue"]?.text),
                "exp_month": String(expiry.prefix(2)), "exp_year": String(expiry.suffix(2))]
    }

    func browserResult(customer: String, card: ContractCard) async throws -> [String: String] {
        let number = switch card {
        case .approved, .customerAction: "4111111111111111"
        case .declinedWhenCharged: "4222222222222"
        case .late: FakeAuthorizeNet.lateCard
        }
        return try await Self.acceptToken(endpoint, number: number)
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
