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
        case "Contact":
            select = CreatioSyncService.contactColumns
            importPage = { try await sync.importContacts($0) }
        case "Invoice", "InvoiceProduct":
            let currencies = try await sync.loadCurrencies()
            let statuses = try await PaymentStatusIds.load(sync.client)
            if entity == "Invoice" {
                select = CreatioSyncService.invoiceColumns
                importPage = { try await sync.importInvoices($0, currencies: currencies, statuses: statuses) }
            } else {
                select = CreatioSyncService.lineColumns
                importPage = { try await sync.reimportInvoices(ofLines: $0, currencies: currencies, statuses: statuses) }
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
        let statuses = try await PaymentStatusIds.load(sync.client)
        var states: [String: CRMInvoiceState] = [:]
        for record in try await sync.read("Invoice", ids: currencies.keys.sorted(), select: ["Id", "PaymentAmount", "PaymentStatusId"]) {
            guard let id = record["Id"]?.text?.lowercased(), let currency = currencies[id] else { continue }
            let amount = (try? CreatioDecimal.scaled(record["PaymentAmount"], digits: currency.minorDigits)).map { Money($0, currency) }
            // An id the mapping does not know is shown as itself.
            let statusId = record["PaymentStatusId"]?.text ?? ""
            states[id] = CRMInvoiceState(paymentAmount: amount, status: statuses.status(forId: statusId)?.rawValue ?? statusId)
        }
        return states
    }
}
