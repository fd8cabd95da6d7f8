import Hummingbird
import PortalCore

/// `/login` → `/login/mfa` → `/`, and sign-out; the same steps at `/staff/login` for staff, with
/// the staff session's own cookie.
struct AuthController {
    let services: PortalServices
    let renderer: PageRenderer
    let cookies: SessionCookies
    var audience = SignInAudience.customer

    func register(on router: Router<PortalRequestContext>) {
        router.get(RouterPath(stringLiteral: audience.login), use: loginPage)
        router.post(RouterPath(stringLiteral: audience.login), use: login)
        router.get(RouterPath(stringLiteral: audience.loginMFA), use: codePage)
        router.post(RouterPath(stringLiteral: audience.loginMFA), use: verifyCode)
        router.post(RouterPath(stringLiteral: audience.logout), use: logout)
    }

    private func page(_ context: PortalRequestContext, _ template: String, title: String? = nil, _ extra: [String: Any] = [:],
                      status: HTTPResponse.Status = .ok) -> Response {
        renderer.render(template, PageContext.anonymous(context, title: title ?? audience.title,
                                                        audience.formValues.merging(extra) { _, new in new }), status: status)
    }

    @Sendable func loginPage(_ request: Request, context: PortalRequestContext) async throws -> Response {
        if let session = audience.session(context) {
            switch session.stage {
            case .complete: return .redirect(to: audience.home)
            case .password: return .redirect(to: audience.loginMFA)
            case .enrolment: return .redirect(to: audience.mfaSetup)
            }
        }
        return page(context, "login")
    }

    @Sendable func login(_ request: Request, context: PortalRequestContext) async throws -> Response {
        let email = context.form.value("email")
        let password = context.form.raw("password")
        guard !email.isEmpty, !password.isEmpty else {
            return page(context, "login", ["email": email, "error": "Enter your email and password."], status: .badRequest)
        }
        do {
            let result = try await services.auth.signIn(kind: audience.kind, email: email, password: password,
                                                        client: context.client, previous: audience.session(context))
            var response = Response.redirect(to: result.next == .secondFactor ? audience.loginMFA : audience.mfaSetup)
            response.setCookie(audience.sessionCookie(cookies, result.token))
            return response
        } catch let error as SignInError {
            return page(context, "login", ["email": email, "error": ErrorMessages.signIn(error)],
                        status: ErrorMessages.isThrottle(error) ? .tooManyRequests : .unauthorized)
        }
    }

    @Sendable func codePage(_ request: Request, context: PortalRequestContext) async throws -> Response {
        guard let session = audience.session(context), session.stage == .password else { return .redirect(to: audience.login) }
        return page(context, "login_mfa", title: "Enter your code")
    }

    @Sendable func verifyCode(_ request: Request, context: PortalRequestContext) async throws -> Response {
        guard let session = audience.session(context), session.stage == .password else {
            return flashRedirect(audience.login, .sessionExpired)
        }
        do {
            let (token, _) = try await services.auth.verifySecondFactor(session: session, code: context.form.value("code"), client: context.client)
            var response = Response.redirect(to: audience.home)
            response.setCookie(audience.sessionCookie(cookies, token))
            return response
        } catch SignInError.sessionExpired {
            return flashRedirect(audience.login, .sessionExpired)
        } catch SignInError.locked(let retryAfter) {
            var response = page(context, "login", ["error": ErrorMessages.signIn(.locked(retryAfter: retryAfter))], status: .tooManyRequests)
            response.setCookie(audience.clearSessionCookie(cookies))
            return response
        } catch let error as SignInError {
            return page(context, "login_mfa", title: "Enter your code", ["error": ErrorMessages.signIn(error)],
                        status: ErrorMessages.isThrottle(error) ? .tooManyRequests : .unauthorized)
        }
    }

    @Sendable func logout(_ request: Request, context: PortalRequestContext) async throws -> Response {
        if let session = audience.session(context) {
            if audience.kind == .staff {
                try await services.impersonation.end(staffSessionHash: session.idHash, reason: .signedOut, client: context.client)
            }
            try await services.auth.signOut(session: session, client: context.client)
        }
        var response = flashRedirect(audience.login, .signedOut)
        response.setCookie(audience.clearSessionCookie(cookies))
        return response
    }

    private func flashRedirect(_ path: String, _ flash: FlashMessage) -> Response {
        var response = Response.redirect(to: path)
        response.setCookie(cookies.flash(flash))
        return response
    }
}
