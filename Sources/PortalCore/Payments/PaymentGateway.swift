import Foundation

/// What the browser needs to show a gateway's hosted card fields. Card numbers are typed into the
/// gateway's own frame and never reach the portal.
public struct HostedFieldsConfiguration: Sendable, Equatable {
    /// Script the page loads from the gateway's origin.
    public var scriptURL: String
    /// Origins the page's Content-Security-Policy must admit (script, frame, connect).
    public var origins: [String]
    /// Publishable values for the browser (public key, Stripe SetupIntent client secret, …).
    public var parameters: [String: String]

    public init(scriptURL: String, origins: [String], parameters: [String: String]) {
        self.scriptURL = scriptURL
        self.origins = origins
        self.parameters = parameters
    }
}

/// A saved card as the portal keeps it: a gateway token and display details, never the number.
public struct SavedMethodDetails: Sendable, Equatable {
    public var gatewayMethodId: String
    public var brand: String
    public var last4: String
    public var expMonth: Int
    public var expYear: Int
    public var fingerprint: String?

    public init(gatewayMethodId: String, brand: String, last4: String, expMonth: Int, expYear: Int, fingerprint: String?) {
        self.gatewayMethodId = gatewayMethodId
        self.brand = brand
        self.last4 = last4
        self.expMonth = expMonth
        self.expYear = expYear
        self.fingerprint = fingerprint
    }
}

public struct GatewayChargeRequest: Sendable, Equatable {
    public var customerId: String
    public var methodId: String
    public var amount: Money
    /// Ours, recorded before the call; the gateway must treat a repeat as the same charge.
    public var idempotencyKey: String
    public var metadata: [String: String]

    public init(customerId: String, methodId: String, amount: Money, idempotencyKey: String, metadata: [String: String] = [:]) {
        self.customerId = customerId
        self.methodId = methodId
        self.amount = amount
        self.idempotencyKey = idempotencyKey
        self.metadata = metadata
    }
}

/// A charge's outcome. `unknown` means the answer was lost (timeout, dropped connection): it is
/// never reported as a decline, because the card may have been charged; reconciliation settles it.
public enum GatewayChargeOutcome: Sendable, Equatable {
    case approved(transactionId: String, authorizationCode: String?)
    case declined(code: String, message: String, retryable: Bool)
    case requiresAction(transactionId: String, clientSecret: String)
    case unknown(reason: String)
}

public struct GatewayRefund: Sendable, Equatable {
    public var refundId: String
    public var amount: Money

    public init(refundId: String, amount: Money) {
        self.refundId = refundId
        self.amount = amount
    }
}

public enum GatewayTransactionStatus: String, Sendable, Equatable {
    case succeeded, declined, requiresAction = "requires_action", processing, refunded, partiallyRefunded = "partially_refunded", voided
}

/// What a lookup by our idempotency key finds.
public struct GatewayTransaction: Sendable, Equatable {
    public var transactionId: String
    public var status: GatewayTransactionStatus
    public var amount: Money
    public var declineCode: String?
    /// What has been refunded of it so far, when the gateway's lookup says.
    public var amountRefunded: Money?

    public init(transactionId: String, status: GatewayTransactionStatus, amount: Money, declineCode: String? = nil,
                amountRefunded: Money? = nil) {
        self.transactionId = transactionId
        self.status = status
        self.amount = amount
        self.declineCode = declineCode
        self.amountRefunded = amountRefunded
    }
}

public struct GatewayWebhookEvent: Sendable, Equatable {
    public enum Kind: String, Sendable { case chargeSucceeded = "charge.succeeded", chargeFailed = "charge.failed", chargeRefunded = "charge.refunded", chargeDisputed = "charge.disputed", other }

    public var id: String
    public var kind: Kind
    public var transactionId: String?
    public var occurredAt: Date
    /// Our idempotency key for the charge, when the event carries it: the only way to find a
    /// payment whose charge answer was lost, since that payment has no transaction id yet.
    public var reference: String?
    /// The charge's refunded total so far (not this refund's amount), when the event carries it.
    public var amountRefunded: Money?

    public init(id: String, kind: Kind, transactionId: String?, occurredAt: Date, reference: String? = nil, amountRefunded: Money? = nil) {
        self.id = id
        self.kind = kind
        self.transactionId = transactionId
        self.occurredAt = occurredAt
        self.reference = reference
        self.amountRefunded = amountRefunded
    }
}

public enum PaymentGatewayError: Error, Equatable, Sendable {
    /// The gateway refused the request itself (bad parameters, unknown customer or method).
    case rejected(code: String, message: String)
    /// Same idempotency key, different parameters.
    case idempotencyConflict
    case notFound
    case invalidWebhookSignature
    case staleWebhook
    case unavailable(String)
}

/// The one interface every gateway adapter (sandbox, Stripe, Authorize.Net) implements, shaped by
/// what they share: a customer per account, hosted fields to save a card, charges keyed by our
/// idempotency key, refunds, voids, lookups, and signed webhooks.
public protocol PaymentGateway: Sendable {
    var name: String { get }
    func ensureCustomer(existingId: String?, accountId: String, email: String?, name: String) async throws -> String
    func hostedFields(customerId: String) async throws -> HostedFieldsConfiguration
    /// Turns what the hosted fields returned to the browser (a single-use token, a SetupIntent id…)
    /// into a saved method on the customer.
    func completeSavedMethod(customerId: String, browserResult: [String: String]) async throws -> SavedMethodDetails
    /// Removes a saved method at the gateway so it can never be charged again.
    func detachMethod(customerId: String, methodId: String) async throws
    func charge(_ request: GatewayChargeRequest) async throws -> GatewayChargeOutcome
    func refund(transactionId: String, amount: Money, idempotencyKey: String) async throws -> GatewayRefund
    func void(transactionId: String, idempotencyKey: String) async throws
    func findTransaction(idempotencyKey: String) async throws -> GatewayTransaction?
    func verifyWebhook(headers: [String: String], body: [UInt8], now: Date) throws -> GatewayWebhookEvent
}
