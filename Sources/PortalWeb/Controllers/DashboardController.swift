import Hummingbird
import PortalCore

/// `/`: what the customer owes on the active account, what is overdue, what is due next, the last payment.
struct DashboardController {
    let services: PortalServices
    let renderer: PageRenderer

    func register(on group: RouterGroup<CustomerRequestContext>) {
        group.get(RouterPath(stringLiteral: SitePath.home), use: page)
    }

    @Sendable func page(_ request: Request, context: CustomerRequestContext) async throws -> Response {
        guard let scope = context.scope else {
            return renderer.render("dashboard", PageContext.customer(context, title: "Overview", ["hasAccounts": false]))
        }
        let summary = try await services.invoices.dashboard(scope)
        var values: [String: Any] = [
            "hasAccounts": true,
            "balances": InvoiceViewModels.totals(summary.balances),
            "overdue": InvoiceViewModels.totals(summary.overdue),
            "overdueCount": summary.overdueCount,
            "hasOverdue": summary.overdueCount > 0,
        ]
        if let next = summary.nextDue { values["nextDue"] = InvoiceViewModels.row(next) }
        if let last = summary.lastPayment { values["lastPayment"] = InvoiceViewModels.payment(last) }
        return renderer.render("dashboard", PageContext.customer(context, title: "Overview", values))
    }
}
