import Foundation
import Hummingbird
import HummingbirdCore
import PortalCore

/// For `portal bench page`: the invoice list's stages timed in-process, one after another on one
/// task, without HTTP. Together with `make bench` (the whole request under load) it says where a
/// request's time goes, and unlike wrk it does not depend on what else the machine is doing.
public enum PageBench {
    public struct Stage: Sendable {
        public var name: String
        public var medianMicroseconds: Double
        public var p90Microseconds: Double
    }

    /// Signs the customer in (a real session row), then times each stage `runs` times for the list
    /// at `query` (e.g. "status=all&q=INV&sort=amount&dir=desc"); the session is removed afterwards.
    public static func invoiceList(services: PortalServices, templatesDirectory: String, email: String, query: String,
                                   runs: Int) async throws -> [Stage] {
        let renderer = try await PageRenderer(directory: templatesDirectory)
        guard let credential = try await services.users.credential(email: email, kind: .customer) else {
            throw TemplateError(description: "no customer \(email)")
        }
        let (token, session) = try await services.sessions.create(for: credential.principal, stage: .complete,
                                                                    client: ClientInfo(address: "127.0.0.1"))
        guard let found = try await services.sessions.lookup(token: token), let (user, accounts) = found.customer,
              let account = accounts.first else {
            throw TemplateError(description: "\(email) has no account")
        }
        let identity = CustomerIdentity(user: user, accounts: accounts, activeAccount: account)
        let layout = CustomerLayoutView(title: "Invoices", csrf: "bench-csrf-token", identity: identity, flash: nil)
        let filter = try InvoicesController.filter(query: URI("/invoices?" + query).queryParameters)
        let scope = CustomerScope(userId: user.id, accountId: account.id)
        let page = try await services.invoices.list(scope, filter: filter)

        var stages: [Stage] = []
        func time(_ name: String, _ body: () async throws -> Void) async rethrows {
            var samples: [Double] = []
            for _ in 0..<runs {
                let start = ContinuousClock.now
                try await body()
                let elapsed = ContinuousClock.now - start
                samples.append(Double(elapsed.components.seconds) * 1e6 + Double(elapsed.components.attoseconds) / 1e12)
            }
            samples.sort()
            stages.append(Stage(name: name, medianMicroseconds: samples[samples.count / 2], p90Microseconds: samples[samples.count * 9 / 10]))
        }
        try await time("session lookup (session, customer, accounts)") { _ = try await services.sessions.lookup(token: token) }
        try await time("invoice list query (membership, totals, page)") { _ = try await services.invoices.list(scope, filter: filter) }
        await time("view model + compiled render") {
            _ = renderer.compiled.render("invoices", InvoiceListView(layout: layout, page: page))
        }
        await time("same view through swift-mustache") {
            _ = renderer.library.render(MustacheObject(object: InvoiceListView(layout: layout, page: page)), withTemplate: "invoices")
        }
        try await services.sessions.destroy(session)
        return stages
    }
}
