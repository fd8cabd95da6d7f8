import Hummingbird
import PortalCore

/// `/invite/{token}`: set a password from an emailed link; MFA enrolment follows.
struct InvitationController {
    let services: PortalServices
    let renderer: PageRenderer
    let cookies: SessionCookies

    func register(on router: Router<PortalRequestContext>) {
        router.get(RouterPath(stringLiteral: SitePath.invitePrefix + "/{token}"), use: page)
        router.post(RouterPath(stringLiteral: SitePath.invitePrefix + "/{token}"), use: accept)
    }

    @Sendable func page(_ request: Request, context: PortalRequestContext) async throws -> Response {
        let token = context.parameters.get("token") ?? ""
        do {
            let email = try await services.invitations.lookup(token: token)
            return renderer.render("invite", PageContext.anonymous(context, title: "Accept your invitation", [
                "email": email, "action": SitePath.invite(token),
            ]))
        } catch InvitationError.invalidOrExpired {
            return invalid(context)
        }
    }

    @Sendable func accept(_ request: Request, context: PortalRequestContext) async throws -> Response {
        let token = context.parameters.get("token") ?? ""
        do {
            let (sessionToken, _) = try await services.invitations.accept(
                token: token, password: context.form.raw("new_password"), confirmation: context.form.raw("new_password_confirm"),
                client: context.client)
            var response = Response.redirect(to: SitePath.mfaSetup)
            response.setCookie(cookies.session(sessionToken))
            return response
        } catch InvitationError.invalidOrExpired {
            return invalid(context)
        } catch let error as InvitationError {
            let email = (try? await services.invitations.lookup(token: token)) ?? ""
            return renderer.render("invite", PageContext.anonymous(context, title: "Accept your invitation", [
                "email": email, "action": SitePath.invite(token), "error": ErrorMessages.invitation(error),
            ]), status: .unprocessableContent)
        }
    }

    private func invalid(_ context: PortalRequestContext) -> Response {
        renderer.render("invite_invalid", PageContext.anonymous(context, title: "Invitation link not valid", [
            "message": ErrorMessages.invitation(.invalidOrExpired),
        ]), status: .gone)
    }
}
