import Crypto
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Gateways
import GRDB
import Hummingbird
import Logging
import ServiceLifecycle
import Testing
@testable import CreatioSync
@testable import PortalCore

/// The Creatio simulator (with the default `Usr…` fields added to Invoice), the sandbox gateway on
/// its own loopback port, and the portal's service layer over one SQLite file with a hand-moved clock.
struct PushHarness: Sendable {
    let h: SyncHarness
    let services: PortalServices
    let clock: ManualClock
    let sandbox: URL
    static let publicKey = "pk_sandbox_push"

    static func run(addDefaultFields: Bool = true, _ body: @Sendable (PushHarness) async throws -> Void) async throws {
        try await SyncHarness.run { h in
            if addDefaultFields {
                await h.simulator.addColumns("Invoice", CreatioFieldMap.Field.allCases.filter { $0.defaultColumn.hasPrefix("Usr") }.map {
                    ($0.defaultColumn, $0 == .isRecurring ? OrderedJSON.bool(false) : "")
                })
            }
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("creatio-push-\(UUID().uuidString)")
            let engine = try SandboxEngine(db: try PortalDatabase.open(path: directory.appendingPathComponent("sandbox.sqlite").path),
                                           clock: .system, fingerprintSecret: "fp")
            let router = SandboxAPI.router(engine: engine, settings: SandboxSettings(secretKey: "sk_sandbox_push", publicKey: publicKey))
            try await Self.serve(router) { sandbox in
                let clock = ManualClock(Date())
                let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
                var logger = Logger(label: "push-tests")
                logger.logLevel = .critical
                let services = try await PortalServices(.init(
                    database: h.pool, clock: clock.clock, secrets: SecretBox(key: SymmetricKey(size: .bits256)),
                    hasher: PasswordHasher(testingParameters: Argon2Parameters(memoryKiB: 1024, iterations: 1, parallelism: 1)),
                    mailTemplates: try await MailTemplates(directory: root.appendingPathComponent("Templates").path),
                    links: LinkBuilder(publicURL: "http://127.0.0.1"),
                    gateway: SandboxGateway(baseURL: sandbox, secretKey: "sk_sandbox_push", publicKey: publicKey, webhookSecret: "whsec"),
                    logger: logger))
                try await body(PushHarness(h: h, services: services, clock: clock, sandbox: sandbox))
            }
        }
    }

    /// A router on a free loopback port for the length of `body`.
    static func serve(_ router: Router<BasicRequestContext>, _ body: @Sendable (URL) async throws -> Void) async throws {
        var logger = Logger(label: "push-tests-sandbox")
        logger.logLevel = .error
        let (ports, continuation) = AsyncStream<Int>.makeStream()
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
                              onServerRunning: { channel in
                                  continuation.yield(channel.localAddress?.port ?? 0)
                                  continuation.finish()
                              }, logger: logger)
        let group = ServiceGroup(configuration: .init(services: [app], logger: logger))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            var iterator = ports.makeAsyncIterator()
            let port = try #require(await iterator.next())
            do {
                try await body(URL(string: "http://127.0.0.1:\(port)")!)
            } catch {
                await group.triggerGracefulShutdown()
                throw error
            }
            await group.triggerGracefulShutdown()
        }
    }

    func pusher(batch: Bool = true, fields: CreatioFieldMap = .defaults, claimSize: Int = 100) -> CreatioPushService {
        var logger = Logger(label: "push")
        logger.logLevel = .critical
        return CreatioPushService(client: h.client(), outbox: services.crmOutbox, links: services.paymentLinks, fields: fields, useBatch: batch, logger: logger,
                                  claimSize: claimSize)
    }

    func pull() async throws {
        let report = await h.sync().runOnce()
        try #require(report.succeeded, "\(report)")
    }

    /// A customer of the portal account synced from this CRM account, with a saved Visa •••• 4242.
    func customer(crmAccount: String, email: String = "payer@example.com") async throws -> (scope: CustomerScope, method: String) {
        let accountId = try #require(try await CreatioSyncStore(db: h.pool, clock: .system).accountIds(crmIds: [crmAccount])[crmAccount])
        let system = AuditEvent(action: "test.seed", actorKind: .system, actorLabel: "tests", clientAddress: "tests")
        _ = try await services.invitations.invite(email: email, accounts: [accountId], invitedBy: system)
        let userId = try await services.directory.activateCustomerForDemo(email: email, password: "correct horse battery staple")
        let scope = CustomerScope(userId: userId, accountId: accountId)
        let method = try await services.paymentMethods.add(scope, accountName: "Acme", email: email,
                                                           browserResult: ["token": try await token("4242424242424242")],
                                                           billingName: "Payer", billingPostcode: "80331", actor: actor(scope))
        return (scope, method.id)
    }

    func actor(_ scope: CustomerScope) -> AuditEvent {
        AuditEvent(action: "", actorKind: .customer, actorId: scope.userId, actorLabel: "payer", clientAddress: "127.0.0.1")
    }

    /// What the hosted fields do in the browser: the card goes to the gateway, the portal gets a token.
    func token(_ number: String) async throws -> String {
        var request = URLRequest(url: sandbox.appendingPathComponent("v1/tokens"))
        request.httpMethod = "POST"
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.httpBody = Data(#"{"key":"\#(Self.publicKey)","number":"\#(number)","exp_month":11,"exp_year":2031,"cvc":"123"}"#.utf8)
        let (data, _) = try await URLSession.shared.data(for: request)
        return try #require(try OrderedJSON.parse(data)["id"]?.text, "no token: \(String(decoding: data, as: UTF8.self))")
    }

    /// Pays one CRM invoice (all of it unless `amount` is given) through the sandbox.
    @discardableResult
    func pay(_ customer: (scope: CustomerScope, method: String), crmInvoice: String, amount: Int64? = nil) async throws -> Payment {
        let invoiceId = try #require(try await portalInvoiceId(crmInvoice))
        let payment = try await services.payments.pay(customer.scope, .init(
            requestKey: SecretToken.generate(), invoiceIds: [invoiceId],
            amount: amount.map { .exactly(Money($0, CurrencyCode("USD")!)) } ?? .typed(""), method: .saved(customer.method),
            actor: actor(customer.scope), accountName: "Acme", email: "payer@example.com"))
        try #require(payment.status == .succeeded, "payment \(payment.status)")
        return payment
    }

    func portalInvoiceId(_ crmId: String) async throws -> String? {
        try await h.pool.read { try String.fetchOne($0, sql: "SELECT id FROM invoices WHERE external_id = ?", arguments: [crmId]) }
    }

    /// A field of the simulator's Invoice, as text.
    func crmField(_ crmInvoice: String, _ field: String) async -> String? {
        await h.simulator.records("Invoice").first { $0["Id"]?.text == crmInvoice }?[field]?.text
    }

    struct OutboxRow: Sendable, Equatable {
        var topic: String
        var invoiceId: String
        var status: String
        var attempts: Int
        var lastError: String?
        var payload: String
    }

    func outboxRows() async throws -> [OutboxRow] {
        try await h.pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM crm_outbox ORDER BY id").map {
                OutboxRow(topic: $0["topic"], invoiceId: $0["invoice_id"], status: $0["status"], attempts: $0["attempts"],
                          lastError: $0["last_error"], payload: $0["payload"])
            }
        }
    }
}
