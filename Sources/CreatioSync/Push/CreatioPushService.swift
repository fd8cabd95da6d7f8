import Gateways
import Logging
import PortalCore

/// What one push pass did.
public struct PushReport: Sendable, Equatable, CustomStringConvertible {
    public var delivered = 0
    /// Pushes that failed and will be tried again after their back-off.
    public var failed = 0
    /// Rows given up on this pass (refused outright too many times).
    public var dead = 0
    /// The first few failures, for the log and the command's output.
    public var errors: [String] = []
    /// Why the pass stopped early (the outbox could not be read, the statuses could not be fetched).
    public var error: String?

    public var succeeded: Bool { error == nil && failed == 0 && dead == 0 }

    public var description: String {
        "Push: \(delivered) delivered, \(failed) failed (will retry), \(dead) given up" + (error.map { " — stopped: \($0)" } ?? "")
            + errors.map { "\n  \($0)" }.joined()
    }
}

/// Pushes the CRM outbox to Creatio: each claimed row becomes one PATCH of its invoice (the payment
/// status and amount paid as the portal has them just before sending, and the row's own facts in
/// the mapped custom fields), sent in `$batch`es of up to 100 when enabled, one by one otherwise or
/// when the instance refuses `$batch`. Each row's result is recorded on its own, so one refused
/// PATCH fails only its row.
///
/// PaymentAmount is never written blind: Creatio's current figure is read first, and one that moved
/// since the portal last saw or pushed it is taken in (`CRMPaymentFigures`) before the total is sent.
public struct CreatioPushService: Sendable {
    let client: CreatioClient
    let outbox: CRMOutbox
    /// Rebuilds a link row's URL; nil where payment links are not configured (such rows wait).
    let links: PaymentLinkService?
    let fields: CreatioFieldMap
    let useBatch: Bool
    let logger: Logger
    let claimSize: Int

    public init(client: CreatioClient, outbox: CRMOutbox, links: PaymentLinkService? = nil, fields: CreatioFieldMap = .defaults,
                useBatch: Bool = true, logger: Logger = Logger(label: "creatio-push"), claimSize: Int = CreatioClient.batchLimit) {
        self.client = client
        self.outbox = outbox
        self.links = links
        self.fields = fields
        self.useBatch = useBatch
        self.logger = logger
        self.claimSize = min(max(1, claimSize), CreatioClient.batchLimit)
    }

    enum Outcome {
        case delivered
        case failed(String, permanent: Bool)
    }

    /// Long enough for the slowest way a claim is sent: the read before, then every row's PATCH on
    /// its own, each up to the client's time-out.
    var leaseSeconds: Int64 { Int64((Double(claimSize) + 2) * max(client.configuration.timeout, 1)) }

    public func runOnce() async -> PushReport {
        var report = PushReport()
        var statuses: PaymentStatusIds?
        var batching = useBatch
        do {
            // A row that fails is not due again until its back-off ends, so this loop ends.
            while true {
                let claim = try await outbox.claim(limit: claimSize, leaseSeconds: leaseSeconds)
                if claim.items.isEmpty { break }
                if statuses == nil {
                    do { statuses = try await PaymentStatusIds.load(client) } catch {
                        for item in claim.items {
                            try await record(item, .failed("payment statuses could not be read: \(error)", permanent: false), lease: claim.token, &report)
                        }
                        report.error = "payment statuses could not be read: \(error)"
                        return report
                    }
                }
                try await push(claim, statuses: statuses!, batching: &batching, &report)
            }
        } catch {
            report.error = "the outbox could not be read or updated: \(error)"
        }
        if let error = report.error { logger.error("Creatio push stopped", metadata: ["error": "\(error)"]) }
        return report
    }

