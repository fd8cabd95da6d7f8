import ArgumentParser
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Gateways
import GRDB
import PortalCore

/// `portal bench autopay`: seeds accounts with saved cards (vaulted at a running sandbox gateway over
/// HTTP), autopay and invoices due today, then lets `--workers` scheduled-charge runners drain them
/// at once, and reports time, charges per second and duplicates (which must be 0).
struct BenchAutopay: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "autopay",
                                                    abstract: "Time the worker draining due autopay charges against the sandbox gateway.")

    @OptionGroup var options: ConfigOptions
    @Option var accounts = 1_000
    @Option(name: .customLong("invoices-per-account")) var invoicesPerAccount = 10
    @Option var workers = 2
    @Option(help: "Charges each worker makes at once.") var concurrency = 8
    @Option(name: .customLong("sandbox-database"), help: "The sandbox gateway's SQLite file, read to count its charges.")
    var sandboxDatabase: String

    func run() async throws {
        try await runReportingConfiguration {
            var configuration = try options.load(needPublicURL: .optional, needMail: .optional)
            guard case .sandbox(let url, _, let publicKey, _) = configuration.gateway else {
                throw ConfigurationError("PORTAL_GATEWAY", "must be sandbox for this benchmark")
            }
            configuration.payments.reconcileAfterSeconds = 600
            for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: configuration.databasePath + suffix) }
            let runtime = try await Runtime.open(configuration, logger: makeLogger(level: try options.logLevelValue()))
            let services = runtime.services
            let sandboxBefore = try Self.sandboxCharges(sandboxDatabase)
            let seeded = Date()
            try await seed(services, sandboxURL: URL(string: url)!, publicKey: publicKey)
            printNow("seeded \(accounts) accounts × \(invoicesPerAccount) invoices in \(Int(Date().timeIntervalSince(seeded))) s")

            let start = ContinuousClock.now
            let summaries = try await withThrowingTaskGroup(of: ScheduledChargeRunner.Summary.self) { group in
                for n in 0..<workers {
                    group.addTask {
                        _ = try await services.scheduledCharges.plan()
                        return try await services.scheduledCharges.runDue(worker: "bench-\(n)", batch: 100, concurrency: concurrency)
                    }
                }
                return try await group.reduce(into: [ScheduledChargeRunner.Summary]()) { $0.append($1) }
            }
            let elapsed = ContinuousClock.now - start
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            let succeeded = summaries.reduce(0) { $0 + $1.succeeded }
            let (payments, paidInvoices, portalDuplicates) = try await services.database.read { db in
                (try Int.fetchOne(db, sql: "SELECT count(*) FROM payments WHERE status = 'succeeded'") ?? 0,
                 try Int.fetchOne(db, sql: "SELECT count(*) FROM invoices WHERE status = 'paid'") ?? 0,
                 try Int.fetchOne(db, sql: """
                    SELECT count(*) FROM (SELECT invoice_id FROM payment_allocations GROUP BY invoice_id HAVING count(*) > 1)
                    """) ?? 0)
            }
            let sandbox = try Self.sandboxCharges(sandboxDatabase)
            let gatewayCharges = sandbox.total - sandboxBefore.total
            let gatewayDuplicates = sandbox.duplicateKeys
            printNow(String(format: "autopay charges=%d workers=%d seconds=%.2f charges_per_s=%.1f gateway_charges=%d payments=%d paid_invoices=%d duplicates=%d",
                            succeeded, workers, seconds, Double(succeeded) / seconds, gatewayCharges, payments, paidInvoices,
                            portalDuplicates + gatewayDuplicates + max(0, gatewayCharges - succeeded)))
        }
    }

    /// Accounts, each with one member, a card vaulted at the sandbox, autopay on, and invoices due today.
    func seed(_ services: PortalServices, sandboxURL: URL, publicKey: String) async throws {
        let today = CalendarDate(Date())
        let now = Int64(Date().timeIntervalSince1970)
        let eur = CurrencyCode("EUR")!
        let (accounts, perAccount) = (self.accounts, invoicesPerAccount)
        try await services.database.write { db in
            for a in 0..<accounts {
                try db.execute(sql: "INSERT INTO accounts (id, external_id, name, status, created_at, updated_at) VALUES (?, ?, ?, 'active', ?, ?)",
                               arguments: ["acc_ap\(a)", "ap-\(a)", "Autopay Customer \(a) Ltd", now, now])
                try db.execute(sql: "INSERT INTO customer_users (id, email, name, status, created_at, updated_at) VALUES (?, ?, ?, 'active', ?, ?)",
                               arguments: ["cu_ap\(a)", "ap\(a)@bench.example.com", "Payer \(a)", now, now])
                try db.execute(sql: "INSERT INTO account_memberships (user_id, account_id, created_at) VALUES (?, ?, ?)",
                               arguments: ["cu_ap\(a)", "acc_ap\(a)", now])
                for n in 0..<perAccount {
                    let amount = Int64(1_000 + (a * perAccount + n) % 50_000)
                    try db.execute(sql: """
                        INSERT INTO invoices (id, account_id, number, issue_date, due_date, currency, subtotal, tax_total, total, amount_paid,
                            balance, status, created_at, updated_at)
                        VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?, 0, ?, 'open', ?, ?)
                        """, arguments: ["inv_ap\(a)_\(n)", "acc_ap\(a)", "AP-\(a)-\(n)", today.adding(days: -20).iso, today.iso, eur.code,
                                         amount, amount, amount, now, now])
                }
            }
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for a in 0..<accounts {
                if a >= 16 { try await group.next() }
                group.addTask {
                    let scope = CustomerScope(userId: "cu_ap\(a)", accountId: "acc_ap\(a)")
                    let token = try await Self.token(sandboxURL, publicKey: publicKey)
                    let actor = AuditEvent(action: "", actorKind: .system, actorLabel: "bench")
                    let method = try await services.paymentMethods.add(scope, accountName: "Autopay Customer \(a) Ltd", email: "ap\(a)@bench.example.com",
                                                                       browserResult: ["token": token], billingName: "Payer \(a)",
                                                                       billingPostcode: "10115", actor: actor)
                    try await services.autopay.enroll(scope, methodId: method.id, timing: .onDueDate, consentGiven: true,
                                                      accountName: "Autopay Customer \(a) Ltd", email: "ap\(a)@bench.example.com",
                                                      client: ClientInfo(address: "127.0.0.1", userAgent: "bench"), actor: actor)
                }
            }
            try await group.waitForAll()
        }
    }

    /// What the hosted fields do in a browser: the card goes to the sandbox, a token comes back.
    static func token(_ base: URL, publicKey: String) async throws -> String {
        var request = URLRequest(url: base.appendingPathComponent("v1/tokens"))
        request.httpMethod = "POST"
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.httpBody = try JSONSerialization.data(withJSONObject: [
            "key": publicKey, "number": SandboxTestCards.all[0].number, "exp_month": 12, "exp_year": 2034, "cvc": "123",
        ])
        let (data, _) = try await URLSession.shared.data(for: request)
        guard let id = (try JSONSerialization.jsonObject(with: data) as? [String: Any])?["id"] as? String else {
            throw ValidationError("the sandbox gave no token: \(String(decoding: data, as: UTF8.self))")
        }
        return id
    }

    /// Charges the sandbox made, and idempotency keys it charged more than once.
    static func sandboxCharges(_ path: String) throws -> (total: Int, duplicateKeys: Int) {
        guard FileManager.default.fileExists(atPath: path) else { return (0, 0) }
        let queue = try DatabaseQueue(path: path, configuration: { var c = Configuration(); c.readonly = true; return c }())
        return try queue.read { db in
            (try Int.fetchOne(db, sql: "SELECT count(*) FROM charges") ?? 0,
             try Int.fetchOne(db, sql: "SELECT count(*) FROM (SELECT idempotency_key FROM charges GROUP BY idempotency_key HAVING count(*) > 1)") ?? 0)
        }
    }
}
