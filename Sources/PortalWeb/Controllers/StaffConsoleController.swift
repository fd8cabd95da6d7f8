import Hummingbird
import PortalCore

/// `/staff`: the console's home and a customer's page, where support starts viewing as them.
struct StaffConsoleController {
    let services: PortalServices
    let renderer: PageRenderer

    func register(on group: RouterGroup<StaffRequestContext>) {
        group.get(RouterPath(stringLiteral: SitePath.staff), use: home)
        group.get(RouterPath(stringLiteral: SitePath.staff + "/customers/{id}"), use: customer)
    }

    @Sendable func home(_ request: Request, context: StaffRequestContext) async throws -> Response {
        renderer.render("staff_home", StaffPageContext.values(context, title: "Staff console"))
    }

    @Sendable func customer(_ request: Request, context: StaffRequestContext) async throws -> Response {
        try await renderCustomer(context, id: context.parameters.get("id") ?? "", error: nil)
    }

    func renderCustomer(_ context: StaffRequestContext, id: String, error: String?) async throws -> Response {
        guard let user = try await services.users.credential(.customer(id)) else { throw PageError.notFound }
        var values: [String: Any] = [
            "customer": ViewValues.compact(["id": id, "email": user.email, "name": user.name, "status": user.status.rawValue,
                                            "impersonateAction": SitePath.staffImpersonate(id)]),
            "categories": ImpersonationPolicy.categories.map { ["value": $0, "label": $0.replacingOccurrences(of: "_", with: " ")] },
            "timeLimit": services.impersonation.policy.timeLimitSeconds / 60,
        ]
        if let error { values["error"] = error }
        return renderer.render("staff_customer", StaffPageContext.values(context, title: user.email, values),
                               status: error == nil ? .ok : .unprocessableContent)
    }
}

/// Values every staff page's layout needs.
enum StaffPageContext {
    static func values(_ context: StaffRequestContext, title: String, _ extra: [String: Any] = [:]) -> [String: Any] {
        var values: [String: Any?] = [
            "title": title, "csrf": context.csrfToken, "staffSignedIn": true,
            "staff": ["email": context.staff.email, "role": context.staff.role.rawValue],
            "isFinance": context.staff.role.includes(.finance), "isAdmin": context.staff.role.includes(.admin),
        ]
        if let flash = context.flash { values["flash"] = flash.text }
        if let viewing = context.impersonation {
            values["viewing"] = ["customer": viewing.customerEmail, "stopAction": SitePath.staffImpersonationStop]
        }
        return ViewValues.compact(values.merging(extra) { _, new in new })
    }
}
