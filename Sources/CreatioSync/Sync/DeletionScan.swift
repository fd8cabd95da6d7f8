import Foundation
import Gateways
import PortalCore

/// Creatio's OData has no record of deletions, so a deletion is found by comparing every id the
/// portal holds with every id Creatio still answers. Run on its own schedule: it reads every id.
extension CreatioSyncService {
    /// How many ids one page of the scan reads; ids are small, so pages can be far larger than a pull's.
    static let scanPageSize = 5_000
    /// A scan that would remove more than half of what the portal holds (and more than a handful), or
    /// everything, is refused: an integration user who lost read access sees an empty CRM, not a
    /// deleted one.
    static let maxRemovedUnchecked = 10

    public func scanDeletions() async -> SyncReport {
        var report = SyncReport()
        report.entities.append(await scan("Contact") { gone in
            let removed = try await contacts.remove(externalIds: gone)
            return (removed, 0)
        } held: { try await contacts.externalIds() })
        report.entities.append(await scan("Invoice") { gone in
            var changed = 0, kept = 0
            for (crmId, outcome) in try await invoices.removedFromCRM(externalIds: gone).sorted(by: { $0.key < $1.key }) {
                switch outcome {
                case .voided: changed += 1
                case .unchanged: break
                case .keptWithPayments:
                    kept += 1
                    // Filed once: re-filing it every scan would reopen it after staff dealt with it.
                    try await store.recordFailure("Invoice", crmId: crmId, error: "deleted in Creatio, but payments were made against it here; "
                                                  + "kept for staff to settle", once: true)
                }
            }
            return (changed, kept)
        } held: { try await invoices.liveExternalIds() })
        let lineInvoices: [String: String]
        do { lineInvoices = try await invoices.externalLineIds() } catch {
            report.entities.append(.init(entity: "InvoiceProduct", error: "the portal's lines could not be read: \(error)"))
            return report
        }
        report.entities.append(await scan("InvoiceProduct") { gone in
            // A deleted line changes its invoice's Amount but not its ModifiedOn: import the invoice again.
            let owners = Array(Set(gone.compactMap { lineInvoices[$0] })).sorted()
            let currencies = try await loadCurrencies()
            let statuses = try await PaymentStatusIds.load(client)
            let found = try await read("Invoice", ids: owners, select: Self.invoiceColumns)
            let failures = try await importInvoices(found, currencies: currencies, statuses: statuses)
            for (id, message) in failures.sorted(by: { $0.key < $1.key }) { try await store.recordFailure("Invoice", crmId: id, error: message) }
            return (found.count - failures.count, failures.count)
        } held: { Set(lineInvoices.keys) })
        return report
    }

    /// Finds the ids the portal holds that Creatio no longer has, confirms each by reading it by id
    /// (the id list can shift under paging while someone edits), and hands them to `remove`.
    func scan(_ entity: String, remove: ([String]) async throws -> (changed: Int, failed: Int),
              held: () async throws -> Set<String>) async -> SyncReport.EntityResult {
        var result = SyncReport.EntityResult(entity: entity)
        do {
            let portal = try await held()
            guard !portal.isEmpty else { return result }
            var crm = Set<String>()
            while true {
                let page = try await client.list(entity, ODataQuery(orderBy: ["Id"], top: Self.scanPageSize, skip: crm.count, select: ["Id"]))
                for record in page { if let id = record["Id"]?.text?.lowercased() { crm.insert(id) } }
                if page.count < Self.scanPageSize { break }
            }
            var candidates = portal.filter { !crm.contains($0.lowercased()) }.sorted()
            if !candidates.isEmpty {
                let stillThere = Set(try await read(entity, ids: candidates, select: ["Id"]).compactMap { $0["Id"]?.text?.lowercased() })
                candidates.removeAll { stillThere.contains($0.lowercased()) }
            }
            guard !candidates.isEmpty else { return result }
            if crm.isEmpty || (candidates.count > Self.maxRemovedUnchecked && candidates.count * 2 > portal.count) {
                result.error = "refused to remove \(candidates.count) of \(portal.count) \(entity) records that Creatio no longer lists; "
                    + "check that the integration user can still read them"
                return result
            }
            let (changed, failed) = try await remove(candidates)
            result.imported = changed
            result.failed = failed
        } catch {
            result.error = "\(error)"
        }
        return result
    }
}
