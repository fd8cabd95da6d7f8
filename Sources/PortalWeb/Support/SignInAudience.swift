import Hummingbird
import PortalCore

/// Who a sign-in flow is for. Customers and staff go through the same password → code → (first
/// time) authenticator enrolment steps with the same services; they differ in paths, in the cookie
/// that carries the session, and in where they land.
struct SignInAudience: Sendable {
    var kind: PrincipalKind
    var login: String
    var loginMFA: String
    var mfaSetup: String
    var logout: String
    var home: String
    var title: String
    /// Where this audience's emailed invitation links point (`{prefix}/{token}`).
    var invitePrefix: String

    static let customer = SignInAudience(kind: .customer, login: SitePath.login, loginMFA: SitePath.loginMFA, mfaSetup: SitePath.mfaSetup,
                                         logout: SitePath.logout, home: SitePath.home, title: "Sign in",
                                         invitePrefix: SitePath.invitePrefix)
    static let staff = SignInAudience(kind: .staff, login: SitePath.staffLogin, loginMFA: SitePath.staffLoginMFA, mfaSetup: SitePath.staffMFASetup,
                                      logout: SitePath.staffLogout, home: SitePath.staff, title: "Staff sign in",
                                      invitePrefix: SitePath.staffInvitePrefix)

    func invite(_ token: String) -> String { "\(invitePrefix)/\(token)" }

    /// This audience's session, if the browser has one (a staff token in the customer cookie is not one).
    func session(_ context: PortalRequestContext) -> SessionRecord? {
        let session = kind == .customer ? context.session : context.staffSession
        return session?.principal.kind == kind ? session : nil
    }

    func sessionCookie(_ cookies: SessionCookies, _ token: String) -> Cookie {
        kind == .customer ? cookies.session(token) : cookies.staffSession(token)
    }

    func clearSessionCookie(_ cookies: SessionCookies) -> Cookie {
        kind == .customer ? cookies.clearSession() : cookies.clearStaffSession()
    }

    /// The paths the sign-in templates post to.
    var formValues: [String: Any] {
        ["loginAction": login, "mfaAction": loginMFA, "setupAction": mfaSetup, "logoutAction": logout, "isCustomer": kind == .customer]
    }
}
