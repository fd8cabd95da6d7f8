import Gateways
import PortalCore

extension CreatioPushService {
    /// Whether the row's PATCH sets PaymentAmount (a decline moves no money; a link is only a link).
    func setsAmount(_ item: CRMOutboxItem) -> Bool {
        guard fields.column(.paymentAmount) != nil else { return false }
        switch item.topic {
        case .paymentResult: return item.payload.paymentStatus != PaymentStatus.failed.rawValue
        case .paymentRefund: return true
        case .invoiceLink: return false
        }
    }

    /// Reads Creatio's PaymentAmount for these rows' invoices and compares it with what the portal
    /// last saw or pushed: a payment recorded in Creatio meanwhile is taken in first, so the total
    /// sent includes it; a figure that went down holds the row (failed, retried) for staff to resolve.
    /// Returns outcomes only for rows that must not be sent now.
    func takeInCRMPayments(_ items: [CRMOutboxItem]) async -> [Int64: Outcome] {
        guard !items.isEmpty else { return [:] }
        var outcomes: [Int64: Outcome] = [:]
        do {
            let records = try await client.read("Invoice", ids: items.map(\.crmInvoiceId), select: ["Id", "PaymentAmount"],
                                                pageSize: CreatioClient.batchLimit)
            var amounts: [String: OrderedJSON] = [:]
            for record in records {
                if let id = record["Id"]?.text?.lowercased() { amounts[id] = record["PaymentAmount"] ?? .null }
            }
            for item in items {
                // An invoice Creatio no longer has: the PATCH will say so.
                guard let value = amounts[item.crmInvoiceId.lowercased()] else { continue }
                do {
                    let crm = try CreatioDecimal.scaled(value, digits: item.currency.minorDigits)
                    let seen = try await outbox.paymentFigures.observe(crmInvoiceId: item.crmInvoiceId, crmAmount: crm)
                    if let problem = seen.problem { outcomes[item.id] = .failed(problem, permanent: false) }
                    if case .recorded(let paymentId, let amount) = seen {
                        logger.notice("a payment recorded in Creatio was taken in before pushing",
                                      metadata: ["invoice": "\(item.crmInvoiceId)", "payment": "\(paymentId)", "amount": "\(amount.plain)"])
                    }
                } catch {
                    outcomes[item.id] = .failed("Creatio's PaymentAmount could not be taken in: \(error)", permanent: false)
                }
            }
        } catch {
            for item in items { outcomes[item.id] = .failed("Creatio's PaymentAmount could not be read before pushing: \(error)", permanent: false) }
        }
        return outcomes
    }

    /// A link row's URL, rebuilt from the link's id ("" for a withdrawn link, which empties the CRM's
    /// field): nil when there is nothing current to show (a newer link was delivered, or this one was
    /// revoked or has expired).
    func linkURL(_ item: CRMOutboxItem) async throws -> Result<String?, OutcomeError> {
        guard !item.superseded else { return .success(nil) }
        if item.payload.clearsLink == true { return .success("") }
        guard let linkId = item.payload.linkId else { return .success(nil) }
        guard let links else {
            return .failure(OutcomeError(.failed("payment links are not configured here (PORTAL_KEY_FILE), so the link's URL cannot be rebuilt",
                                                 permanent: false)))
        }
        return .success(try await links.url(linkId: linkId))
    }

    struct OutcomeError: Error {
        var outcome: Outcome
        init(_ outcome: Outcome) { self.outcome = outcome }
    }
}
