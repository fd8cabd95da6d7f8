import Hummingbird
import PortalCore

/// `/password/forgot` and `/password/reset/{token}`.
struct PasswordResetController {
    let services: PortalServices
    let renderer: PageRenderer
    let cookies: SessionCookies

    func register(on router: Router<PortalRequestContext>) {
        router.get(RouterPath(stringLiteral: SitePath.passwordForgot), use: forgotPage)
        router.post(RouterPath(stringLiteral: SitePath.passwordForgot), use: requestReset)
        router.get(RouterPath(stringLiteral: SitePath.passwordResetPrefix + "/{token}"), use: resetPage)
        router.post(RouterPath(stringLiteral: SitePath.passwordResetPrefix + "/{token}"), use: reset)
    }

    @Sendable func forgotPage(_ request: Request, context: PortalRequestContext) async throws -> Response {
        renderer.render("password_forgot", PageContext.anonymous(context, title: "Reset your password"))
    }

    @Sendable func requestReset(_ request: Request, context: PortalRequestContext) async throws -> Response {
        let email = context.form.value("email")
        guard !email.isEmpty else {
            return renderer.render("password_forgot", PageContext.anonymous(context, title: "Reset your password", [
                "error": "Enter the email address you sign in with.",
            ]), status: .badRequest)
        }
        try await services.passwordReset.request(email: email, client: context.client)
        // The same page whether or not the address has an account.
        return renderer.render("password_forgot_sent", PageContext.anonymous(context, title: "Check your email", ["email": email]))
    }

    @Sendable func resetPage(_ request: Request, context: PortalRequestContext) async throws -> Response {
        let token = context.parameters.get("token") ?? ""
        do {
            let email = try await services.passwordReset.lookup(token: token)
            return renderer.render("password_reset", PageContext.anonymous(context, title: "Choose a new password", [
                "email": email, "action": SitePath.passwordReset(token),
            ]))
        } catch PasswordResetError.invalidOrExpired {
            return invalid(context)
        }
    }

    @Sendable func reset(_ request: Request, context: PortalRequestContext) async throws -> Response {
        let token = context.parameters.get("token") ?? ""
        do {
            try await services.passwordReset.complete(token: token, password: context.form.raw("new_password"),
                                                      confirmation: context.form.raw("new_password_confirm"), client: context.client)
            var response = Response.redirect(to: SitePath.login)
            response.setCookie(cookies.clearSession())
            response.setCookie(cookies.flash(.passwordReset))
            return response
        } catch PasswordResetError.invalidOrExpired {
            return invalid(context)
        } catch let error as PasswordResetError {
            let email = (try? await services.passwordReset.lookup(token: token)) ?? ""
            return renderer.render("password_reset", PageContext.anonymous(context, title: "Choose a new password", [
                "email": email, "action": SitePath.passwordReset(token), "error": ErrorMessages.passwordReset(error),
            ]), status: .unprocessableContent)
        }
    }

    private func invalid(_ context: PortalRequestContext) -> Response {
        renderer.render("password_reset_invalid", PageContext.anonymous(context, title: "Reset link not valid", [
            "message": ErrorMessages.passwordReset(.invalidOrExpired),
        ]), status: .gone)
    }
}
