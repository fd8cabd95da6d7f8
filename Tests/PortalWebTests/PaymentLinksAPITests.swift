import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import PortalCore
import Testing

/// `POST /api/v1/payment-links` over real HTTP: bearer keys, scopes, JSON errors, the rate limit.
@Suite struct PaymentLinksAPITests {
    struct Answer {
        let status: HTTPResponse.Status
        let headers: HTTPFields
        let json: [String: Any]

        var errorMessage: String { ((json["error"] as? [String: Any])?["message"] as? String) ?? "" }
    }

    func post(_ client: any TestClientProtocol, key: String?, body: String, authorization: String? = nil) async throws -> Answer {
        var headers: HTTPFields = [.contentType: "application/json"]
        if let key { headers[.authorization] = "Bearer \(key)" }
        if let authorization { headers[.authorization] = authorization }
        let response = try await client.executeRequest(uri: SitePath.apiPaymentLinks, method: .post, headers: headers,
                                                       body: ByteBuffer(string: body))
        #expect(response.headers[.contentType]?.hasPrefix("application/json") == true)
        #expect(response.headers[.setCookie] == nil, "the API never makes a session or sets a cookie")
        let object = (try? JSONSerialization.jsonObject(with: Data(response.body.readableBytesView)) as? [String: Any]) ?? [:]
        return Answer(status: response.status, headers: response.headers, json: object)
    }

    func body(_ invoiceId: String) -> String { "{\"invoiceId\": \"\(invoiceId)\"}" }

    @Test func createsALinkByCRMIdAndReturnsTheSameOneAgain() async throws {
        try await withPortal(publicURL: "https://pay.example.com") { portal, client in
            let acme = try await portal.account("Acme Widgets GmbH")
            let id = try await InvoicePagesTests.invoice(portal, acme, "INV-API", dueIn: 10, amount: 4_200)
            let key = try await portal.services.apiKeys.create(name: "Creatio", scopes: ["payment-links"]).secret
            let created = try await post(client, key: key, body: body("crm-INV-API"))
            #expect(created.status == .created)
            let url = try #require(created.json["url"] as? String)
            #expect(url.hasPrefix("https://pay.example.com/pay/") && created.json["invoiceId"] as? String == id)
            let expires = try #require(created.json["expiresAt"] as? String)
            #expect(expires.hasSuffix("Z") && ISO8601DateFormatter().date(from: expires) != nil)
            let again = try await post(client, key: key, body: body(id))
            #expect(again.status == .ok && again.json["url"] as? String == url)
            // The URL opens the invoice's page without sign-in.
            let page = try await Browser(client).get(String(url.dropFirst("https://pay.example.com".count)))
            #expect(page.status == .ok && page.contains("INV-API"))
            let event = try #require(try await portal.audit("payment_link.issue").first)
            #expect(event.actorLabel == "api key Creatio")
            // Only the key's hash is stored.
            let stored = try await portal.database.read { db in try String.fetchAll(db, sql: "SELECT key_hash FROM api_keys") }
            #expect(stored == [SecretToken.hash(key)])
        }
    }

    @Test func eachErrorHasItsStatusAndAClearMessage() async throws {
        try await withPortal { portal, client in
            let acme = try await portal.account("Acme Widgets GmbH")
            try await InvoicePagesTests.invoice(portal, acme, "INV-OPEN", dueIn: 10)
            let voided = try await InvoicePagesTests.invoice(portal, acme, "INV-VOID", dueIn: 10, status: .void)
            let key = try await portal.services.apiKeys.create(name: "Creatio", scopes: ["payment-links"])
            let noAuth = try await post(client, key: nil, body: body("crm-INV-OPEN"))
            #expect(noAuth.status == .unauthorized && noAuth.headers[.wwwAuthenticate] == "Bearer" && noAuth.errorMessage.contains("Bearer"))
            #expect(try await post(client, key: "ppk_wrong", body: body("crm-INV-OPEN")).status == .unauthorized)
            #expect(try await post(client, key: nil, body: body("crm-INV-OPEN"), authorization: "Basic abc").status == .unauthorized)
            let bad = try await post(client, key: key.secret, body: "{not json")
            #expect(bad.status == .badRequest && bad.errorMessage.contains("invoiceId"))
            #expect(try await post(client, key: key.secret, body: "{\"invoice\": 1}").status == .badRequest)
            #expect(try await post(client, key: key.secret, body: body("")).status == .badRequest)
            let unknown = try await post(client, key: key.secret, body: body("no-such-invoice"))
            #expect(unknown.status == .notFound && unknown.errorMessage.contains("No invoice has that id"))
            let notPayable = try await post(client, key: key.secret, body: body(voided))
            #expect(notPayable.status == .conflict && notPayable.errorMessage.contains("INV-VOID"))
            try await portal.services.apiKeys.revoke(id: key.key.id)
            #expect(try await post(client, key: key.secret, body: body("crm-INV-OPEN")).status == .unauthorized)
            #expect(try await portal.database.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM payment_links") } == 0)
        }
    }

    @Test func aKeyWithoutTheScopeIsForbidden() async throws {
        try await withPortal { portal, client in
            let key = try await portal.services.apiKeys.create(name: "Other", scopes: ["payment-links"])
            try await portal.database.write { db in try db.execute(sql: "UPDATE api_keys SET scopes = 'reports'") }
            let answer = try await post(client, key: key.secret, body: body("x"))
            #expect(answer.status == .forbidden && answer.errorMessage.contains("payment-links"))
            await #expect(throws: ApiKeyError.invalidScope("reports")) { try await portal.services.apiKeys.create(name: "x", scopes: ["reports"]) }
        }
    }

    @Test func eachKeyIsRateLimitedWithRetryAfter() async throws {
        try await withPortal { portal, client in
            let acme = try await portal.account("Acme Widgets GmbH")
            try await InvoicePagesTests.invoice(portal, acme, "INV-RATE", dueIn: 10)
            let key = try await portal.services.apiKeys.create(name: "Busy", scopes: ["payment-links"]).secret
            let calm = try await portal.services.apiKeys.create(name: "Calm", scopes: ["payment-links"]).secret
            let limit = portal.services.apiKeys.policy.requestsPerWindow
            for _ in 0..<limit { #expect(try await post(client, key: key, body: body("crm-INV-RATE")).status.code < 300) }
            let limited = try await post(client, key: key, body: body("crm-INV-RATE"))
            #expect(limited.status == .tooManyRequests && limited.errorMessage.contains("Too many requests"))
            let retryAfter = try #require(limited.headers[.retryAfter].flatMap { Int($0) })
            #expect(retryAfter >= 1 && retryAfter <= 60)
            #expect(try await post(client, key: calm, body: body("crm-INV-RATE")).status == .ok, "the limit is per key")
            portal.clock.advance(by: TimeInterval(retryAfter))
            #expect(try await post(client, key: key, body: body("crm-INV-RATE")).status == .ok)
        }
    }
}
