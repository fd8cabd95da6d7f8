import Hummingbird
import PortalCore

/// `/account`: password, recovery codes, MFA reset, sessions; and switching the active account.
struct AccountController {
    let services: PortalServices
    let renderer: PageRenderer
    let cookies: SessionCookies

    func register(on group: RouterGroup<CustomerRequestContext>) {
        group.get(RouterPath(stringLiteral: SitePath.account), use: page)
        group.post(RouterPath(stringLiteral: SitePath.accountPassword), use: changePassword)
        group.post(RouterPath(stringLiteral: SitePath.accountRecoveryCodes), use: regenerateCodes)
        group.post(RouterPath(stringLiteral: SitePath.accountMFAReset), use: resetMFA)
        group.post(RouterPath(stringLiteral: SitePath.accountSessionsRevoke), use: revokeSession)
        group.post(RouterPath(stringLiteral: SitePath.accountSessionsRevokeOthers), use: revokeOthers)
        group.post(RouterPath(stringLiteral: SitePath.accountSwitch), use: switchAccount)
    }

    @Sendable func page(_ request: Request, context: CustomerRequestContext) async throws -> Response {
        try await render(context, [:], status: .ok)
    }

    @Sendable func changePassword(_ request: Request, context: CustomerRequestContext) async throws -> Response {
        do {
            try await services.accountSecurity.changePassword(
                session: context.session, current: context.form.raw("current_password"), new: context.form.raw("new_password"),
                confirmation: context.form.raw("new_password_confirm"), client: context.client)
            return flashRedirect(SitePath.account, .passwordChanged)
        } catch let error as AccountSecurityError {
            return try await render(context, ["passwordError": ErrorMessages.accountSecurity(error)], status: .unprocessableContent)
        }
    }

    @Sendable func regenerateCodes(_ request: Request, context: CustomerRequestContext) async throws -> Response {
        do {
            let codes = try await services.accountSecurity.regenerateRecoveryCodes(
                session: context.session, password: context.form.raw("password"), client: context.client)
            return renderer.render("recovery_codes", PageContext.customer(context, title: "Your new recovery codes", [
                "codes": codes, "continueURL": SitePath.account, "firstTime": false,
            ]))
        } catch let error as AccountSecurityError {
            return try await render(context, ["codesError": ErrorMessages.accountSecurity(error)], status: .unprocessableContent)
        }
    }

    @Sendable func resetMFA(_ request: Request, context: CustomerRequestContext) async throws -> Response {
        do {
            let (token, _) = try await services.accountSecurity.resetMFA(
                session: context.session, password: context.form.raw("password"), code: context.form.value("code"), client: context.client)
            var response = flashRedirect(SitePath.mfaSetup, .mfaReset)
            response.setCookie(cookies.session(token))
            return response
        } catch let error as AccountSecurityError {
            return try await render(context, ["mfaError": ErrorMessages.accountSecurity(error)], status: .unprocessableContent)
        }
    }

    @Sendable func revokeSession(_ request: Request, context: CustomerRequestContext) async throws -> Response {
        let publicId = context.form.value("session")
        guard publicId != context.session.publicId else {
            return try await render(context, ["sessionsError": "To end this session, use Sign out."], status: .unprocessableContent)
        }
        do {
            try await services.accountSecurity.revokeSession(publicId: publicId, current: context.session, client: context.client)
            return flashRedirect(SitePath.account, .sessionRevoked)
        } catch AccountSecurityError.sessionNotFound {
            throw PageError.notFound
        }
    }

    @Sendable func revokeOthers(_ request: Request, context: CustomerRequestContext) async throws -> Response {
        _ = try await services.accountSecurity.revokeOtherSessions(current: context.session, client: context.client)
        return flashRedirect(SitePath.account, .sessionsRevoked)
    }

    @Sendable func switchAccount(_ request: Request, context: CustomerRequestContext) async throws -> Response {
        let accountId = context.form.value("account")
        // Only the customer's own accounts: anything else is "not found", never "forbidden".
        guard context.identity.accounts.contains(where: { $0.id == accountId }) else { throw PageError.notFound }
        try await services.sessions.setActiveAccount(context.session, accountId: accountId)
        let back = context.form.value("return")
        return flashRedirect(Self.isLocalPath(back) ? back : SitePath.home, .accountSwitched)
    }

    /// Browsers read `\` as `/` and drop tabs and newlines inside a URL, so `/\evil.example` and
    /// `/<tab>/evil.example` lead off-site just as `//evil.example` does.
    static func isLocalPath(_ path: String) -> Bool {
        path.hasPrefix("/") && !path.hasPrefix("//") && !path.contains("\\")
            && !path.unicodeScalars.contains { $0.properties.generalCategory == .control }
    }

    private func render(_ context: CustomerRequestContext, _ extra: [String: Any], status: HTTPResponse.Status) async throws -> Response {
        let customer = PrincipalRef.customer(context.identity.user.id)
        let mfa = try await services.mfa.status(customer)
        // Staff viewing as the customer see the customer's sessions, never their own.
        let sessions = context.impersonation == nil
            ? try await services.accountSecurity.sessions(of: context.session) : try await services.sessions.list(for: customer)
        let activity = try await services.audit.events(about: customer, limit: 20)
        var values: [String: Any] = [
            "recoveryCodesRemaining": mfa.recoveryCodesRemaining,
            "recoveryCodesLow": mfa.recoveryCodesRemaining < 3,
            "sessions": sessions.map { s -> [String: Any] in
                [
                    "id": s.publicId, "current": s.publicId == context.session.publicId, "address": s.clientAddress,
                    "userAgent": s.userAgent.isEmpty ? "Unknown browser" : s.userAgent,
                    "signedInAt": PageContext.date(s.createdAt), "lastSeenAt": PageContext.date(s.lastSeenAt),
                ]
            },
            "hasOtherSessions": sessions.contains { $0.publicId != context.session.publicId },
            "activity": activity.map { event -> [String: Any] in
                ["date": PageContext.date(event.occurredAt), "what": Self.activityLabel(event), "address": event.clientAddress]
            },
            "hasActivity": !activity.isEmpty,
        ]
        values.merge(extra) { _, new in new }
        return renderer.render("account", PageContext.customer(context, title: "Your account", values), status: status)
    }

    /// What the customer sees of their own audit trail: plain words, and support's visits named as such.
    static func activityLabel(_ event: AuditEvent) -> String {
        let base: String = switch event.action {
        case "impersonation.start": "Support started viewing your account (\(event.details["category"]?.replacingOccurrences(of: "_", with: " ") ?? "support"))"
        case "impersonation.stop", "impersonation.expire": "Support stopped viewing your account"
        case "sign_in.success": "Signed in"
        case "sign_in.password", "sign_in.mfa": event.outcome == .failure ? "Failed sign-in attempt" : "Sign-in step passed"
        case "password.change": "Password changed"
        case "mfa.reset": "Two-step sign-in reset"
        case "mfa.enrolled": "Two-step sign-in set up"
        case "mfa.recovery_codes": "New recovery codes made"
        case "session.revoke", "session.revoke_others": "Signed out other sessions"
        default: event.action.replacingOccurrences(of: "_", with: " ").replacingOccurrences(of: ".", with: ": ")
        }
        return event.impersonatorId != nil && !event.action.hasPrefix("impersonation.") ? base + " — by support, viewing as you" : base
    }

    private func flashRedirect(_ path: String, _ flash: FlashMessage) -> Response {
        var response = Response.redirect(to: path)
        response.setCookie(cookies.flash(flash))
        return response
    }
}
