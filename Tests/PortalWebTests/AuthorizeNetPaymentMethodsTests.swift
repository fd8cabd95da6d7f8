import Foundation
import GatewayFakes
import Gateways
import PortalCore
import Testing

/// `/payment-methods` with Authorize.Net, against the local fake over HTTP on 127.0.0.1: the page
/// offers AcceptUI with the public values only, and what AcceptUI hands the browser becomes a saved card.
@Suite struct AuthorizeNetPaymentMethodsTests {
    @Test func acceptUIsOpaqueDataBecomesASavedCard() async throws {
        try await FakeAuthorizeNet.run { fake, endpoint in
            let origin = LinkBuilder.origin(of: endpoint.absoluteString)
            let gateway = AuthorizeNetGateway(endpoint: endpoint, acceptUIURL: origin + "/v3/AcceptUI.js", apiLoginID: FakeAuthorizeNet.loginID,
                                              transactionKey: FakeAuthorizeNet.transactionKey, clientKey: FakeAuthorizeNet.clientKey,
                                              signatureKey: FakeAuthorizeNet.signatureKey)
            try await withPortal(gateway: gateway) { portal, client in
                let acme = try await portal.account("Acme Widgets Inc")
                let alice = try await portal.customer("alice@example.com", accounts: [acme])
                let browser = try await portal.signedIn(client, alice)

                let page = try await browser.get("/payment-methods")
                #expect(page.status == .ok && page.body.contains("data-gateway=\"authorizenet\""))
                #expect(page.body.contains("class=\"AcceptUI\"") && page.body.contains("data-apiLoginID=\"\(FakeAuthorizeNet.loginID)\"")
                        && page.body.contains("data-clientKey=\"\(FakeAuthorizeNet.clientKey)\""))
                #expect(page.body.contains("<script src=\"\(origin)/v3/AcceptUI.js\">"))
                #expect(!page.body.contains(FakeAuthorizeNet.transactionKey) && !page.body.contains(FakeAuthorizeNet.signatureKey))
                let policy = try #require(page.headers[.contentSecurityPolicy])
                #expect(policy.contains("script-src 'self' \(origin)") && policy.contains("frame-src 'self' \(origin)"))

                let accepted = try await FakeAuthorizeNet.acceptUIToken(endpoint, number: "4111111111111111", expiry: "0930")
                let saved = try await browser.post("/payment-methods", [
                    "data_descriptor": accepted["data_descriptor"]!, "data_value": accepted["data_value"]!,
                    "exp_month": accepted["exp_month"]!, "exp_year": accepted["exp_year"]!,
                    "billing_name": "Alice Andersen", "billing_postcode": "10001",
                ])
                #expect(saved.status == .seeOther && saved.location == "/payment-methods")
                let list = try await browser.get("/payment-methods")
                #expect(list.contains("Visa •••• 1111") && list.contains("09/2030"))
                let methods = try await portal.services.paymentMethods.list(CustomerScope(userId: alice.id, accountId: acme.id))
                #expect(methods.count == 1 && methods.first?.last4 == "1111")
                #expect(await fake.profiles.values.flatMap(\.paymentProfiles).count == 1)

                // The same token cannot be used twice: Authorize.Net's tokens are single-use.
                _ = try await browser.get("/payment-methods")
                let reused = try await browser.post("/payment-methods", [
                    "data_descriptor": accepted["data_descriptor"]!, "data_value": accepted["data_value"]!,
                    "billing_name": "Alice Andersen", "billing_postcode": "10001",
                ])
                #expect(reused.status == .unprocessableContent && reused.contains("could not be saved"))
            }
        }
    }
}
