import Foundation
import Gateways
import GRDB
import PortalCore

/// What one pass did, per entity.
public struct SyncReport: Sendable, CustomStringConvertible {
    public struct EntityResult: Sendable, Equatable {
        public var entity: String
        public var imported = 0
        public var failed = 0
        /// Why the pull of this entity stopped early; its cursor stays at the last page fully read.
        public var error: String?
    }

    public var entities: [EntityResult] = []

    public var succeeded: Bool { entities.allSatisfy { $0.error == nil } }

    public subscript(entity: String) -> EntityResult? { entities.first { $0.entity == entity } }

    public var description: String {
        entities.map { "\($0.entity): \($0.imported) imported, \($0.failed) failed" + ($0.error.map { " — stopped: \($0)" } ?? "") }
            .joined(separator: "\n")
    }
}

struct SyncMappingError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Pulls accounts, invoices and invoice lines from Creatio into the portal, incrementally by
/// ModifiedOn. Each entity has a cursor; a pass re-reads from the cursor's instant inclusive and
/// skips the ids already read at exactly that instant, so records sharing a timestamp across a page
/// boundary are neither skipped nor imported twice. A record that cannot be mapped is kept in
/// `sync_failures` and passed over; an error talking to Creatio stops that entity for this pass
/// without moving its cursor past anything unread.
public struct CreatioSyncService: Sendable {
    let client: CreatioClient
    let directory: DirectoryService
    let invoices: InvoiceService
    let contacts: ContactService
    let store: CreatioSyncStore
    let paymentFigures: CRMPaymentFigures
    public let pageSize: Int

    static let accountColumns = ["Id", "Name", "ModifiedOn"]
    static let contactColumns = ["Id", "Name", "Email", "Phone", "AccountId", "ModifiedOn"]
    static let invoiceColumns = ["Id", "Number", "AccountId", "StartDate", "DueDate", "CurrencyId", "Amount", "PaymentAmount",
                                 "PaymentStatusId", "Notes", "ModifiedOn"]
    static let lineColumns = ["Id", "InvoiceId", "Name", "Quantity", "Price", "Amount", "DiscountAmount", "TaxAmount", "ModifiedOn"]

    public init(client: CreatioClient, db: any DatabaseWriter, directory: DirectoryService, invoices: InvoiceService,
                clock: PortalClock, pageSize: Int = 500) {
        self.client = client
        self.directory = directory
        self.invoices = invoices
        self.contacts = ContactService(db: db, clock: clock)
        self.store = CreatioSyncStore(db: db, clock: clock)
        self.paymentFigures = CRMPaymentFigures(db: db, clock: clock)
        self.pageSize = max(2, pageSize)
    }

    public func runOnce() async -> SyncReport {
        var report = SyncReport()
        let accounts = await pull("Account", select: Self.accountColumns) { page in { try await importAccounts(page) } }
        report.entities.append(accounts)
        // Invoices name their account; pulled without it they would be filed as failures and passed by.
        guard accounts.error == nil else {
            report.entities += ["Contact", "Invoice", "InvoiceProduct"].map { .init(entity: $0, error: "not pulled: the Account pull stopped") }
            return report
        }
        report.entities.append(await pull("Contact", select: Self.contactColumns) { page in { try await importContacts(page) } })
        let currencies: [String: CurrencyCode]
        let statuses: PaymentStatusIds
        do {
            currencies = try await loadCurrencies()
            statuses = try await PaymentStatusIds.load(client)
        } catch {
            report.entities += ["Invoice", "InvoiceProduct"].map { .init(entity: $0, error: "currencies or payment statuses could not be read: \(error)") }
            return report
        }
        report.entities.append(await pull("Invoice", select: Self.invoiceColumns, overlapWrites: true) {
            try await prepareInvoices($0, currencies: currencies, statuses: statuses)
        })
        // Saving a line recalculates Invoice.Amount without touching Invoice.ModifiedOn, so lines have
        // their own cursor and bring their invoice back in.
        report.entities.append(await pull("InvoiceProduct", select: Self.lineColumns) {
            try await prepareLines($0, currencies: currencies, statuses: statuses)
        })
        return report
    }

    public func failures(entity: String? = nil) async throws -> [SyncFailure] { try await store.failures(entity) }

    // MARK: The incremental read

    /// Reads what a page's import needs from Creatio (an invoice page's lines) and hands back the
    /// import's write, to be run after the previous page's.
    typealias PreparedImport = @Sendable ([OrderedJSON]) async throws -> @Sendable () async throws -> [String: String]

