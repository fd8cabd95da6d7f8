import Hummingbird
import PortalCore

/// `/login` → `/login/mfa` → `/`, and sign-out.
struct AuthController {
    let services: PortalServices
    let renderer: PageRenderer
    let cookies: SessionCookies

    func register(on router: Router<PortalRequestContext>) {
        router.get(RouterPath(stringLiteral: SitePath.login), use: loginPage)
        router.post(RouterPath(stringLiteral: SitePath.login), use: login)
        router.get(RouterPath(stringLiteral: SitePath.loginMFA), use: codePage)
        router.post(RouterPath(stringLiteral: SitePath.loginMFA), use: verifyCode)
        router.post(RouterPath(stringLiteral: SitePath.logout), use: logout)
    }

    @Sendable func loginPage(_ request: Request, context: PortalRequestContext) async throws -> Response {
        if let session = context.session, session.principal.kind == .customer {
            switch session.stage {
            case .complete: return .redirect(to: SitePath.home)
            case .password: return .redirect(to: SitePath.loginMFA)
            case .enrolment: return .redirect(to: SitePath.mfaSetup)
            }
        }
        return renderer.render("login", PageContext.anonymous(context, title: "Sign in"))
    }

    @Sendable func login(_ request: Request, context: PortalRequestContext) async throws -> Response {
        let email = context.form.value("email")
        let password = context.form.raw("password")
        guard !email.isEmpty, !password.isEmpty else {
            return renderer.render("login", PageContext.anonymous(context, title: "Sign in", [
                "email": email, "error": "Enter your email and password.",
            ]), status: .badRequest)
        }
        do {
            let result = try await services.auth.signIn(kind: .customer, email: email, password: password,
                                                        client: context.client, previous: context.session)
            var response = Response.redirect(to: result.next == .secondFactor ? SitePath.loginMFA : SitePath.mfaSetup)
            response.setCookie(cookies.session(result.token))
            return response
        } catch let error as SignInError {
            return renderer.render("login", PageContext.anonymous(context, title: "Sign in", [
                "email": email, "error": ErrorMessages.signIn(error),
            ]), status: ErrorMessages.isThrottle(error) ? .tooManyRequests : .unauthorized)
        }
    }

    @Sendable func codePage(_ request: Request, context: PortalRequestContext) async throws -> Response {
        guard let session = context.session, session.stage == .password else { return .redirect(to: SitePath.login) }
        return renderer.render("login_mfa", PageContext.anonymous(context, title: "Enter your code"))
    }

    @Sendable func verifyCode(_ request: Request, context: PortalRequestContext) async throws -> Response {
        guard let session = context.session, session.stage == .password else {
            return flashRedirect(SitePath.login, .sessionExpired)
        }
        do {
            let (token, _) = try await services.auth.verifySecondFactor(session: session, code: context.form.value("code"), client: context.client)
            var response = Response.redirect(to: SitePath.home)
            response.setCookie(cookies.session(token))
            return response
        } catch SignInError.sessionExpired {
            return flashRedirect(SitePath.login, .sessionExpired)
        } catch SignInError.locked(let retryAfter) {
            var response = renderer.render("login", PageContext.anonymous(context, title: "Sign in", [
                "error": ErrorMessages.signIn(.locked(retryAfter: retryAfter)),
            ]), status: .tooManyRequests)
            response.setCookie(cookies.clearSession())
            return response
        } catch let error as SignInError {
            return renderer.render("login_mfa", PageContext.anonymous(context, title: "Enter your code", [
                "error": ErrorMessages.signIn(error),
            ]), status: ErrorMessages.isThrottle(error) ? .tooManyRequests : .unauthorized)
        }
    }

    @Sendable func logout(_ request: Request, context: PortalRequestContext) async throws -> Response {
        if let session = context.session {
            try await services.auth.signOut(session: session, client: context.client)
        }
        var response = flashRedirect(SitePath.login, .signedOut)
        response.setCookie(cookies.clearSession())
        return response
    }

    private func flashRedirect(_ path: String, _ flash: FlashMessage) -> Response {
        var response = Response.redirect(to: path)
        response.setCookie(cookies.flash(flash))
        return response
    }
}
