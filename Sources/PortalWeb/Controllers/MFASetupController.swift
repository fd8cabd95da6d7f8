import Hummingbird
import PortalCore

/// Authenticator enrolment: the only page a signed-in user without MFA may reach.
struct MFASetupController {
    let services: PortalServices
    let renderer: PageRenderer
    let cookies: SessionCookies
    var audience = SignInAudience.customer

    func register(on router: Router<PortalRequestContext>) {
        router.get(RouterPath(stringLiteral: audience.mfaSetup), use: setupPage)
        router.post(RouterPath(stringLiteral: audience.mfaSetup), use: confirm)
    }

    @Sendable func setupPage(_ request: Request, context: PortalRequestContext) async throws -> Response {
        guard let session = audience.session(context) else { return .redirect(to: audience.login) }
        switch session.stage {
        case .complete: return .redirect(to: audience.kind == .customer ? SitePath.account : audience.home)
        case .password: return .redirect(to: audience.loginMFA)
        case .enrolment: return try await renderSetup(context, session: session, error: nil, status: .ok)
        }
    }

    @Sendable func confirm(_ request: Request, context: PortalRequestContext) async throws -> Response {
        guard let session = audience.session(context), session.stage == .enrolment else { return .redirect(to: audience.login) }
        do {
            let result = try await services.auth.completeEnrolment(session: session, code: context.form.value("code"), client: context.client)
            var response = renderer.render("recovery_codes", PageContext.anonymous(context, title: "Save your recovery codes", [
                "codes": result.recoveryCodes, "continueURL": audience.home, "firstTime": true,
            ]))
            response.setCookie(audience.sessionCookie(cookies, result.token))
            return response
        } catch let error as SignInError {
            let message = error == .invalidCode ? ErrorMessages.mfa(.invalidCode) : ErrorMessages.signIn(error)
            return try await renderSetup(context, session: session, error: message,
                                         status: ErrorMessages.isThrottle(error) ? .tooManyRequests : .unprocessableContent)
        } catch let error as MFAError {
            return try await renderSetup(context, session: session, error: ErrorMessages.mfa(error), status: .unprocessableContent)
        }
    }

    private func renderSetup(_ context: PortalRequestContext, session: SessionRecord, error: String?, status: HTTPResponse.Status) async throws -> Response {
        guard let user = try await services.users.credential(session.principal) else { return .redirect(to: audience.login) }
        let prompt = try await services.mfa.enrolmentPrompt(for: session.principal, accountLabel: user.email)
        var values: [String: Any] = audience.formValues.merging([
            "qrSVG": prompt.qrSVG, "secret": prompt.secretGrouped, "secretRaw": prompt.secretBase32,
            "otpauthURI": prompt.provisioningURI, "email": user.email,
        ]) { _, new in new }
        if let error { values["error"] = error }
        return renderer.render("mfa_setup", PageContext.anonymous(context, title: "Set up two-step sign-in", values), status: status)
    }
}