    /// `overlapWrites`: the next page is read and prepared while this one is written, since the two
    /// wait on different things (Creatio, the database). Only for an import whose preparation reads
    /// nothing the previous page's write may still change.
    func pull(_ entity: String, select: [String], overlapWrites: Bool = false, prepare: @escaping PreparedImport) async -> SyncReport.EntityResult {
        var result = SyncReport.EntityResult(entity: entity)
        var pending: PendingWrite?
        do {
            // The cursor of what has been read; what has been written is saved by `finish`.
            var cursor = try await store.cursor(entity)
            // Failures from earlier passes are retried after the pull, unless the pull met them again.
            var retry = try await store.failures(entity).filter { !$0.resolved }.map(\.crmId)
            // Set when the records already read at the cursor's instant may no longer be the first ones
            // there (one was edited meanwhile): read that instant from its start and rely on the dedupe.
            var scanSkip: Int?
            while true {
                let boundary = Set(cursor.boundaryIds)
                let query = ODataQuery(filter: cursor.lastModifiedOn.map { "ModifiedOn ge \(ODataLiteral.datetime($0))" },
                                       orderBy: ["ModifiedOn", "Id"], top: pageSize,
                                       skip: scanSkip ?? max(0, cursor.boundaryIds.count - 1), select: select)
                let page = try await client.list(entity, query)
                // Normally the page starts with the last record already read, which proves nothing before it was skipped.
                if scanSkip == nil, let last = cursor.boundaryIds.last,
                   page.first?["Id"]?.text != last || page.first?["ModifiedOn"]?.text != cursor.lastModifiedOn {
                    scanSkip = 0
                    continue
                }
                let fresh = try page.filter { record in
                    guard record["Id"]?.text != nil, let modified = record["ModifiedOn"]?.text else {
                        throw CreatioError.invalidResponse("a \(entity) record without Id or ModifiedOn")
                    }
                    return !(modified == cursor.lastModifiedOn && boundary.contains(record["Id"]!.text!))
                }
                let freshIds = Set(fresh.compactMap { $0["Id"]?.text })
                retry.removeAll { freshIds.contains($0) }
                for record in page {
                    let id = record["Id"]!.text!, modified = record["ModifiedOn"]!.text!
                    if modified == cursor.lastModifiedOn {
                        if !cursor.boundaryIds.contains(id) { cursor.boundaryIds.append(id) }
                    } else {
                        cursor = SyncCursor(lastModifiedOn: modified, boundaryIds: [id])
                    }
                }
                if !overlapWrites, let waiting = pending {
                    pending = nil
                    try await finish(waiting, into: &result)
                }
                let write = fresh.isEmpty ? nil : try await prepare(fresh)
                if let waiting = pending {
                    pending = nil
                    try await finish(waiting, into: &result)
                }
                pending = PendingWrite(entity: entity, fresh: fresh, cursor: cursor, task: Task { try await write?() ?? [:] })
                if page.count < pageSize { break }
                if let skip = scanSkip { scanSkip = fresh.isEmpty ? skip + pageSize : nil }
            }
            if let waiting = pending {
                pending = nil
                try await finish(waiting, into: &result)
            }
            let importPage: @Sendable ([OrderedJSON]) async throws -> [String: String] = { try await prepare($0)() }
            let retried = try await retryFailures(entity, ids: retry, select: select, importPage: importPage)
            result.imported += retried.imported
            result.failed += retried.failed
        } catch {
            result.error = "\(error)"
            // The page already read is written all the same, so the next pass need not read it again.
            if let waiting = pending {
                do { try await finish(waiting, into: &result) } catch { result.error! += "; the page before it did not import either: \(error)" }
            }
        }
        return result
    }

    /// A page read and being written; its cursor is saved once the write is done.
    struct PendingWrite {
        var entity: String
        var fresh: [OrderedJSON]
        var cursor: SyncCursor
        var task: Task<[String: String], any Error>
    }

    func finish(_ pending: PendingWrite, into result: inout SyncReport.EntityResult) async throws {
        let failures = try await pending.task.value
        if !pending.fresh.isEmpty {
            for (id, message) in failures.sorted(by: { $0.key < $1.key }) { try await store.recordFailure(pending.entity, crmId: id, error: message) }
            try await store.resolve(pending.entity, crmIds: pending.fresh.compactMap { $0["Id"]?.text }.filter { failures[$0] == nil })
        }
        try await store.save(pending.entity, pending.cursor, imported: pending.fresh.count - failures.count, failed: failures.count)
        result.imported += pending.fresh.count - failures.count
        result.failed += failures.count
    }