    /// Sends one claim's rows and records each result, as long as the claim still holds them.
    func push(_ claim: CRMOutboxClaim, statuses: PaymentStatusIds, batching: inout Bool, _ report: inout PushReport) async throws {
        var outcomes = await takeInCRMPayments(claim.items.filter { $0.payloadError == nil && setsAmount($0) })
        // Rows another pusher took over meanwhile are its to send: nothing is sent or recorded for them here.
        let held = try await outbox.held(claim.items.map(\.id), lease: claim.token)
        let items = claim.items.filter { held.contains($0.id) }
        // The invoices' figures now, after any payment just taken in, not as they were when the rows were written.
        let current = try await outbox.paymentFigures.current(invoiceIds: items.map(\.invoiceId))
        var patches: [(CRMOutboxItem, OrderedJSON)] = []
        var pushed: [Int64: InvoicePushFigures] = [:]
        for item in items where outcomes[item.id] == nil {
            if let problem = item.payloadError {
                outcomes[item.id] = .failed(problem, permanent: true)
                continue
            }
            guard let figures = current[item.invoiceId] else {
                outcomes[item.id] = .failed("the invoice could not be read", permanent: false)
                continue
            }
            var link: String?
            if item.topic == .invoiceLink {
                switch await linkURL(item) {
                case .success(let url?): link = url
                case .success(nil):
                    outcomes[item.id] = .delivered // superseded, revoked or expired: a newer link is the news, if any
                    continue
                case .failure(let problem):
                    outcomes[item.id] = problem.outcome
                    continue
                }
            }
            if let body = body(for: item, figures: figures, link: link, statuses: statuses) {
                patches.append((item, body))
                if setsAmount(item) { pushed[item.id] = figures }
            } else {
                outcomes[item.id] = .delivered // every field it would set is unmapped: nothing to tell
            }
        }
        if batching, !patches.isEmpty {
            do {
                outcomes.merge(try await sendBatch(patches)) { $1 }
                patches = []
            } catch let error as CreatioError where Self.isPermanent(error) {
                logger.warning("Creatio refused $batch; sending PATCHes one by one", metadata: ["error": "\(error)"])
                batching = false
            } catch {
                for (item, _) in patches { outcomes[item.id] = .failed("\(error)", permanent: false) }
                patches = []
            }
        }
        for (item, body) in patches {
            // Sent one by one, a claim can outlast its lease: each PATCH goes only while the row is still ours.
            guard try await outbox.held([item.id], lease: claim.token).contains(item.id) else { outcomes[item.id] = nil; continue }
            outcomes[item.id] = await sendOne(item, body)
        }
        for item in items {
            guard let outcome = outcomes[item.id] else { continue }
            try await record(item, outcome, lease: claim.token, pushed: pushed[item.id], &report)
        }
    }

    func record(_ item: CRMOutboxItem, _ outcome: Outcome, lease: String, pushed: InvoicePushFigures? = nil,
                _ report: inout PushReport) async throws {
        switch outcome {
        case .delivered:
            guard try await outbox.delivered(item.id, lease: lease, pushed: pushed) else { return leaseLost(item) }
            report.delivered += 1
        case .failed(let message, let permanent):
            let dead = permanent && item.attempts + 1 >= outbox.deadAfter
            guard try await outbox.failed(item.id, lease: lease, error: message, permanent: permanent) else { return leaseLost(item) }
            if dead { report.dead += 1 } else { report.failed += 1 }
            let line = "\(item.topic.rawValue) #\(item.id) for invoice \(item.crmInvoiceId): \(message)" + (dead ? " (given up)" : "")
            logger.error("Creatio push failed", metadata: ["row": "\(item.id)", "topic": "\(item.topic.rawValue)", "invoice": "\(item.crmInvoiceId)",
                                                           "error": "\(message)", "given_up": "\(dead)"])
            if report.errors.count < 10 { report.errors.append(line) }
        }
    }

    func leaseLost(_ item: CRMOutboxItem) {
        logger.warning("Creatio push result not recorded: another pusher took the row over", metadata: ["row": "\(item.id)"])
    }

