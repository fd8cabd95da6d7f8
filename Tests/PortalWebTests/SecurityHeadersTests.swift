import Foundation
import HTTPTypes
import PortalCore
import HummingbirdTesting
import Testing

/// Headers every response carries, whatever produced it; HSTS and Secure cookies only behind https.
@Suite struct SecurityHeadersTests {
    static let referrerPolicy = HTTPField.Name("Referrer-Policy")!
    static let frameOptions = HTTPField.Name("X-Frame-Options")!

    /// One response of each kind the portal produces.
    func sampleResponses(_ portal: Portal, _ client: any TestClientProtocol) async throws -> [(String, Page)] {
        let alice = try await portal.customer("alice@example.com")
        let anonymous = Browser(client)
        var pages: [(String, Page)] = []
        pages.append(("page", try await anonymous.get("/login")))
        pages.append(("redirect", try await anonymous.get("/")))
        pages.append(("not found", try await anonymous.get("/no/such/page")))
        pages.append(("gone", try await anonymous.get("/invite/not-a-token")))
        pages.append(("forbidden", try await anonymous.post("/login", ["email": "a@example.com", "password": "x"], csrf: .none)))
        try await anonymous.get("/login")
        pages.append(("card number", try await anonymous.post("/login", ["email": "4242 4242 4242 4242", "password": "x"])))
        pages.append(("unauthorized", try await anonymous.submit("/login", ["email": alice.email, "password": "wrong password here"])))
        pages.append(("method", try await anonymous.request(.put, "/login")))
        pages.append(("health", try await anonymous.get("/healthz")))
        pages.append(("static", try await anonymous.get("/css/portal.css")))
        let signedIn = try await portal.signedIn(client, alice)
        pages.append(("signed-in page", try await signedIn.get("/account")))
        return pages
    }

    @Test func everyResponseCarriesTheSecurityHeaders() async throws {
        try await withPortal { portal, client in
            let pages = try await sampleResponses(portal, client)
            #expect(pages.map { $0.1.status.code } == [200, 303, 404, 410, 403, 400, 401, 405, 200, 200, 200])
            for (kind, page) in pages {
                let csp = page.headers[.contentSecurityPolicy] ?? ""
                #expect(csp.contains("frame-ancestors 'none'"), "\(kind)")
                #expect(csp.contains("default-src 'self'"), "\(kind)")
                #expect(csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"), "\(kind)")
                #expect(csp.contains("form-action 'self'"), "\(kind)")
                #expect(page.headers[.xContentTypeOptions] == "nosniff", "\(kind)")
                #expect(page.headers[Self.referrerPolicy] == "same-origin", "\(kind)")
                #expect(page.headers[Self.frameOptions] == "DENY", "\(kind)")
                #expect(page.headers[.strictTransportSecurity] == nil, "\(kind): no HSTS over plain http")
            }
        }
    }

    @Test func httpsPublicURLAddsHSTSAndSecureCookies() async throws {
        try await withPortal(publicURL: "https://pay.example.com") { portal, client in
            let pages = try await sampleResponses(portal, client)
            #expect(pages.map { $0.1.status.code } == [200, 303, 404, 410, 403, 400, 401, 405, 200, 200, 200])
            for (kind, page) in pages {
                #expect(page.headers[.strictTransportSecurity] == "max-age=31536000; includeSubDomains", "\(kind)")
                #expect(page.headers[.contentSecurityPolicy]?.contains("frame-ancestors 'none'") == true, "\(kind)")
            }
            let alice = try await portal.customer("carol@example.com")
            let browser = Browser(client)
            let login = try await browser.get("/login")
            let pre = try #require(login.setCookie("portal_pre"))
            #expect(cookieAttributes(pre).contains("secure"))
            let password = try await browser.post("/login", ["email": alice.email, "password": alice.password])
            let session = try #require(password.setCookie("portal_session"))
            #expect(cookieAttributes(session).isSuperset(of: ["secure", "httponly", "samesite=lax", "path=/"]))
            portal.nextStep()
            try await browser.get("/login/mfa")
            let code = try await browser.post("/login/mfa", ["code": portal.code(alice.secret)])
            let rotated = try #require(code.setCookie("portal_session"))
            #expect(cookieAttributes(rotated).isSuperset(of: ["secure", "httponly", "samesite=lax"]))
            try await browser.get("/")
            let out = try await browser.post("/logout")
            #expect(out.setCookies.allSatisfy { cookieAttributes($0).contains("secure") })
            #expect(out.setCookie("portal_flash") != nil)

            // Emailed links use the public URL.
            let invite = try #require(try await portal.mail(to: "carol@example.com").first)
            #expect(invite.message.textBody.contains("https://pay.example.com/invite/"))
        }
    }

    @Test func pagesAreNeverCached() async throws {
        try await withPortal { portal, client in
            let alice = try await portal.customer("alice@example.com")
            let browser = try await portal.signedIn(client, alice)
            for path in ["/", "/account"] {
                #expect(try await browser.get(path).headers[.cacheControl] == "no-store", "\(path)")
            }
            let anonymous = Browser(client)
            for path in ["/login", "/password/forgot", "/no/such/page", "/healthz"] {
                #expect(try await anonymous.get(path).headers[.cacheControl] == "no-store", "\(path)")
            }
        }
    }
}
