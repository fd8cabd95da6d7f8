import ArgumentParser
import CreatioSync
import Foundation
import Gateways
import GRDB
import PortalCore

/// `portal bench creatio-import`: a first import of a large CRM from the in-process simulator over
/// loopback HTTP into a fresh database, then a second pass with nothing changed.
struct BenchCreatioImport: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "creatio-import",
        abstract: "Import accounts, invoices and their lines from the Creatio simulator into a fresh database; print time and rows/s.")

    @OptionGroup var options: ConfigOptions
    @Option var accounts = 1_000
    @Option var invoices = 100_000
    @Option(help: "Lines per invoice.") var lines = 3
    @Option(help: "Records per OData page.") var pageSize = 500

    func run() async throws {
        try await runReportingConfiguration {
            let configuration = try options.load(needPublicURL: .optional, needMail: .optional, needKey: .optional)
            for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: configuration.databasePath + suffix) }
            let database = try Runtime.openDatabase(configuration, logger: makeLogger(level: .warning))

            let simulator = CreatioSimulator()
            let seeding = Date()
            let crm = await simulator.seedBenchmark(accounts: accounts, invoices: invoices, linesPerInvoice: lines)
            printNow("simulator seeded with \(accounts) accounts, \(invoices) invoices, \(invoices * lines) lines in \(Self.seconds(since: seeding)) s")
            try await CreatioSimulator.run(simulator) { base in
                let sync = CreatioSyncService(
                    client: CreatioClient(CreatioConfiguration(baseURL: base, odataPath: "0/odata", auth: .forms(user: crm.user, password: crm.password))),
                    db: database, directory: DirectoryService(db: database, hasher: PasswordHasher(), clock: .system),
                    invoices: InvoiceService(db: database, clock: .system), clock: .system, pageSize: pageSize)
                let started = Date()
                let first = await sync.runOnce()
                let elapsed = Date().timeIntervalSince(started)
                let requests = await simulator.odataRequests
                print(first.description)
                guard first.succeeded else { throw ExitCode(1) }
                let counts = try await database.read { db in
                    (try Int.fetchOne(db, sql: "SELECT count(*) FROM invoices") ?? 0, try Int.fetchOne(db, sql: "SELECT count(*) FROM invoice_lines") ?? 0)
                }
                let rows = counts.0 + counts.1
                printNow("first import: \(counts.0) invoices + \(counts.1) lines in \(Self.format(elapsed)) s = \(Int(Double(rows) / elapsed)) rows/s, "
                         + "\(requests) OData requests; target < 60 s: \(elapsed < 60 ? "met" : "MISSED")")
                let again = Date()
                let second = await sync.runOnce()
                printNow("second pass, nothing changed: \(Self.seconds(since: again)) s, "
                         + "\(await simulator.odataRequests - requests) OData requests, \(second.entities.map(\.imported).reduce(0, +)) imported")
            }
        }
    }

    static func seconds(since date: Date) -> String { format(Date().timeIntervalSince(date)) }
    static func format(_ seconds: TimeInterval) -> String { String(format: "%.1f", seconds) }
}
