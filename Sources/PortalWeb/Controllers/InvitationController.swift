import Hummingbird
import PortalCore

/// `/invite/{token}`: set a password from an emailed link; MFA enrolment follows. The same page
/// at `/staff/invite/{token}` for staff members invited by an admin, with the staff session's
/// cookie; a link only opens the page of the audience it was issued for.
struct InvitationController {
    let services: PortalServices
    let renderer: PageRenderer
    let cookies: SessionCookies
    var audience = SignInAudience.customer

    func register(on router: Router<PortalRequestContext>) {
        router.get(RouterPath(stringLiteral: audience.invitePrefix + "/{token}"), use: page)
        router.post(RouterPath(stringLiteral: audience.invitePrefix + "/{token}"), use: accept)
    }

    @Sendable func page(_ request: Request, context: PortalRequestContext) async throws -> Response {
        let token = context.parameters.get("token") ?? ""
        do {
            let email = try await services.invitations.lookup(token: token, kind: audience.kind)
            return form(context, token: token, email: email, error: nil)
        } catch InvitationError.invalidOrExpired {
            return invalid(context)
        }
    }

    @Sendable func accept(_ request: Request, context: PortalRequestContext) async throws -> Response {
        let token = context.parameters.get("token") ?? ""
        do {
            let (sessionToken, _) = try await services.invitations.accept(
                token: token, password: context.form.raw("new_password"), confirmation: context.form.raw("new_password_confirm"),
                client: context.client, kind: audience.kind)
            var response = Response.redirect(to: audience.mfaSetup)
            response.setCookie(audience.sessionCookie(cookies, sessionToken))
            return response
        } catch InvitationError.invalidOrExpired {
            return invalid(context)
        } catch let error as InvitationError {
            let email = (try? await services.invitations.lookup(token: token, kind: audience.kind)) ?? ""
            return form(context, token: token, email: email, error: ErrorMessages.invitation(error))
        }
    }

    private func form(_ context: PortalRequestContext, token: String, email: String, error: String?) -> Response {
        var values = audience.formValues.merging(["email": email, "action": audience.invite(token)]) { _, new in new }
        if let error { values["error"] = error }
        return renderer.render("invite", PageContext.anonymous(context, title: "Accept your invitation", values),
                               status: error == nil ? .ok : .unprocessableContent)
    }

    private func invalid(_ context: PortalRequestContext) -> Response {
        renderer.render("invite_invalid", PageContext.anonymous(context, title: "Invitation link not valid", audience.formValues.merging([
            "message": ErrorMessages.invitation(.invalidOrExpired),
        ]) { _, new in new }), status: .gone)
    }
}
