import Gateways
import PortalCore

/// The staff console's handle on Creatio (PortalCore's `IntegrationControl`): reprocessing failed
/// records by reading them again by id, the way each pass retries its open failures, and reading
/// invoices' payment state for the reconciliation report.
public struct CreatioIntegrationControl: IntegrationControl {
    let sync: CreatioSyncService

    public init(sync: CreatioSyncService) { self.sync = sync }

    public func reprocess(entity: String, crmIds: [String]) async throws -> [ReprocessOutcome] {
        let importPage: ([OrderedJSON]) async throws -> [String: String]
        let select: [String]
        switch entity {
        case "Account":
            select = CreatioSyncService.accountColumns
            importPage = { try await sync.importAccounts($0) }
        case "Invoice", "InvoiceProduct":
            let currencies = try await sync.loadCurrencies()
            if entity == "Invoice" {
                select = CreatioSyncService.invoiceColumns
                importPage = { try await sync.importInvoices($0, currencies: currencies) }
            } else {
                select = CreatioSyncService.lineColumns
                importPage = { try await sync.reimportInvoices(ofLines: $0, currencies: currencies) }
            }
        default:
            return crmIds.map { ReprocessOutcome(entity: entity, crmId: $0, error: "the sync does not import \(entity) records") }
        }
        let result = try await sync.retryFailures(entity, ids: crmIds, select: select, importPage: importPage)
        let gone = "the record is no longer in Creatio"
        for id in result.missing { try await sync.store.recordFailure(entity, crmId: id, error: gone) }
        let failures = try await sync.store.failures(entity)
        return crmIds.map { id in
            let failure = failures.first { $0.crmId == id }
            return ReprocessOutcome(entity: entity, crmId: id, error: failure.flatMap { $0.resolved ? nil : $0.error })
        }
    }

    public func crmInvoices(_ currencies: [String: CurrencyCode]) async throws -> [String: CRMInvoiceState] {
        var states: [String: CRMInvoiceState] = [:]
        for chunk in CreatioSyncService.chunks(currencies.keys.sorted()) {
            let records = try await sync.readAll("Invoice", filter: chunk.map { "Id eq \(ODataLiteral.guid($0))" }.joined(separator: " or "),
                                                 select: ["Id", "PaymentAmount", "PaymentStatusId"])
            for record in records {
                guard let id = record["Id"]?.text?.lowercased(), let currency = currencies[id] else { continue }
                let amount = (try? CreatioDecimal.scaled(record["PaymentAmount"], digits: currency.minorDigits)).map { Money($0, currency) }
                states[id] = CRMInvoiceState(paymentAmount: amount, status: Self.status(record["PaymentStatusId"]?.text ?? ""))
            }
        }
        return states
    }

    /// Creatio's payment status in the portal's words; an unknown one is shown as its id.
    static func status(_ id: String) -> String {
        switch id.lowercased() {
        case CreatioPaymentStatus.paid: "paid"
        case CreatioPaymentStatus.partiallyPaid: "partially_paid"
        case CreatioPaymentStatus.waitingPayment: "open"
        case CreatioPaymentStatus.canceled: "void"
        case CreatioPaymentStatus.notInvoiced: "draft"
        default: id
        }
    }
}
