import Foundation
import PortalCore
import Testing

/// `/healthz` and the files in `Public/`.
@Suite struct HealthAndStaticTests {
    @Test func healthzAnswersJSON() async throws {
        try await withPortal { portal, client in
            let page = try await Browser(client).get("/healthz")
            #expect(page.status == .ok)
            #expect(page.headers[.contentType] == "application/json")
            #expect(page.body == #"{"status":"ok"}"#)
            let decoded = try JSONSerialization.jsonObject(with: Data(page.body.utf8)) as? [String: String]
            #expect(decoded == ["status": "ok"])
            // Health checks do not start sessions.
            #expect(page.setCookie("portal_session") == nil)
        }
    }

    @Test func staticFilesAreServedWithCacheControl() async throws {
        try await withPortal { portal, client in
            let browser = Browser(client)
            for (path, type) in [("/css/portal.css", "text/css"), ("/js/portal.js", "javascript"), ("/favicon.svg", "image/svg+xml")] {
                let page = try await browser.get(path)
                #expect(page.status == .ok, "\(path)")
                #expect(page.headers[.contentType]?.contains(type) == true, "\(path): \(page.headers[.contentType] ?? "none")")
                let cache = page.headers[.cacheControl] ?? ""
                #expect(cache.contains("max-age=3600") && cache.contains("public"), "\(path): \(cache)")
                let file = try String(contentsOf: repositoryRoot.appendingPathComponent("Public" + path), encoding: .utf8)
                #expect(page.body == file, "\(path)")
                // Static files need no session or CSRF cookie.
                #expect(page.setCookies.isEmpty, "\(path)")
            }
        }
    }

    @Test func missingAndEscapingFilesAreNotServed() async throws {
        try await withPortal { portal, client in
            let browser = Browser(client)
            let missing = try await browser.get("/css/missing.css")
            #expect(missing.status == .notFound)
            #expect(missing.contains("Page not found"))
            for path in ["/css/../../Package.swift", "/../Package.swift", "/%2e%2e/Package.swift", "/css/%2e%2e/%2e%2e/Package.swift"] {
                let page = try await browser.get(path)
                #expect(page.status != .ok, "\(path)")
                #expect(!page.body.contains("PackageDescription"), "\(path)")
            }
        }
    }
}
