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
            // Each invoice's figure once (a payment and its link row may name the same invoice), all in one write.
            var figures: [String: Int64] = [:]
            for item in items where figures[item.crmInvoiceId] == nil {
                // An invoice Creatio no longer has: the PATCH will say so.
                guard let value = amounts[item.crmInvoiceId.lowercased()] else { continue }
                do {
                    figures[item.crmInvoiceId] = try CreatioDecimal.scaled(value, digits: item.currency.minorDigits)
                } catch {
                    outcomes[item.id] = .failed("Creatio's PaymentAmount could not be taken in: \(error)", permanent: false)
                }
            }
            let observed = try await outbox.paymentFigures.observe(figures.sorted { $0.key < $1.key }.map { ($0.key, $0.value) })
            for (crmInvoiceId, result) in observed {
                if case .success(.recorded(let paymentId, let amount)) = result {
                    logger.notice("a payment recorded in Creatio was taken in before pushing",
                                  metadata: ["invoice": "\(crmInvoiceId)", "payment": "\(paymentId)", "amount": "\(amount.plain)"])
                }
            }
            for item in items where outcomes[item.id] == nil {
                switch observed[item.crmInvoiceId] {
                case .success(let seen): if let problem = seen.problem { outcomes[item.id] = .failed(problem, permanent: false) }
                case .failure(let error): outcomes[item.id] = .failed("Creatio's PaymentAmount could not be taken in: \(error)", permanent: false)
                case nil: break
                }
            }
        } catch {
            for item in items { outcomes[item.id] = .failed("Creatio's PaymentAmount could not be read or taken in before pushing: \(error)", permanent: false) }
        }
        return outcomes
    }

    /// A link row's URL, rebuilt from the link's id ("" for a withdrawn link, which empties the CRM's
    /// field): nil when there is nothing current to show (a newer link was delivered, or this one was
    /// revoked or has expired). A link that cannot be read fails its own row only, to be retried.
    func linkURL(_ item: CRMOutboxItem) async -> Result<String?, OutcomeError> {
        guard !item.superseded else { return .success(nil) }
        if item.payload.clearsLink == true { return .success("") }
        guard let linkId = item.payload.linkId else { return .success(nil) }
        guard let links else {
            return .failure(OutcomeError(.failed("payment links are not configured here (PORTAL_KEY_FILE), so the link's URL cannot be rebuilt",
                                                 permanent: false)))
        }
        do {
            return .success(try await links.url(linkId: linkId))
        } catch {
            return .failure(OutcomeError(.failed("the payment link could not be read: \(error)", permanent: false)))
        }
    }

    struct OutcomeError: Error {
        var outcome: Outcome
        init(_ outcome: Outcome) { self.outcome = outcome }
    }
}
