import Hummingbird
import PortalCore

/// `/staff/settings` (admin): which gateway the portal runs with and its stored settings, secrets
/// masked. Credentials are changed with `portal gateway configure`, which reads secrets from
/// standard input so they never pass through a browser, and take effect at the next start.
struct StaffSettingsController {
    let services: PortalServices
    let renderer: PageRenderer

    func register(on staff: RouterGroup<StaffRequestContext>) {
        staff.group().add(middleware: RequireRoleMiddleware(needed: .admin))
            .get(RouterPath(stringLiteral: SitePath.staff + "/settings"), use: page)
    }

    @Sendable func page(_ request: Request, context: StaffRequestContext) async throws -> Response {
        let stored = try await services.gatewaySettings.active()
        let policy = services.payments.policy
        return renderer.render("staff_settings", StaffPageContext.values(context, title: "Settings", ViewValues.compact([
            "running": services.gateway?.name ?? "none",
            "stored": stored.map { settings -> [String: Any] in
                ["gateway": settings.gateway,
                 "fields": settings.publicSettings.sorted { $0.key < $1.key }.map { ["name": $0.key, "value": $0.value] }
                    + settings.maskedSecrets.sorted { $0.key < $1.key }.map { ["name": $0.key, "value": $0.value] }]
            },
            "minimumPartial": String(policy.minimumPartial), "allowOverpayment": policy.allowOverpayment ? "yes" : "no",
            "reconcileAfter": String(policy.reconcileAfterSeconds),
            "impersonationMinutes": String(services.impersonation.policy.timeLimitSeconds / 60),
        ])))
    }
}
