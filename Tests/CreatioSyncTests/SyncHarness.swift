import Foundation
import Gateways
import GRDB
@testable import CreatioSync
@testable import PortalCore

/// A simulator on a loopback port and a fresh, migrated portal database, for one test.
struct SyncHarness: Sendable {
    let simulator: CreatioSimulator
    let base: URL
    let pool: DatabasePool
    let usd = "915e8a55-98d6-df11-9b2a-001d60e938c6"

    static func run(_ body: @Sendable (SyncHarness) async throws -> Void) async throws {
        let simulator = CreatioSimulator()
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("creatio-sync-\(UUID().uuidString)")
        let pool = try PortalDatabase.open(path: directory.appendingPathComponent("portal.sqlite").path)
        try Migrator(directory: root.appendingPathComponent("Migrations").path).migrate(pool)
        try await CreatioSimulator.run(simulator) { base in
            let harness = SyncHarness(simulator: simulator, base: base, pool: pool)
            await simulator.seed("Currency", ["Id": .string(harness.usd), "Code": "USD", "ShortName": "$", "Name": "US Dollar"])
            try await body(harness)
        }
    }

    func client(_ auth: CreatioConfiguration.Auth = .forms(user: "Supervisor", password: "Supervisor"), odataPath: String = "0/odata",
                timeout: TimeInterval = 10) -> CreatioClient {
        CreatioClient(CreatioConfiguration(baseURL: base, odataPath: odataPath, auth: auth, timeout: timeout))
    }

    func sync(pageSize: Int = 500) -> CreatioSyncService {
        CreatioSyncService(client: client(), db: pool, directory: DirectoryService(db: pool, hasher: PasswordHasher(), clock: .system),
                           invoices: InvoiceService(db: pool, clock: .system), clock: .system, pageSize: pageSize)
    }

    @discardableResult
    func account(_ name: String) async -> String { await simulator.seed("Account", ["Name": .string(name)]) }

    @discardableResult
    func invoice(_ number: String, account: String, amount: String, extra: [String: OrderedJSON] = [:]) async -> String {
        var fields: [String: OrderedJSON] = ["Number": .string(number), "AccountId": .string(account), "CurrencyId": .string(usd),
                                             "Amount": .number(amount), "StartDate": "2026-03-01T00:00:00Z", "DueDate": "2026-03-31T00:00:00Z"]
        fields.merge(extra) { $1 }
        return await simulator.seed("Invoice", fields)
    }

    @discardableResult
    func line(_ invoice: String, name: String, quantity: String, price: String, amount: String, tax: String = "0.00") async -> String {
        await simulator.seed("InvoiceProduct", ["InvoiceId": .string(invoice), "Name": .string(name), "Quantity": .number(quantity),
                                                "Price": .number(price), "Amount": .number(amount), "TaxAmount": .number(tax),
                                                "DiscountAmount": .number("0.00")])
    }

    func count(_ sql: String, _ arguments: StatementArguments = []) async throws -> Int {
        try await pool.read { try Int.fetchOne($0, sql: sql, arguments: arguments) ?? 0 }
    }

    /// A synchronous read: `Row` is not Sendable, so it cannot leave an async read.
    func invoiceRow(crmId: String) async throws -> Row? {
        try pool.read { try Row.fetchOne($0, sql: "SELECT * FROM invoices WHERE external_id = ?", arguments: [crmId]) }
    }
}
