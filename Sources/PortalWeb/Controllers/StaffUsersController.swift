import Hummingbird
import PortalCore

/// `/staff/users` (admins only): the staff list, inviting a member, and per member changing their
/// role, disabling or enabling them and resending an invitation. The service checks the actor's
/// role again inside each change, and refuses what would lock the console out (yourself, the last admin).
struct StaffUsersController {
    let services: PortalServices
    let renderer: PageRenderer
    let cookies: SessionCookies

    func register(on staff: RouterGroup<StaffRequestContext>) {
        let admin = staff.group().add(middleware: RequireRoleMiddleware(needed: .admin))
        admin.get(RouterPath(stringLiteral: SitePath.staffUsers), use: list)
        admin.post(RouterPath(stringLiteral: SitePath.staffUsers), use: invite)
        admin.post(RouterPath(stringLiteral: SitePath.staffUserRole("{id}")), use: changeRole)
        admin.post(RouterPath(stringLiteral: SitePath.staffUserDisable("{id}")), use: disable)
        admin.post(RouterPath(stringLiteral: SitePath.staffUserEnable("{id}")), use: enable)
        admin.post(RouterPath(stringLiteral: SitePath.staffUserResend("{id}")), use: resend)
    }

    @Sendable func list(_ request: Request, context: StaffRequestContext) async throws -> Response {
        try await render(context, error: nil)
    }

    @Sendable func invite(_ request: Request, context: StaffRequestContext) async throws -> Response {
        let email = context.form.value("email")
        let name = context.form.value("name")
        let role = try chosenRole(context)
        do {
            // The returned link is deliberately dropped: it goes to the invitee's inbox only.
            _ = try await services.staffUsers.create(email: email, name: name, role: role, actor: context.actor)
        } catch let error as StaffUserError {
            return try await failure(error, context, invite: (email, name, role))
        }
        return flashRedirect(SitePath.staffUsers, .staffInvited)
    }

    @Sendable func changeRole(_ request: Request, context: StaffRequestContext) async throws -> Response {
        let id = context.parameters.get("id") ?? ""
        let role = try chosenRole(context)
        do {
            try await services.staffUsers.changeRole(staffId: id, role: role, actor: context.actor)
        } catch let error as StaffUserError {
            return try await failure(error, context)
        }
        // An admin who gave up their own admin role can no longer see this page.
        let landing = id == context.staff.id && !role.includes(.admin) ? SitePath.staff : SitePath.staffUsers
        return flashRedirect(landing, .staffRoleChanged)
    }

    @Sendable func disable(_ request: Request, context: StaffRequestContext) async throws -> Response {
        try await perform(context, .staffDisabled) { id in
            try await services.staffUsers.disable(staffId: id, actor: context.actor)
        }
    }

    @Sendable func enable(_ request: Request, context: StaffRequestContext) async throws -> Response {
        try await perform(context, .staffEnabled) { id in
            try await services.staffUsers.enable(staffId: id, actor: context.actor)
        }
    }

    @Sendable func resend(_ request: Request, context: StaffRequestContext) async throws -> Response {
        try await perform(context, .staffInvitationResent) { id in
            _ = try await services.staffUsers.resendInvitation(staffId: id, actor: context.actor)
        }
    }

    private func perform(_ context: StaffRequestContext, _ flash: FlashMessage, _ body: (String) async throws -> Void) async throws -> Response {
        do {
            try await body(context.parameters.get("id") ?? "")
        } catch let error as StaffUserError {
            return try await failure(error, context)
        }
        return flashRedirect(SitePath.staffUsers, flash)
    }

    /// The role select only offers real roles, so anything else is a forged form.
    private func chosenRole(_ context: StaffRequestContext) throws -> StaffRole {
        guard let role = StaffRole(rawValue: context.form.value("role")) else { throw PageError.badRequest("Choose one of the roles.") }
        return role
    }

    private func failure(_ error: StaffUserError, _ context: StaffRequestContext,
                         invite: (email: String, name: String, role: StaffRole)? = nil) async throws -> Response {
        switch error {
        case .notFound: throw PageError.notFound
        // Demoted or disabled since the page loaded: the service saw the current role.
        case .notPermitted: throw PageError(status: .forbidden, message: ErrorMessages.staffUser(error))
        default: return try await render(context, error: ErrorMessages.staffUser(error), invite: invite)
        }
    }

    private func render(_ context: StaffRequestContext, error: String?,
                        invite: (email: String, name: String, role: StaffRole)? = nil) async throws -> Response {
        let members = try await services.staffUsers.list()
        var values: [String: Any] = [
            "members": members.map { StaffUserViewModels.row($0, viewer: context.staff) },
            "inviteAction": SitePath.staffUsers,
            "inviteRoles": StaffUserViewModels.roles(selected: invite?.role ?? .support),
            "invite": ViewValues.compact(["email": invite?.email, "name": invite?.name]),
        ]
        if let error { values["error"] = error }
        return renderer.render("staff_users", StaffPageContext.values(context, title: "Staff users", values),
                               status: error == nil ? .ok : .unprocessableContent)
    }

    private func flashRedirect(_ path: String, _ flash: FlashMessage) -> Response {
        var response = Response.redirect(to: path)
        response.setCookie(cookies.flash(flash))
        return response
    }
}
