import Hummingbird
import PortalCore

/// Gatekeeper for customer pages: a half-finished sign-in is sent to its next step (the code page,
/// or MFA enrolment, which is the only page an unenrolled user may see); no session goes to /login.
struct RequireCustomerMiddleware: RouterMiddleware {
    typealias Context = PortalRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let session = context.session, session.principal.kind == .customer else {
            return .redirect(to: SitePath.login)
        }
        switch session.stage {
        case .password: return .redirect(to: SitePath.loginMFA)
        case .enrolment: return .redirect(to: SitePath.mfaSetup)
        case .complete: break
        }
        // The session lookup read the customer and their accounts in the same transaction.
        guard let (user, accounts) = context.loadedCustomer, user.status == .active else {
            return .redirect(to: SitePath.login)
        }
        var context = context
        let active = accounts.first { $0.id == session.activeAccountId } ?? accounts.first
        context.customer = CustomerIdentity(user: user, accounts: accounts, activeAccount: active)
        return try await next(request, context)
    }
}
