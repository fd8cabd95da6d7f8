import Hummingbird
import PortalCore

/// `/`: the signed-in customer's home. Balances and invoices join it with the invoices issue.
struct DashboardController {
    let renderer: PageRenderer

    func register(on group: RouterGroup<CustomerRequestContext>) {
        group.get(RouterPath(stringLiteral: SitePath.home), use: page)
    }

    @Sendable func page(_ request: Request, context: CustomerRequestContext) async throws -> Response {
        renderer.render("dashboard", PageContext.customer(context, title: "Overview", [
            "hasAccounts": !context.identity.accounts.isEmpty,
        ]))
    }
}
