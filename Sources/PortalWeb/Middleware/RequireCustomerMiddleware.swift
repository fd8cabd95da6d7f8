import Hummingbird
import PortalCore

/// Gatekeeper for customer pages: a half-finished sign-in is sent to its next step (the code page,
/// or MFA enrolment, which is the only page an unenrolled user may see); no session goes to /login.
/// A staff member viewing as a customer passes as that customer until the time limit, when the
/// impersonation ends and they are back in the console.
struct RequireCustomerMiddleware: RouterMiddleware {
    typealias Context = PortalRequestContext
    let impersonation: ImpersonationService
    let cookies: SessionCookies

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if let viewing = context.impersonation, let staffSession = context.staffSession, context.staff?.status == .active {
            if impersonation.hasExpired(viewing) || context.impersonated?.user.status != .active {
                let customer = try await impersonation.end(staffSessionHash: staffSession.idHash, reason: .expired, client: context.client)
                var response = Response.redirect(to: customer.map(SitePath.staffCustomer) ?? SitePath.staff)
                response.setCookie(cookies.flash(.impersonationExpired))
                return response
            }
            guard let (user, accounts) = context.impersonated else { return .redirect(to: SitePath.staff) }
            var context = context
            let active = accounts.first { $0.id == staffSession.activeAccountId } ?? accounts.first
            context.customer = CustomerIdentity(user: user, accounts: accounts, activeAccount: active)
            return try await next(request, context)
        }
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

/// While a staff member views as a customer, changes are refused by default: only switching the
/// account being viewed, and for finance a staff-assisted payment, get through. Listing what is
/// allowed (rather than what is not) keeps a new form from slipping past.
struct ImpersonationGuardMiddleware: RouterMiddleware {
    typealias Context = CustomerRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let viewing = context.impersonation, request.method != .get, request.method != .head else {
            return try await next(request, context)
        }
        let path = request.uri.path
        if path == SitePath.accountSwitch { return try await next(request, context) }
        let payment = path == SitePath.pay || path == SitePath.pay + "/review"
            || (path.hasPrefix(SitePath.payments + "/") && path.hasSuffix("/authenticated"))
        if payment {
            guard viewing.staff.role.includes(.finance) else {
                throw PageError(status: .forbidden, message: "While viewing as a customer, only finance staff can take a payment, recorded as staff-assisted.")
            }
            return try await next(request, context)
        }
        throw PageError(status: .forbidden, message: "While viewing as a customer you can't change their sign-in, security, cards, autopay or "
                        + "sessions. Stop viewing as them first; the customer makes these changes themselves.")
    }
}
