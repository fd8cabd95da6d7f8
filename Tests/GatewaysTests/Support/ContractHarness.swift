import Foundation
import PortalCore
import Testing
@testable import Gateways

/// The gateways the shared contract (`GatewayContractTests`) runs against, each over real HTTP on
/// 127.0.0.1: the sandbox's own listener, localstripe, and the local Authorize.Net.
enum ContractGateway: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case sandbox, stripe, authorizeNet

    var testDescription: String { rawValue }

    /// Not applicable to Authorize.Net: a charge against a saved CIM profile has no step where the
    /// customer must act (no 3-D Secure challenge); it is approved, declined, or held for review.
    static let withCustomerAction: [ContractGateway] = [.sandbox, .stripe]

    /// Not applicable to localstripe, which does not enforce the refund limit (real Stripe does).
    static let enforcingRefundLimit: [ContractGateway] = [.sandbox, .authorizeNet]

    /// Not applicable to localstripe, which charges a detached card, and to Stripe, where what a void
    /// cancels (an intent awaiting the customer) cannot be cancelled twice.
    static let refusingRemovedCardsAndRepeatingVoids: [ContractGateway] = [.sandbox, .authorizeNet]

    func run(_ body: @Sendable (any ContractHarness) async throws -> Void) async throws {
        switch self {
        case .sandbox: try await SandboxHarness.run(body)
        case .stripe: try await StripeHarness.run(body)
        case .authorizeNet: try await AuthorizeNetHarness.run(body)
        }
    }
}

enum ContractCard: Sendable {
    case approved
    /// Saves fine, declines when charged.
    case declinedWhenCharged
    /// Needs the customer to authenticate (3-D Secure) when charged.
    case customerAction
    /// Charged, but the answer comes too late for the adapter (where the gateway can be made to do that).
    case late
}

/// One gateway under test: its adapter, and what the browser and the gateway's own tooling do
/// around it, so the contract checks can be written once.
protocol ContractHarness: Sendable {
    var gateway: any PaymentGateway { get }
    var currency: CurrencyCode { get }
    /// An id of the gateway's customer format that does not exist.
    var unknownCustomerId: String { get }
    var unknownTransactionId: String { get }
    /// What `hostedFields` must answer.
    var expectedScript: String { get }
    var expectedOrigins: [String] { get }
    /// Brand, last 4 and expiry the saved approved card shows.
    var approvedCard: (brand: String, last4: String, expMonth: Int, expYear: Int) { get }
    /// The amount that gets the decline, and what the decline says.
    var decline: (amount: Money, code: String, retryable: Bool) { get }
    /// What the browser does with the hosted fields for `card`, ending in what it hands the portal.
    func browserResult(customer: String, card: ContractCard) async throws -> [String: String]
    /// A charge whose answer is lost, the adapter that sends it (with a short timeout), and whether
    /// the gateway made the charge anyway.
    func unanswered(customer: String) async throws -> (gateway: any PaymentGateway, request: GatewayChargeRequest, landed: Bool)
    /// Brings charges to where they can be refunded (Authorize.Net refunds settled charges only).
    func settle() async
    /// A transaction the gateway lets us void, and the key it was charged with (by default an approved charge).
    func voidable(customer: String) async throws -> (id: String, key: String)
    /// A signed "charge succeeded" event for `transactionId`, dated `at`; `forged` signs it with another secret.
    func webhook(transactionId: String, at: Date, forged: Bool) -> (headers: [String: String], body: [UInt8])
}

extension ContractHarness {
    func money(_ minorUnits: Int64) -> Money { Money(minorUnits, currency) }

    func save(customer: String, _ card: ContractCard) async throws -> SavedMethodDetails {
        try await gateway.completeSavedMethod(customerId: customer, browserResult: try await browserResult(customer: customer, card: card))
    }

    func customer(_ account: String = "acc_contract") async throws -> String {
        try await gateway.ensureCustomer(existingId: nil, accountId: account, email: "billing@example.com", name: "Acme")
    }

    /// Saves `card` for `customer` and charges it.
    func charge(_ card: ContractCard, customer: String? = nil, amount: Money, key: String) async throws -> GatewayChargeOutcome {
        let customer = if let customer { customer } else { try await self.customer() }
        let saved = try await save(customer: customer, card)
        return try await gateway.charge(GatewayChargeRequest(customerId: customer, methodId: saved.gatewayMethodId, amount: amount, idempotencyKey: key))
    }

    /// Saves the approved card and charges it; the transaction id.
    func approvedCharge(customer: String, amount: Int64, key: String) async throws -> String {
        let outcome = try await charge(.approved, customer: customer, amount: money(amount), key: key)
        guard case .approved(let id, _) = outcome else { throw PaymentGatewayError.rejected(code: "test", message: "not approved: \(outcome)") }
        return id
    }

    func voidable(customer: String) async throws -> (id: String, key: String) {
        (try await approvedCharge(customer: customer, amount: 300, key: "pay_v"), "pay_v")
    }
}
