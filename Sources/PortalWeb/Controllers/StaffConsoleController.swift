import Foundation
import Hummingbird
import PortalCore

/// `/staff`: find a customer; their page (accounts, users, invoices, payments, masked cards,
/// autopay, activity) with lock, unlock, MFA reset and re-invite; and where support starts viewing
/// as them. Every staff role may use these; the services check the role again.
struct StaffConsoleController {
    let services: PortalServices
    let renderer: PageRenderer
    let cookies: SessionCookies

    func register(on group: RouterGroup<StaffRequestContext>) {
        group.get(RouterPath(stringLiteral: SitePath.staff), use: home)
        group.get(RouterPath(stringLiteral: SitePath.staff + "/customers/{id}"), use: customer)
        group.post(RouterPath(stringLiteral: SitePath.staff + "/customers/{id}/lock"), use: lock)
        group.post(RouterPath(stringLiteral: SitePath.staff + "/customers/{id}/unlock"), use: unlock)
        group.post(RouterPath(stringLiteral: SitePath.staff + "/customers/{id}/mfa-reset"), use: resetMFA)
        group.post(RouterPath(stringLiteral: SitePath.staff + "/customers/{id}/reinvite"), use: reinvite)
        group.post(RouterPath(stringLiteral: SitePath.staff + "/customers/{id}/invite"), use: invite)
    }

    /// Invites someone else to one of this customer's accounts (a colleague at the same business).
    @Sendable func invite(_ request: Request, context: StaffRequestContext) async throws -> Response {
        let id = context.parameters.get("id") ?? ""
        guard let view = try await services.staffConsole.customerView(userId: id) else { throw PageError.notFound }
        let account = context.form.value("account")
        guard view.accounts.contains(where: { $0.account.id == account }) else { throw PageError.notFound }
        var actor = AuditEvent.staffActor(context.staff, client: context.client)
        actor.action = "invitation.create"
        do {
            _ = try await services.invitations.invite(email: context.form.value("email"), name: context.form.value("name"), accounts: [account],
                                                      invitedBy: actor)
        } catch let error as InvitationError {
            return try await renderCustomer(context, id: id, error: ErrorMessages.invitation(error))
        }
        var response = Response.redirect(to: SitePath.staffCustomer(id), type: .normal)
        response.setCookie(cookies.flash(.staffActionDone))
        return response
    }

    @Sendable func home(_ request: Request, context: StaffRequestContext) async throws -> Response {
        let query = request.queryText("q")
        var values: [String: Any] = ["query": query]
        if !query.isEmpty {
            let results = try await services.staffConsole.search(query)
            values["results"] = results.map { result in
                ViewValues.compact([
                    "url": SitePath.staffCustomer(result.user.id), "email": result.user.email, "name": result.user.name,
                    "status": result.user.status.rawValue, "accounts": result.accounts.map(\.name).joined(separator: ", "),
                    "matched": result.matches.map { "\($0.field.rawValue.replacingOccurrences(of: "_", with: " ")): \($0.value)" }
                        .joined(separator: "; "),
                ])
            }
            values["searched"] = true
            values["none"] = results.isEmpty
        }
        return renderer.render("staff_home", StaffPageContext.values(context, title: "Staff console", values))
    }

    @Sendable func customer(_ request: Request, context: StaffRequestContext) async throws -> Response {
        try await renderCustomer(context, id: context.parameters.get("id") ?? "", error: nil)
    }

    @Sendable func lock(_ request: Request, context: StaffRequestContext) async throws -> Response {
        try await act(context) { id, actor in _ = try await services.staffConsole.lock(userId: id, reason: context.form.value("reason"), actor: actor) }
    }

    @Sendable func unlock(_ request: Request, context: StaffRequestContext) async throws -> Response {
        try await act(context) { id, actor in _ = try await services.staffConsole.unlock(userId: id, reason: context.form.value("reason"), actor: actor) }
    }

    @Sendable func resetMFA(_ request: Request, context: StaffRequestContext) async throws -> Response {
        try await act(context) { id, actor in try await services.staffConsole.resetMFA(userId: id, reason: context.form.value("reason"), actor: actor) }
    }

    @Sendable func reinvite(_ request: Request, context: StaffRequestContext) async throws -> Response {
        try await act(context) { id, actor in _ = try await services.staffConsole.reinvite(userId: id, actor: actor) }
    }

    private func act(_ context: StaffRequestContext, _ body: (String, AuditEvent) async throws -> Void) async throws -> Response {
        let id = context.parameters.get("id") ?? ""
        do {
            try await body(id, AuditEvent.staffActor(context.staff, client: context.client))
        } catch StaffConsoleError.userNotFound {
            throw PageError.notFound
        } catch let error as StaffConsoleError {
            return try await renderCustomer(context, id: id, error: ErrorMessages.staffConsole(error))
        }
        var response = Response.redirect(to: SitePath.staffCustomer(id), type: .normal)
        response.setCookie(cookies.flash(.staffActionDone))
        return response
    }

    func renderCustomer(_ context: StaffRequestContext, id: String, error: String?, issuedLink: IssuedPaymentLink? = nil) async throws -> Response {
        guard let view = try await services.staffConsole.customerView(userId: id) else { throw PageError.notFound }
        var values: [String: Any] = [
            "customer": StaffCustomerViewModel.values(view), "customerId": view.user.id,
            "categories": ImpersonationPolicy.categories.map { ["value": $0, "label": $0.replacingOccurrences(of: "_", with: " ")] },
            "timeLimit": services.impersonation.policy.timeLimitSeconds / 60,
        ]
        if let issuedLink { values["issuedLink"] = ["url": issuedLink.url, "expiresAt": PageContext.date(issuedLink.expiresAt)] }
        if let error { values["error"] = error }
        return renderer.render("staff_customer", StaffPageContext.values(context, title: view.user.email, values),
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
