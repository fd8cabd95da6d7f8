import Foundation
import Gateways

/// An in-memory Creatio for the tests and the demo: forms and OAuth sign-in, CSRF, lapsed sessions
/// (as a 401 or as a redirect to the login page, the two forms real instances use), and OData 4
/// collections with the query options the sync engine sends. Faults can be injected.
public actor CreatioSimulator {
    public enum LapsedSession: Sendable { case unauthorized, redirectToLogin }

    /// Every collection's columns and their defaults: records always carry all of them, as Creatio's do,
    /// and a query naming any other column is refused the way Creatio refuses it.
    static let schemas: [String: [(String, OrderedJSON)]] = [
        "Account": [("Name", ""), ("Code", ""), ("Phone", ""), ("Web", "")],
        "Contact": [("Name", ""), ("Email", ""), ("Phone", ""), ("AccountId", .string(zeroGuid))],
        "Currency": [("Code", ""), ("ShortName", ""), ("Name", "")],
        "Invoice": [("Number", ""), ("StartDate", .string(emptyDate)), ("DueDate", .string(emptyDate)), ("AccountId", .string(zeroGuid)),
                    ("ContactId", .string(zeroGuid)), ("CurrencyId", .string(zeroGuid)), ("Amount", .number("0.00")),
                    ("PaymentAmount", .number("0.00")), ("PaymentStatusId", .string(CreatioPaymentStatus.waitingPayment)), ("Notes", "")],
        "InvoiceProduct": [("InvoiceId", .string(zeroGuid)), ("Name", ""), ("Quantity", .number("0.000")), ("Price", .number("0.00")),
                           ("Amount", .number("0.00")), ("DiscountAmount", .number("0.00")), ("TaxAmount", .number("0.00")),
                           ("TotalAmount", .number("0.00"))],
        "InvoicePaymentStatus": [("Name", ""), ("FinalStatus", .bool(false))],
    ]
    static let baseColumns = ["Id", "CreatedOn", "ModifiedOn", "ProcessListeners"]
    public static let zeroGuid = "00000000-0000-0000-0000-000000000000"
    static let emptyDate = "0001-01-01T00:00:00Z"

    var users: [String: String] = ["Supervisor": "Supervisor"]
    var clients: [String: String] = [:]
    var sessions: [String: String] = [:]
    var tokens: Set<String> = []
    var collections: [String: [OrderedJSON]] = [:] { didSet { version += 1 } }
    /// Bumped by every change, so cached sorts and indexes know they are stale.
    var version = 0
    var indexes = SimulatorIndexes()
    let stampFormatter: ISO8601DateFormatter = {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter
    }()
    var tick = 0
    var clockBase: TimeInterval = 1_767_225_600
    var failures: (after: Int, count: Int, status: Int) = (0, 0, 500)
    var delay: Duration?
    public var lapsedSession: LapsedSession = .unauthorized
    public private(set) var logins = 0
    public private(set) var odataRequests = 0
    /// `$batch` requests received (each also counts once in `odataRequests`).
    public internal(set) var batchRequests = 0
    /// Columns a customised instance has beyond the stock ones (`Usr…` fields), per collection.
    var addedColumns: [String: [(String, OrderedJSON)]] = [:]
    /// PATCHes applied, by "Collection(id)", whether sent alone or inside a `$batch`.
    var appliedPatches: [String: Int] = [:]
    /// Records whose writes are refused with this answer (a validation rule, a deleted record).
    var refusals: [String: (status: Int, message: String)] = [:]

    public init() {
        // A fresh instance has the stock payment statuses.
        let stock: [(id: String, name: String, isFinal: Bool)] = [
            (CreatioPaymentStatus.waitingPayment, "Waiting for payment", false), (CreatioPaymentStatus.partiallyPaid, "Partially paid", false),
            (CreatioPaymentStatus.paid, "Paid", true), (CreatioPaymentStatus.canceled, "Canceled", true),
            (CreatioPaymentStatus.notInvoiced, "Not invoiced", false),
        ]
        collections["InvoicePaymentStatus"] = stock.map { status in
            ["Id": .string(status.id), "CreatedOn": .string(Self.emptyDate), "ModifiedOn": .string(Self.emptyDate), "ProcessListeners": .number("0"),
             "Name": .string(status.name), "FinalStatus": .bool(status.isFinal)]
        }
    }

    // MARK: Setup

    public func addUser(_ name: String, password: String) { users[name] = password }
    public func addClient(_ id: String, secret: String) { clients[id] = secret }
    public func setLapsedSession(_ mode: LapsedSession) { lapsedSession = mode }
    /// Forgets every session and token, as an idle timeout would.
    public func expireSessions() {
        sessions = [:]
        tokens = []
    }
    /// After `after` more OData requests succeed, the next `count` fail with `status`.
    public func failNext(_ count: Int, status: Int = 500, after: Int = 0) { failures = (after, count, status) }
    /// Every answer waits this long first (nil: none).
    public func setDelay(_ delay: Duration?) { self.delay = delay }
    /// Adds columns to a collection, as a customised instance has (`UsrPaymentLink`, …); existing records get the default.
    package func addColumns(_ collection: String, _ columns: [(String, OrderedJSON)]) {
        addedColumns[collection, default: []] += columns
        for index in (collections[collection] ?? []).indices {
            var members = collections[collection]![index].members
            for (name, fallback) in columns where !members.contains(where: { $0.key == name }) { members.append(.init(key: name, value: fallback)) }
            collections[collection]![index] = .object(members)
        }
    }
    /// Writes to this record are refused with `status` until `acceptWrites`.
    package func refuseWrites(to id: String, status: Int = 400, message: String = "The value is not valid.") {
        refusals[id.lowercased()] = (status, message)
    }
    package func acceptWrites(to id: String) { refusals[id.lowercased()] = nil }
    /// How many PATCHes changed this record, alone or in a `$batch`.
    package func patchCount(_ collection: String, id: String) -> Int { appliedPatches["\(collection)(\(id.lowercased()))"] ?? 0 }
    package var totalPatches: Int { appliedPatches.values.reduce(0, +) }

    func columnsOf(_ collection: String) -> [(String, OrderedJSON)]? {
        Self.schemas[collection].map { $0 + (addedColumns[collection] ?? []) }
    }

    /// Adds a record with the collection's defaults for anything not given; returns its Id.
    @discardableResult
    package func seed(_ collection: String, _ fields: [String: OrderedJSON]) -> String {
        let id = fields["Id"]?.text ?? UUID().uuidString.lowercased()
        let stamp = fields["ModifiedOn"]?.text.map(observe) ?? nextStamp()
        var members: [OrderedJSON.Member] = [.init(key: "Id", value: .string(id)), .init(key: "CreatedOn", value: .string(stamp)),
                                             .init(key: "ModifiedOn", value: .string(stamp)), .init(key: "ProcessListeners", value: .number("0"))]
        for (column, fallback) in columnsOf(collection) ?? [] { members.append(.init(key: column, value: fields[column] ?? fallback)) }
        collections[collection, default: []].append(.object(members))
        return id
    }

    /// A change made by someone in Creatio: the fields change and ModifiedOn moves on.
    package func update(_ collection: String, id: String, _ fields: [String: OrderedJSON]) -> Bool {
        guard let index = collections[collection]?.firstIndex(where: { $0["Id"]?.text == id }) else { return false }
        var members = collections[collection]![index].members
        var changes = fields
        changes["ModifiedOn"] = .string(changes["ModifiedOn"]?.text.map(observe) ?? nextStamp())
        for (key, value) in changes {
            if let at = members.firstIndex(where: { $0.key == key }) { members[at].value = value } else { members.append(.init(key: key, value: value)) }
        }
        collections[collection]![index] = .object(members)
        return true
    }

    /// A record deleted in Creatio: gone, with nothing left to say it was there.
    @discardableResult
    package func delete(_ collection: String, id: String) -> Bool {
        guard let index = collections[collection]?.firstIndex(where: { $0["Id"]?.text == id }) else { return false }
        collections[collection]!.remove(at: index)
        return true
    }

    package func records(_ collection: String) -> [OrderedJSON] { collections[collection] ?? [] }

    /// ModifiedOn values one millisecond apart from 2026-01-01, with Creatio's seven fractional digits,
    /// so runs are repeatable and every change sorts after the last.
    func nextStamp() -> String {
        tick += 1
        let date = Date(timeIntervalSince1970: clockBase + Double(tick / 1000))
        let seconds = stampFormatter.string(from: date).dropLast()
        return "\(seconds).\(String(format: "%03d", tick % 1000))0000Z"
    }

    /// A ModifiedOn given by a test: later changes must still sort after it, as Creatio's clock would.
    func observe(_ stamp: String) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        if let date = formatter.date(from: String(stamp.prefix(19)) + "Z"), date.timeIntervalSince1970 >= clockBase + Double(tick / 1000) {
            clockBase = date.timeIntervalSince1970 + 1
            tick = 0
        }
        return stamp
    }

    // MARK: Wire

    struct Answer: Sendable {
        var status: Int
        var headers: [(String, String)] = []
        var body: [UInt8] = []

        static func json(_ status: Int, _ value: OrderedJSON, headers: [(String, String)] = []) -> Answer {
            Answer(status: status, headers: [("Content-Type", "application/json; charset=utf-8")] + headers, body: value.serialized())
        }

        static func odataError(_ status: Int, _ message: String, code: String = "-1") -> Answer {
            json(status, ["error": ["code": .string(code), "message": .string(message)]])
        }
    }

    func pause() async throws {
        if let delay { try await Task.sleep(for: delay) }
    }

    func login(_ body: [UInt8]) -> Answer {
        guard let request = try? OrderedJSON.parse(body), let user = request["UserName"]?.text,
              let password = request["UserPassword"]?.text, users[user] == password else {
            return .json(200, ["Code": .number("1"), "Message": "Either username or password is specified incorrectly or the user does not exist.",
                               "Exception": .null, "PasswordChangeUrl": .null, "RedirectUrl": .null])
        }
        logins += 1
        let auth = Self.randomToken(), csrf = Self.randomToken(16)
        sessions[auth] = csrf
        let userName = user.unicodeScalars.map { String($0.value) }.joined(separator: "|")
        return .json(200, ["Code": .number("0"), "Message": "", "Exception": .null, "PasswordChangeUrl": .null, "RedirectUrl": .null], headers: [
            ("Set-Cookie", "BPMLOADER=\(Self.randomToken(12)); path=/; HttpOnly"),
            ("Set-Cookie", ".ASPXAUTH=\(auth); path=/; HttpOnly"),
            ("Set-Cookie", "BPMCSRF=\(csrf); path=/"),
            ("Set-Cookie", "UserName=\(userName); path=/; HttpOnly"),
        ])
    }

    func token(_ body: [UInt8]) -> Answer {
        var form: [String: String] = [:]
        for pair in String(decoding: body, as: UTF8.self).split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1).map { String($0).removingPercentEncoding ?? String($0) }
            if parts.count == 2 { form[parts[0]] = parts[1] }
        }
        guard form["grant_type"] == "client_credentials", let id = form["client_id"], let secret = clients[id], secret == form["client_secret"] else {
            return .json(400, ["error": "invalid_client"])
        }
        logins += 1
        let token = Self.randomToken()
        tokens.insert(token)
        return .json(200, ["access_token": .string(token), "expires_in": .number("3600"), "token_type": "Bearer", "scope": "ApiScope"])
    }

    /// Session first (401 or the login redirect), then CSRF (403), as Creatio checks them.
    func authorize(cookie: String?, csrf: String?, authorization: String?) -> Answer? {
        if let authorization, authorization.hasPrefix("Bearer ") {
            return tokens.contains(String(authorization.dropFirst(7))) ? nil : lapsed()
        }
        let jar = (cookie ?? "").split(separator: ";").reduce(into: [String: String]()) { jar, pair in
            let parts = pair.trimmingCharacters(in: .whitespaces).split(separator: "=", maxSplits: 1).map(String.init)
            if parts.count == 2 { jar[parts[0]] = parts[1] }
        }
        guard let auth = jar[".ASPXAUTH"], let expected = sessions[auth] else { return lapsed() }
        guard let csrf, csrf == expected else { return Answer(status: 403, body: Array("Forbidden".utf8)) }
        return nil
    }

    func lapsed() -> Answer {
        switch lapsedSession {
        case .unauthorized:
            return .json(401, ["Message": "Authentication failed.", "StackTrace": .null, "ExceptionType": "System.Security.Authentication.AuthenticationException"])
        case .redirectToLogin:
            return Answer(status: 302, headers: [("Location", "/Login/Login.html")])
        }
    }

    func odata(method: String, path: String, query: [String: String], body: [UInt8],
               cookie: String?, csrf: String?, authorization: String?, prefer: String? = nil) -> Answer {
        if let refusal = authorize(cookie: cookie, csrf: csrf, authorization: authorization) { return refusal }
        odataRequests += 1
        if failures.count > 0 {
            if failures.after > 0 {
                failures.after -= 1
            } else {
                failures.count -= 1
                return .odataError(failures.status, "Internal server error (injected fault).")
            }
        }
        if path == "$batch" {
            guard method == "POST" else { return .odataError(405, "The HTTP method is not allowed here.") }
            return batch(body, continueOnError: prefer?.lowercased().contains("continue-on-error") == true)
        }
        return dispatch(method: method, path: path, query: query, body: body)
    }

    /// One OData request, signed in and past any injected fault.
    func dispatch(method: String, path: String, query: [String: String], body: [UInt8]) -> Answer {
        var collection = path, key: String?
        if let open = path.firstIndex(of: "("), path.hasSuffix(")") {
            collection = String(path[..<open])
            key = String(path[path.index(after: open)..<path.index(before: path.endIndex)])
        }
        guard let schema = columnsOf(collection) else {
            return Answer(status: 404, headers: [("Content-Type", "text/html")], body: Array("<html><body>404 - File or directory not found.</body></html>".utf8))
        }
        let columns = Set(Self.baseColumns + schema.map(\.0))
        switch (method, key) {
        case ("GET", nil): return list(collection, columns: columns, query: query)
        case ("GET", let id?):
            guard let record = records(collection).first(where: { $0["Id"]?.text == id }) else { return .odataError(404, "Entity not found.") }
            return .json(200, .object([.init(key: "@odata.context", value: .string("$metadata#\(collection)/$entity"))] + record.members))
        case ("POST", nil):
            guard let request = try? OrderedJSON.parse(body), case .object(let members) = request else { return .odataError(400, "The request body is not valid JSON.") }
            if let unknown = members.first(where: { !columns.contains($0.key) }) { return unknownProperty(unknown.key, collection) }
            var fields = Dictionary(members.map { ($0.key, $0.value) }, uniquingKeysWith: { $1 })
            fields["ModifiedOn"] = nil
            let id = seed(collection, fields)
            let record = records(collection).last!
            return .json(201, .object([.init(key: "@odata.context", value: .string("$metadata#\(collection)/$entity"))] + record.members),
                         headers: [("Location", "\(collection)(\(id))")])
        case ("PATCH", let id?):
            if let refusal = refusals[id.lowercased()] { return .odataError(refusal.status, refusal.message) }
            guard let request = try? OrderedJSON.parse(body), case .object(let members) = request else { return .odataError(400, "The request body is not valid JSON.") }
            if let unknown = members.first(where: { !columns.contains($0.key) }) { return unknownProperty(unknown.key, collection) }
            let changed = update(collection, id: id, Dictionary(members.filter { !Self.baseColumns.contains($0.key) }.map { ($0.key, $0.value) },
                                                                uniquingKeysWith: { $1 }))
            guard changed else { return .odataError(404, "Entity not found.") }
            appliedPatches["\(collection)(\(id.lowercased()))", default: 0] += 1
            return Answer(status: 204)
        case ("DELETE", let id?):
            return delete(collection, id: id) ? Answer(status: 204) : .odataError(404, "Entity not found.")
        default:
            return .odataError(405, "The HTTP method is not allowed here.")
        }
    }

    func unknownProperty(_ name: String, _ collection: String) -> Answer {
        .odataError(400, "Could not find a property named '\(name)' on type 'Terrasoft.Configuration.OData.\(collection)'.")
    }

    func list(_ collection: String, columns: Set<String>, query: [String: String]) -> Answer {
        var filter: ODataFilter?
        if let text = query["$filter"] {
            do { filter = try ODataFilter.parse(text) } catch let error as ODataFilter.ParseError { return .odataError(400, error.message) } catch {
                return .odataError(400, "Syntax error.")
            }
            if let unknown = filter!.fields.first(where: { !columns.contains($0) }) { return unknownProperty(unknown, collection) }
        }
        var order: [(String, Bool)] = []
        for part in (query["$orderby"] ?? "").split(separator: ",") {
            let words = part.split(separator: " ").map(String.init)
            guard let field = words.first else { continue }
            guard columns.contains(field) else { return unknownProperty(field, collection) }
            order.append((field, words.count > 1 && words[1].lowercased() == "desc"))
        }
        let all = records(collection)
        let skip = max(0, query["$skip"].flatMap(Int.init) ?? 0), top = query["$top"].flatMap(Int.init).map { max(0, $0) }
        var rows: [OrderedJSON]
        var paged = false
        if let filter, let (field, values) = filter.equalityDisjunction {
            rows = indexes.positions(collection, all, field: field, values: values, version: version).map { all[$0] }
            if !order.isEmpty {
                rows = rows.map { row in (row, order.map { ODataValue.key(row[$0.0]) }) }
                    .sorted { SimulatorIndexes.precedes($0.1, $1.1, order: order) }.map(\.0)
            }
        } else if !order.isEmpty {
            let sorted = indexes.sortedRows(collection, all, order: order, version: version)
            if let filter, let start = filter.lowerBound(onFirstKeyOf: order, keys: sorted.keys) {
                // Everything from the bound on matches: page without copying the rest.
                let from = min(sorted.rows.count, start + skip)
                rows = Array(sorted.rows[from..<min(sorted.rows.count, from + (top ?? sorted.rows.count))])
                paged = true
            } else {
                rows = filter.map { filter in sorted.rows.filter(filter.matches) } ?? sorted.rows
            }
        } else {
            rows = filter.map { filter in all.filter(filter.matches) } ?? all
        }
        if !paged {
            if skip > 0 { rows = Array(rows.dropFirst(skip)) }
            if let top { rows = Array(rows.prefix(top)) }
        }
        if let text = query["$select"] {
            let wanted = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            if let unknown = wanted.first(where: { !columns.contains($0) }) { return unknownProperty(unknown, collection) }
            rows = rows.map { .object($0.members.filter { wanted.contains($0.key) }) }
        }
        return .json(200, ["@odata.context": .string("$metadata#\(collection)"), "value": .array(rows)])
    }

    static func randomToken(_ bytes: Int = 24) -> String {
        (0..<bytes).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined()
    }
}

/// Creatio's stock InvoicePaymentStatus ids (an instance can override them).
public enum CreatioPaymentStatus {
    public static let waitingPayment = "36319d13-98e6-df11-971b-001d60e938c6"
    public static let partiallyPaid = "03794bf5-52e6-df11-971b-001d60e938c6"
    public static let paid = "698d39fd-52e6-df11-971b-001d60e938c6"
    public static let canceled = "3fb932ea-f36b-1410-2691-00155d043205"
    public static let notInvoiced = "02794bf5-52e6-df11-971b-001d60e938c6"
}