    /// Records that failed earlier and have not changed since are read again by id: what they lacked
    /// (an account created after the Account pull, a currency added) may be there now.
    /// `missing`: the ids Creatio no longer has.
    func retryFailures(_ entity: String, ids: [String], select: [String], importPage: ([OrderedJSON]) async throws -> [String: String])
        async throws -> (imported: Int, failed: Int, missing: [String]) {
        var imported = 0, failed = 0, missing: [String] = []
        for chunk in Self.chunks(ids) {
            let records = try await readAll(entity, filter: CreatioClient.anyOf("Id", chunk), select: select)
            let found = Set(records.compactMap { $0["Id"]?.text?.lowercased() })
            missing += chunk.filter { !found.contains($0.lowercased()) }
            guard !records.isEmpty else { continue }
            let failures = try await importPage(records)
            for (id, message) in failures.sorted(by: { $0.key < $1.key }) { try await store.recordFailure(entity, crmId: id, error: message) }
            try await store.resolve(entity, crmIds: records.compactMap { $0["Id"]?.text }.filter { failures[$0] == nil })
            imported += records.count - failures.count
            failed += failures.count
        }
        return (imported, failed, missing)
    }

    // MARK: Accounts

    func importAccounts(_ page: [OrderedJSON]) async throws -> [String: String] {
        var failures: [String: String] = [:]
        for record in page {
            let id = record["Id"]!.text!
            let name = (record["Name"]?.text ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
            guard !name.isEmpty else {
                failures[id] = "account name is empty"
                continue
            }
            do { try await directory.upsertAccount(name: name, externalId: id) } catch { failures[id] = Self.describe(error) }
        }
        return failures
    }

    // MARK: Contacts

    func importContacts(_ page: [OrderedJSON]) async throws -> [String: String] {
        var failures: [String: String] = [:]
        var inputs: [ContactInput] = []
        func crmAccount(_ record: OrderedJSON) -> String? {
            guard let id = record["AccountId"]?.text, id != CreatioSimulator.zeroGuid, !id.isEmpty else { return nil }
            return id
        }
        // The page's accounts in one read.
        let known = try await store.accountIds(crmIds: page.compactMap(crmAccount))
        for record in page {
            let id = record["Id"]!.text!
            var accountId: String?
            if let crmAccount = crmAccount(record) {
                guard let known = known[crmAccount] else {
                    failures[id] = "account \(crmAccount) has not been synced"
                    continue
                }
                accountId = known
            }
            inputs.append(ContactInput(externalId: id, accountId: accountId, name: record["Name"]?.text ?? "",
                                       email: record["Email"]?.text, phone: record["Phone"]?.text))
        }
        for (id, error) in try await contacts.upsert(inputs) {
            switch error {
            case .nameEmpty: failures[id] = "contact name is empty"
            }
        }
        return failures
    }

    // MARK: Invoices

    func loadCurrencies() async throws -> [String: CurrencyCode] {
        var currencies: [String: CurrencyCode] = [:]
        var skip = 0
        while true {
            let page = try await client.list("Currency", ODataQuery(orderBy: ["Id"], top: pageSize, skip: skip, select: ["Id", "Code"]))
            for record in page {
                if let id = record["Id"]?.text, let code = record["Code"]?.text.flatMap(CurrencyCode.init) { currencies[id.lowercased()] = code }
            }
            if page.count < pageSize { return currencies }
            skip += pageSize
        }
    }

    func importInvoices(_ page: [OrderedJSON], currencies: [String: CurrencyCode], statuses: PaymentStatusIds) async throws -> [String: String] {
        try await prepareInvoices(page, currencies: currencies, statuses: statuses)()
    }

    /// Reads the page's lines and accounts; the write it returns stores the page in one transaction.
    func prepareInvoices(_ page: [OrderedJSON], currencies: [String: CurrencyCode], statuses: PaymentStatusIds)
        async throws -> @Sendable () async throws -> [String: String] {
        let lines = try await lines(of: page.compactMap { $0["Id"]?.text })
        let accounts = try await store.accountIds(crmIds: page.compactMap { $0["AccountId"]?.text })
        var failures: [String: String] = [:]
        var inputs: [(id: String, input: InvoiceInput)] = []
        for record in page {
            let id = record["Id"]!.text!
            do {
                inputs.append((id, try invoiceInput(record, lines: lines[id.lowercased()] ?? [], currencies: currencies, accounts: accounts,
                                                    statuses: statuses)))
            } catch {
                failures[id] = Self.describe(error)
            }
        }
        let (unmapped, ready, invoices, paymentFigures) = (failures, inputs, self.invoices, self.paymentFigures)
        return {
            // One write transaction for the page; a record that fails there fails alone.
            var failures = unmapped
            var written: [(crmInvoiceId: String, crmAmount: Int64)] = []
            for ((id, input), result) in zip(ready, try await invoices.upsert(ready.map(\.input))) {
                if case .failure(let error) = result { failures[id] = Self.describe(error) } else { written.append((id, input.amountPaid)) }
            }
            // A payment recorded in Creatio (PaymentAmount grew) is counted here; a fall is for staff.
            for (id, observation) in try await paymentFigures.observe(written) {
                switch observation {
                case .success(let observation): if let problem = observation.problem { failures[id] = problem }
                case .failure(let error): failures[id] = "its payments in Creatio could not be recorded: \(Self.describe(error))"
                }
            }
            return failures
        }
    }

    /// Lines the portal already holds as sent (same invoice, same values) are passed over: on a first
    /// import every line was read with its invoice, and reading each invoice again would double the work.
    func reimportInvoices(ofLines page: [OrderedJSON], currencies: [String: CurrencyCode], statuses: PaymentStatusIds)
        async throws -> [String: String] {
        try await prepareLines(page, currencies: currencies, statuses: statuses)()
    }

    func prepareLines(_ page: [OrderedJSON], currencies: [String: CurrencyCode], statuses: PaymentStatusIds)
        async throws -> @Sendable () async throws -> [String: String] {
        let stored = try await invoices.crmLines(externalIds: page.compactMap { $0["Id"]?.text })
        let page = page.filter { !Self.matches($0, stored[$0["Id"]!.text!]) }
        var invoiceIds: [String] = []
        for line in page {
            if let id = line["InvoiceId"]?.text?.lowercased(), id != CreatioSimulator.zeroGuid, !invoiceIds.contains(id) { invoiceIds.append(id) }
        }
        let found = try await read("Invoice", ids: invoiceIds, select: Self.invoiceColumns)
        let writeInvoices = try await prepareInvoices(found, currencies: currencies, statuses: statuses)
        let foundIds = Set(found.compactMap { $0["Id"]?.text?.lowercased() })
        return {
            let invoiceFailures = try await writeInvoices()
            var failures: [String: String] = [:]
            for line in page {
                let lineId = line["Id"]!.text!
                let invoiceId = line["InvoiceId"]?.text?.lowercased() ?? ""
                if let failure = invoiceFailures.first(where: { $0.key.lowercased() == invoiceId })?.value {
                    failures[lineId] = "its invoice \(invoiceId) did not import: \(failure)"
                } else if !foundIds.contains(invoiceId) {
                    failures[lineId] = "its invoice \(invoiceId) is not in Creatio"
                }
            }
            return failures
        }
    }

    /// The lines of these invoices, keyed by lower-cased invoice id, in the order they were entered.
    /// A few chunks are read at once: a first import reads lines for every invoice, and one read at a
    /// time leaves both sides of the connection mostly waiting.
    func lines(of invoiceIds: [String]) async throws -> [String: [OrderedJSON]] {
        var lines: [String: [OrderedJSON]] = [:]
        try await withThrowingTaskGroup(of: [OrderedJSON].self) { group in
            var pending = Self.chunks(invoiceIds)[...]
            func readNext() {
                guard let chunk = pending.popFirst() else { return }
                // The navigation form: "InvoiceId eq …" can fail on real instances with "Column by path … not found".
                group.addTask { try await readAll("InvoiceProduct", filter: CreatioClient.anyOf("Invoice/Id", chunk), select: Self.lineColumns, orderBy: Self.lineOrder) }
            }
            for _ in 0..<Self.concurrentReads { readNext() }
            // Each chunk holds whole invoices, so the order chunks arrive in does not matter.
            while let read = try await group.next() {
                for line in read {
                    if let invoiceId = line["InvoiceId"]?.text?.lowercased() { lines[invoiceId, default: []].append(line) }
                }
                readNext()
            }
        }
        return lines
    }

    func readAll(_ collection: String, filter: String, select: [String], orderBy: [String] = ["Id"]) async throws -> [OrderedJSON] {
        try await client.readAll(collection, filter: filter, select: select, orderBy: orderBy, pageSize: pageSize)
    }

    /// Records by id (or by `key`, a path such as `Invoice/Id`), chunked into `or` filters.
    func read(_ collection: String, ids: [String], key: String = "Id", select: [String], orderBy: [String] = ["Id"]) async throws -> [OrderedJSON] {
        try await client.read(collection, ids: ids, key: key, select: select, orderBy: orderBy, pageSize: pageSize)
    }

    /// `accounts`: portal account ids by CRM account id, for the accounts the records name.
    func invoiceInput(_ record: OrderedJSON, lines: [OrderedJSON], currencies: [String: CurrencyCode], accounts: [String: String],
                      statuses: PaymentStatusIds) throws -> InvoiceInput {
        let currencyId = record["CurrencyId"]?.text?.lowercased() ?? ""
        guard let currency = currencies[currencyId] else { throw SyncMappingError("currency \(currencyId) is not a known Creatio currency") }
        let crmAccount = record["AccountId"]?.text ?? ""
        guard crmAccount != CreatioSimulator.zeroGuid, !crmAccount.isEmpty else { throw SyncMappingError("the invoice has no account") }
        guard let accountId = accounts[crmAccount] else {
            throw SyncMappingError("account \(crmAccount) has not been synced")
        }
        guard let issueDate = Self.date(record["StartDate"]) else { throw SyncMappingError("the invoice has no date") }
        let digits = currency.minorDigits
        let mappedLines = try lines.enumerated().map { index, line in try Self.invoiceLine(line, position: index + 1, digits: digits) }
        let total = try CreatioDecimal.scaled(record["Amount"], digits: digits)
        let subtotal = mappedLines.isEmpty ? total : mappedLines.reduce(0) { $0 + $1.lineTotal }
        let taxTotal = mappedLines.reduce(0) { $0 + $1.tax }
        // Only the CRM's own states are taken; paid or not follows what the portal records.
        let status: InvoiceStatus = switch statuses.status(forId: record["PaymentStatusId"]?.text ?? "") {
        case .void?: .void
        case .draft?: .draft
        default: .open
        }
        return InvoiceInput(accountId: accountId, externalId: record["Id"]!.text!, number: record["Number"]?.text ?? "", issueDate: issueDate,
                            dueDate: Self.date(record["DueDate"]) ?? issueDate, currency: currency, lines: mappedLines,
                            subtotal: subtotal, taxTotal: taxTotal, total: total,
                            amountPaid: try CreatioDecimal.scaled(record["PaymentAmount"], digits: digits), crmStatus: status,
                            notes: record["Notes"]?.text ?? "", crmModifiedOn: record["ModifiedOn"]?.text)
    }

    static func invoiceLine(_ line: OrderedJSON, position: Int, digits: Int) throws -> InvoiceLine {
        let amount = try CreatioDecimal.scaled(line["Amount"], digits: digits)
        let discount = try CreatioDecimal.scaled(line["DiscountAmount"], digits: digits)
        return InvoiceLine(position: position, externalId: line["Id"]?.text, description: line["Name"]?.text ?? "",
                           quantity: Quantity(milli: try CreatioDecimal.scaled(line["Quantity"], digits: 3)),
                           unitPrice: try CreatioDecimal.scaled(line["Price"], digits: digits), discount: discount,
                           tax: try CreatioDecimal.scaled(line["TaxAmount"], digits: digits), lineTotal: amount - discount)
    }

    /// Whether the portal's copy of a line is what Creatio sent: on the same invoice, mapping to the
    /// same values. A line that does not map is never a match, so its invoice is read and fails visibly.
    static func matches(_ line: OrderedJSON, _ stored: StoredCRMLine?) -> Bool {
        guard let stored, line["InvoiceId"]?.text?.lowercased() == stored.invoiceExternalId.lowercased(),
              let mapped = try? invoiceLine(line, position: stored.line.position, digits: stored.currency.minorDigits) else { return false }
        return mapped == stored.line
    }

    /// The day of a Creatio date; its empty date (0001-01-01) is no date.
    static func date(_ value: OrderedJSON?) -> CalendarDate? {
        guard let text = value?.text, text.count >= 10, !text.hasPrefix("0001-") else { return nil }
        return CalendarDate(iso: String(text.prefix(10)))
    }

    static let lineOrder = ["CreatedOn", "Id"]
    /// Reads of one page's lines in flight at once.
    static let concurrentReads = 4

    static func chunks(_ ids: [String]) -> [[String]] { CreatioClient.chunks(ids) }

    static func describe(_ error: any Error) -> String {
        switch error {
        case InvoiceError.invalid(let message): message
        case let error as any CustomStringConvertible: error.description
        default: "\(error)"
        }
    }
}
