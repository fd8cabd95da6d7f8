import Foundation
import GRDB
import PortalCore
import Testing

/// Error pages come from `Templates/error.mustache` and never show internals.
@Suite struct ErrorPageTests {
    func expectErrorPage(_ page: Page, title: String, message: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(page.headers[.contentType] == "text/html; charset=utf-8", sourceLocation: sourceLocation)
        #expect(page.body.contains("<title>\(title) · Payment Portal</title>"), sourceLocation: sourceLocation)
        #expect(page.body.contains("<h1>\(title)</h1>"), sourceLocation: sourceLocation)
        #expect(page.contains(message), "missing \(message)", sourceLocation: sourceLocation)
        #expect(page.body.contains("<a href=\"/\">Go to the overview</a>"), sourceLocation: sourceLocation)
        for marker in internalsMarkers {
            #expect(!page.body.contains(marker), "page shows \(marker)", sourceLocation: sourceLocation)
        }
    }

    @Test func unknownPathsGetTheNotFoundPage() async throws {
        try await withPortal { portal, client in
            let browser = Browser(client)
            for path in ["/no/such/page", "/account/nope", "/invite", "/password/reset", "/.env", "/admin"] {
                let page = try await browser.get(path)
                #expect(page.status == .notFound, "\(path)")
                expectErrorPage(page, title: "Page not found", message: "We couldn't find that page.")
            }
        }
    }

    @Test func postOnlyRoutesAreNotFoundForGet() async throws {
        try await withPortal { portal, client in
            let alice = try await portal.customer("alice@example.com")
            let browser = try await portal.signedIn(client, alice)
            for path in ["/logout", "/account/password", "/account/recovery-codes", "/account/mfa/reset",
                         "/account/sessions/revoke", "/account/sessions/revoke-others", "/account/switch"] {
                let page = try await browser.get(path)
                #expect(page.status == .notFound, "\(path)")
            }
            #expect(try await browser.get("/").status == .ok)
        }
    }

    @Test func aFormWithoutTheCSRFTokenIsForbidden() async throws {
        try await withPortal { portal, client in
            let alice = try await portal.customer("alice@example.com")
            let browser = Browser(client)
            try await browser.get("/login")
            let missing = try await browser.post("/login", ["email": alice.email, "password": alice.password], csrf: .none)
            #expect(missing.status == .forbidden)
            expectErrorPage(missing, title: "Not allowed", message: "This form has expired or did not come from this site. Go back, reload the page and try again.")
            let wrong = try await browser.post("/login", ["email": alice.email, "password": alice.password], csrf: .token("forged"))
            #expect(wrong.status == .forbidden)
            // A token from another browser does not fit this one.
            let otherToken = try #require(try await Browser(client).get("/login").csrf)
            #expect(try await browser.post("/login", ["email": alice.email, "password": alice.password], csrf: .token(otherToken)).status == .forbidden)
            #expect(browser.sessionCookie == nil)
            #expect(try await portal.audit("sign_in.password").isEmpty)
        }
    }

    @Test func otherMethodsAndFormatsAreRefused() async throws {
        try await withPortal { portal, client in
            let browser = Browser(client)
            let put = try await browser.request(.put, "/account/password")
            #expect(put.status == .methodNotAllowed)
            expectErrorPage(put, title: "Not allowed", message: "That action isn't available here.")
            #expect(try await browser.request(.delete, "/account").status == .methodNotAllowed)

            let token = try #require(try await browser.get("/login").csrf)
            let json = try await browser.request(.post, "/login", headers: [.contentType: "application/json"],
                                                 body: #"{"email":"a@example.com","_csrf":"\#(token)"}"#)
            #expect(json.status == .unsupportedMediaType)
            expectErrorPage(json, title: "Request failed", message: "This form was sent in a format the portal does not accept.")

            let huge = try await browser.request(.post, "/login", headers: [.contentType: "application/x-www-form-urlencoded"],
                                                 body: "_csrf=\(token)&email=" + String(repeating: "a", count: 70 * 1024))
            #expect(huge.status == .contentTooLarge)
            #expect(huge.contains("This form is larger than the portal accepts."))
        }
    }

    @Test func anInternalFailureShowsAReferenceAndNothingElse() async throws {
        try await withPortal { portal, client in
            let browser = Browser(client)
            try await browser.get("/login")
            try await portal.database.write { db in try db.execute(sql: "DROP TABLE sign_in_throttle") }
            let page = try await browser.post("/login", ["email": "alice@example.com", "password": "whatever it is"])
            #expect(page.status == .internalServerError)
            expectErrorPage(page, title: "Something went wrong", message: "Something went wrong on our side. Nothing was charged or changed.")
            #expect(page.contains("Reference:"))
            #expect(!page.body.contains("sign_in_throttle"))
            #expect(!page.body.contains("no such table"))
            #expect(page.headers[.contentSecurityPolicy]?.contains("frame-ancestors 'none'") == true)
        }
    }
}