    func sendOne(_ item: CRMOutboxItem, _ body: OrderedJSON) async -> Outcome {
        do {
            try await client.patch("Invoice", id: item.crmInvoiceId, body)
            return .delivered
        } catch let error as CreatioError {
            return .failed(error.description, permanent: Self.isPermanent(error))
        } catch {
            return .failed("\(error)", permanent: false)
        }
    }

    func sendBatch(_ patches: [(CRMOutboxItem, OrderedJSON)]) async throws -> [Int64: Outcome] {
        let requests = patches.map { item, body in
            BatchRequest(id: String(item.id), method: "PATCH", url: "Invoice(\(item.crmInvoiceId))", body: body)
        }
        let results = try await client.batch(requests)
        var outcomes: [Int64: Outcome] = [:]
        for (item, _) in patches {
            switch results[String(item.id)] {
            case .success?: outcomes[item.id] = .delivered
            case .failure(let error)?: outcomes[item.id] = .failed(error.description, permanent: Self.isPermanent(error))
            case nil: preconditionFailure("CreatioClient.batch answers every sub-request it was given")
            }
        }
        return outcomes
    }

    /// A refusal that repeating will not change: a 4xx other than a lapsed session, a time-out or throttling.
    static func isPermanent(_ error: CreatioError) -> Bool {
        let status: Int
        switch error {
        case .odata(let code, _, _), .http(let code, _): status = code
        default: return false
        }
        return (400..<500).contains(status) && ![401, 408, 429].contains(status)
    }

    // MARK: What a row sets

    /// The PATCH body for a row, or nil when none of its fields is mapped. A superseded row sends
    /// only the invoice's current figures: its own facts are older than what the CRM shows.
    func body(for item: CRMOutboxItem, figures: InvoicePushFigures, link: String?, statuses: PaymentStatusIds) -> OrderedJSON? {
        let payload = item.payload
        var values: [(CreatioFieldMap.Field, OrderedJSON)] = []
        func text(_ value: String?) -> OrderedJSON { .string(value ?? "") }
        let target = figures.crmTarget
        let invoiceFigures: [(CreatioFieldMap.Field, OrderedJSON)] = [
            (.paymentStatusId, .string(statuses.id(for: figures.status))),
            (.paymentAmount, .number(target.plain)),
        ]
        let card: [(CreatioFieldMap.Field, OrderedJSON)] = [
            (.gatewayTransactionId, text(payload.transactionId)), (.paymentStatus, text(payload.paymentStatus)),
            (.cardType, text(payload.cardBrand.map(PaymentMethod.brandName))), (.cardLast4, text(payload.cardLast4)),
            (.isRecurring, .bool(payload.isRecurring ?? false)),
        ]
        switch item.topic {
        case .paymentResult where payload.paymentStatus == PaymentStatus.failed.rawValue:
            // A decline moved no money: the invoice's status and amount paid are left as the CRM has them.
            values = item.superseded ? [] : card + [(.authorizationCode, text(nil)), (.errorCode, text(payload.errorCode)),
                                                    (.errorMessage, text(payload.errorMessage))]
        case .paymentResult where item.superseded, .paymentRefund where item.superseded:
            values = invoiceFigures
        case .paymentResult:
            values = invoiceFigures + card + [(.authorizationCode, text(payload.authorizationCode)), (.errorCode, text(nil)), (.errorMessage, text(nil))]
        case .paymentRefund:
            values = invoiceFigures + [(.refundId, text(payload.refundId)), (.paymentStatus, text(payload.paymentStatus)),
                                       (.gatewayTransactionId, text(payload.transactionId))]
        case .invoiceLink:
            values = [(.paymentLink, text(link))]
        }
        let members = values.compactMap { field, value in fields.column(field).map { OrderedJSON.Member(key: $0, value: value) } }
        return members.isEmpty ? nil : .object(members)
    }
}
