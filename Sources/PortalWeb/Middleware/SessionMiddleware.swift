import Hummingbird
import PortalCore

/// Cookie names and attributes in one place.
struct SessionCookies: Sendable {
    static let session = "portal_session"
    static let preSession = "portal_pre"
    static let flash = "portal_flash"
    /// Staff sessions have their own cookie, so a console session and an impersonation live beside
    /// whatever customer session the same browser may hold.
    static let staffSession = "portal_staff"
    let secure: Bool

    func staffSession(_ token: String) -> Cookie {
        Cookie(name: Self.staffSession, value: token, path: "/", secure: secure, httpOnly: true, sameSite: .strict)
    }

    func clearStaffSession() -> Cookie {
        Cookie(name: Self.staffSession, value: "", maxAge: 0, path: "/", secure: secure, httpOnly: true, sameSite: .strict)
    }

    func session(_ token: String) -> Cookie {
        Cookie(name: Self.session, value: token, path: "/", secure: secure, httpOnly: true, sameSite: .lax)
    }

    func clearSession() -> Cookie {
        Cookie(name: Self.session, value: "", maxAge: 0, path: "/", secure: secure, httpOnly: true, sameSite: .lax)
    }

    func preSession(_ value: String) -> Cookie {
        Cookie(name: Self.preSession, value: value, path: "/", secure: secure, httpOnly: true, sameSite: .lax)
    }

    func flash(_ code: FlashMessage) -> Cookie {
        Cookie(name: Self.flash, value: code.rawValue, maxAge: 60, path: "/", secure: secure, httpOnly: true, sameSite: .lax)
    }

    func clearFlash() -> Cookie {
        Cookie(name: Self.flash, value: "", maxAge: 0, path: "/", secure: secure, httpOnly: true, sameSite: .lax)
    }
}

/// Loads the server-side session named by the cookie and derives the CSRF token. Before sign-in
/// the browser gets a random pre-session cookie instead, so sign-in forms are protected too.
struct SessionMiddleware: RouterMiddleware {
    typealias Context = PortalRequestContext
    let sessions: SessionService
    let csrf: CSRFTokens
    let cookies: SessionCookies

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        context.userAgent = request.headers[.userAgent] ?? ""
        // Parsed once: every `request.cookies` parses the Cookie header again.
        let sent = request.cookies
        var clearStale = false
        if let token = sent[SessionCookies.session]?.value, !token.isEmpty {
            if let found = try await sessions.lookup(token: token) {
                let session = found.session
                try await sessions.touch(session)
                context.session = session
                context.loadedCustomer = found.customer
                context.sessionToken = token
                context.csrfBinding = "session:" + token
            } else {
                clearStale = true
                context.sessionEnded = true
            }
        }
        var clearStaff = false
        if let token = sent[SessionCookies.staffSession]?.value, !token.isEmpty {
            if let found = try await sessions.lookup(token: token), found.session.principal.kind == .staff {
                try await sessions.touch(found.session)
                context.staffSession = found.session
                context.staff = found.staff
                context.impersonation = found.impersonation
                context.impersonated = found.impersonated
                if context.session == nil { context.csrfBinding = "staff:" + token }
            } else {
                clearStaff = true
            }
        }
        if context.session == nil && context.staffSession == nil {
            var pre = sent[SessionCookies.preSession]?.value ?? ""
            if pre.count < 32 {
                pre = SecretToken.generate()
                context.cookiesToSet.append(cookies.preSession(pre))
            }
            context.csrfBinding = "pre:" + pre
        }
        context.csrfToken = csrf.token(for: context.csrfBinding)
        if let code = sent[SessionCookies.flash]?.value, !code.isEmpty {
            context.flash = FlashMessage(rawValue: code)
            context.cookiesToSet.append(cookies.clearFlash())
        }
        var response = try await next(request, context)
        if clearStale && response.headers[.setCookie] == nil { response.setCookie(cookies.clearSession()) }
        if clearStaff && !response.headers[values: .setCookie].contains(where: { $0.hasPrefix(SessionCookies.staffSession + "=") }) {
            response.setCookie(cookies.clearStaffSession())
        }
        for cookie in context.cookiesToSet { response.setCookie(cookie) }
        return response
    }
}
