import Hummingbird
import PortalCore

/// Starting and stopping "view as customer" from the staff console.
struct ImpersonationController {
    let services: PortalServices
    let cookies: SessionCookies
    let renderError: @Sendable (StaffRequestContext, String, String) async throws -> Response

    func register(on group: RouterGroup<StaffRequestContext>) {
        group.post(RouterPath(stringLiteral: SitePath.staff + "/customers/{id}/impersonate"), use: start)
        group.post(RouterPath(stringLiteral: SitePath.staffImpersonationStop), use: stop)
    }

    @Sendable func start(_ request: Request, context: StaffRequestContext) async throws -> Response {
        let customerId = context.parameters.get("id") ?? ""
        do {
            _ = try await services.impersonation.start(staffSession: context.session, customerUserId: customerId,
                                                       category: context.form.value("category"), reason: context.form.value("reason"),
                                                       client: context.client)
        } catch ImpersonationError.customerNotFound {
            throw PageError.notFound
        } catch let error as ImpersonationError {
            return try await renderError(context, customerId, ErrorMessages.impersonation(error))
        }
        // The customer's first account, whatever the staff member last looked at.
        try await services.sessions.setActiveAccount(context.session, accountId: nil)
        return .redirect(to: SitePath.home, type: .normal)
    }

    @Sendable func stop(_ request: Request, context: StaffRequestContext) async throws -> Response {
        let customer = try await services.impersonation.end(staffSessionHash: context.session.idHash, reason: .stopped, client: context.client)
        var response = Response.redirect(to: customer.map(SitePath.staffCustomer) ?? SitePath.staff, type: .normal)
        response.setCookie(cookies.flash(.impersonationStopped))
        return response
    }
}
