/// What the staff console may ask of the CRM connection. Declared here so the web app and the
/// service layer never depend on the Creatio module; `portal serve` passes in the Creatio
/// implementation when Creatio is configured, and nothing otherwise.
public protocol IntegrationControl: Sendable {
    /// Reads these failed records again by id from the CRM and imports what now maps. One outcome per id.
    func reprocess(entity: String, crmIds: [String]) async throws -> [ReprocessOutcome]
    /// The CRM's view of these invoices, keyed by lower-cased CRM id (as `currencies` is); the
    /// currency says how to read each amount.
    /// An id the CRM does not have is left out.
    func crmInvoices(_ currencies: [String: CurrencyCode]) async throws -> [String: CRMInvoiceState]
}

public struct ReprocessOutcome: Sendable, Equatable {
    public var entity: String
    public var crmId: String
    /// nil when the record imported; otherwise why it still fails.
    public var error: String?

    public init(entity: String, crmId: String, error: String?) {
        self.entity = entity
        self.crmId = crmId
        self.error = error
    }

    public var imported: Bool { error == nil }
}

/// An invoice as the CRM records its payment: what has been paid and its payment status, in the
/// portal's status words (`paid`, `partially_paid`, `open`, `void`, `draft`) or the CRM's own id
/// when it is none of those.
public struct CRMInvoiceState: Sendable, Equatable {
    /// nil when the CRM's amount could not be read as a decimal of the invoice's currency.
    public var paymentAmount: Money?
    public var status: String

    public init(paymentAmount: Money?, status: String) {
        self.paymentAmount = paymentAmount
        self.status = status
    }
}
