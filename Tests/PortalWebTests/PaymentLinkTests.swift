import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import GRDB
import HTTPTypes
import HummingbirdTesting
import PortalCore
import Testing

/// `/pay/{token}` over real HTTP against the sandbox gateway: no sign-in, one invoice, a new card.
@Suite struct PaymentLinkTests {
    let gateway = PaymentMethodsTests()
    static let api = AuditEvent(action: "", actorKind: .system, actorLabel: "tests")

    struct Setup: Sendable {
        var portal: Portal
        var client: any TestClientProtocol
        var base: URL
        var counting: PaymentMethodsTests.CountingGateway
        var account: Account
        var alice: Customer
    }

    /// Acme with Alice (a saved card, another invoice), and the sandbox gateway.
    func withAcme(_ body: @Sendable (Setup) async throws -> Void) async throws {
        try await gateway.withCountingGateway { portal, client, base, counting in
            let acme = try await portal.account("Acme Widgets GmbH")
            let alice = try await portal.customer("alice@example.com", accounts: [acme])
            let browser = try await portal.signedIn(client, alice)
            _ = try await browser.get("/payment-methods")
            let saved = try await browser.post("/payment-methods", ["token": try await PaymentMethodsTests.token(base, number: "4242424242424242"),
                                                                    "billing_name": "Alice", "billing_postcode": "80331"])
            try #require(saved.status == .seeOther)
            try await body(Setup(portal: portal, client: client, base: base, counting: counting, account: acme, alice: alice))
        }
    }

    /// A new invoice of Acme's and the site path of its payment link.
    func linked(_ setup: Setup, _ number: String, dueIn days: Int = 10, amount: Int64) async throws -> (id: String, path: String) {
        let id = try await InvoicePagesTests.invoice(setup.portal, setup.account, number, dueIn: days, amount: amount)
        return (id, try await link(setup, id))
    }

    func link(_ setup: Setup, _ invoiceId: String) async throws -> String {
        let url = try await setup.portal.services.paymentLinks.issue(invoiceId: invoiceId, actor: Self.api).url
        return String(url.dropFirst(setup.portal.publicURL.count))
    }

    func status(_ setup: Setup, _ invoiceId: String) async throws -> (String, Int64) {
        try await setup.portal.database.read { db in
            let row = try #require(try Row.fetchOne(db, sql: "SELECT status, balance FROM invoices WHERE id = ?", arguments: [invoiceId]))
            return (row["status"], row["balance"])
        }
    }

    func pay(_ browser: Browser, _ path: String, _ setup: Setup, card: String = "4242424242424242", key: String? = nil) async throws -> Page {
        let form = try await browser.get(path)
        try #require(form.status == .ok, "link page answered \(form.status)")
        return try await browser.post(path, ["request_key": try key ?? #require(form.hiddenField("request_key")),
                                             "token": try await PaymentMethodsTests.token(setup.base, number: card),
                                             "billing_name": "Bob Payer", "billing_postcode": "10115"])
    }

    @Test func theLinkPageShowsOnlyItsInvoiceAndAPDFAndNoSavedCardsWithoutSignIn() async throws {
        try await withAcme { setup in
            let id = try await InvoicePagesTests.invoice(setup.portal, setup.account, "INV-LINK", dueIn: 10, amount: 12_000)
            try await InvoicePagesTests.invoice(setup.portal, setup.account, "INV-OTHER", dueIn: 5, amount: 3_000)
            let path = try await link(setup, id)
            let browser = Browser(setup.client)
            let page = try await browser.get(path)
            #expect(page.status == .ok && page.contains("INV-LINK") && page.contains("€120.00") && page.contains("Acme Widgets GmbH"))
            #expect(!page.contains("INV-OTHER") && !page.contains("4242") && !page.contains("Visa") && !page.contains("name=\"method\""))
            #expect(page.body.contains("/js/card-form.js") && page.body.contains("data-card-form") && page.csrf != nil)
            #expect(browser.sessionCookie == nil && browser.cookie("portal_pre") != nil, "no session, only the pre-session CSRF binding")
            let origin = setup.base.absoluteString.hasSuffix("/") ? String(setup.base.absoluteString.dropLast()) : setup.base.absoluteString
            #expect(page.headers[.contentSecurityPolicy]?.contains("frame-src 'self' \(origin)") == true)
            let pdf = try await browser.get(path + "/invoice.pdf")
            #expect(pdf.status == .ok && pdf.headers[.contentType] == "application/pdf" && pdf.body.hasPrefix("%PDF"))
            // The signed-in pay page is unchanged and still needs sign-in.
            #expect(try await browser.get("/pay?invoice=\(id)").status == .seeOther)
            #expect(try await browser.post("/pay/review", ["invoice": id]).status != .ok)
        }
    }

    @Test func payingWithANewCardMarksTheInvoicePaidAndADoubleSubmitChargesOnce() async throws {
        try await withAcme { setup in
            let (id, path) = try await linked(setup, "INV-PAY", dueIn: 10, amount: 12_000)
            let browser = Browser(setup.client)
            let form = try await browser.get(path)
            let key = try #require(form.hiddenField("request_key"))
            let token = try await PaymentMethodsTests.token(setup.base, number: "4242424242424242")
            let fields: KeyValuePairs<String, String> = ["request_key": key, "token": token, "billing_name": "Bob Payer", "billing_postcode": "10115"]
            let locations = try await withThrowingTaskGroup(of: String?.self) { group in
                for _ in 0..<5 { group.addTask { try await browser.post(path, fields).location } }
                return try await group.reduce(into: [String?]()) { $0.append($1) }
            }
            #expect(Set(locations).count == 1 && locations[0]?.hasPrefix(path + "/payments/pay_") == true)
            #expect(setup.counting.chargeCalls.withLock { $0 } == 1)
            #expect(try await status(setup, id) == ("paid", 0))
            let receipt = try await browser.get(try #require(locations[0]))
            #expect(receipt.status == .ok && receipt.contains("Payment received") && receipt.contains("€120.00") && receipt.contains("INV-PAY"))
            #expect(!receipt.contains("/payments\"") && !receipt.contains("/invoices/"))
            let payment = try await setup.portal.database.read { db -> (source: String, user: String?, link: String?) in
                let row = try #require(try Row.fetchOne(db, sql: "SELECT source, initiated_by, payment_link_id FROM payments"))
                return (row["source"], row["initiated_by"], row["payment_link_id"])
            }
            #expect(payment.source == "payment_link" && payment.user == nil && payment.link != nil)
            let submit = try #require(try await setup.portal.audit("payment.submit").first)
            #expect(submit.actorLabel == "payment link" && submit.actorKind == .anonymous)
            // The card was for this payment only: Alice's saved card is all the account keeps.
            let methods = try await setup.portal.services.paymentMethods.list(CustomerScope(userId: setup.alice.id, accountId: setup.account.id))
            #expect(methods.count == 1 && methods[0].billingName == "Alice")
            // The same form again lands on the same payment; the page now says it is paid.
            #expect(try await browser.post(path, fields).location == locations[0])
            let after = try await browser.get(path)
            #expect(after.status == .ok && after.contains("Invoice already paid") && !after.body.contains("pay-link-form"))
            #expect(setup.counting.chargeCalls.withLock { $0 } == 1)
        }
    }

    @Test func aReceiptIsShownOnlyThroughTheLinkThatMadeIt() async throws {
        try await withAcme { setup in
            let first = try await InvoicePagesTests.invoice(setup.portal, setup.account, "INV-A", dueIn: 10, amount: 1_000)
            let second = try await InvoicePagesTests.invoice(setup.portal, setup.account, "INV-B", dueIn: 10, amount: 2_000)
            let firstPath = try await link(setup, first)
            let secondPath = try await link(setup, second)
            let paid = try await pay(Browser(setup.client), firstPath, setup)
            let paymentId = String(try #require(paid.location).split(separator: "/").last!)
            let stranger = Browser(setup.client)
            #expect(try await stranger.get(secondPath + "/payments/\(paymentId)").status == .notFound)
            #expect(try await stranger.get(firstPath + "/payments/\(paymentId)").status == .ok)
        }
    }

    @Test func aDeclineIsShownWithATryAgainLinkAndChangesNothing() async throws {
        try await withAcme { setup in
            let (id, path) = try await linked(setup, "INV-DECL", dueIn: 10, amount: 5_000)
            let browser = Browser(setup.client)
            let posted = try await pay(browser, path, setup, card: "4000000000000002")
            let page = try await browser.follow(posted)
            #expect(page.contains("Payment not completed") && page.body.contains("href=\"\(path)\""))
            #expect(try await status(setup, id) == ("open", 5_000))
        }
    }

    @Test func threeDSecureCompletesThroughTheLink() async throws {
        try await withAcme { setup in
            let (id, path) = try await linked(setup, "INV-3DS", dueIn: 3, amount: 1_500)
            let browser = Browser(setup.client)
            let posted = try await pay(browser, path, setup, card: "4000002500003155")
            let page = try await browser.follow(posted)
            #expect(page.contains("Confirm with your bank") && page.contains("/js/authenticate.js"))
            let row = try await setup.portal.database.read { db -> (secret: String?, charge: String?) in
                let row = try #require(try Row.fetchOne(db, sql: "SELECT action_client_secret, gateway_transaction_id FROM payments"))
                return (row["action_client_secret"], row["gateway_transaction_id"])
            }
            let secret = try #require(row.secret)
            let charge = try #require(row.charge)
            var request = URLRequest(url: setup.base.appendingPathComponent("v1/charges/\(charge)/confirm"))
            request.httpMethod = "POST"
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
            request.httpBody = try JSONSerialization.data(withJSONObject: ["client_secret": secret])
            _ = try await URLSession.shared.data(for: request)
            let done = try await browser.follow(try await browser.post(try #require(posted.location) + "/authenticated"))
            #expect(done.contains("Payment received"))
            #expect(try await status(setup, id) == ("paid", 0))
            let kept = try await setup.portal.database.read { db in
                try Int.fetchOne(db, sql: "SELECT count(*) FROM payment_methods WHERE removed_at IS NULL")
            }
            #expect(kept == 1, "the link's card is forgotten once the charge ended; Alice's stays")
        }
    }

    /// Pays through the link with the 3-D Secure card and leaves the payment waiting for the bank: returns the receipt path.
    func payPendingAuthentication(_ browser: Browser, _ path: String, _ setup: Setup) async throws -> String {
        let posted = try await pay(browser, path, setup, card: "4000002500003155")
        let receipt = try #require(posted.location)
        #expect(try await browser.get(receipt).contains("Confirm with your bank"))
        return receipt
    }

    /// Confirms the pending 3-D Secure charge at the sandbox, as the payer's bank page would.
    func confirmAtBank(_ setup: Setup) async throws {
        let row = try await setup.portal.database.read { db -> (secret: String?, charge: String?) in
            let row = try #require(try Row.fetchOne(db, sql: "SELECT action_client_secret, gateway_transaction_id FROM payments WHERE status = 'pending'"))
            return (row["action_client_secret"], row["gateway_transaction_id"])
        }
        var request = URLRequest(url: setup.base.appendingPathComponent("v1/charges/\(try #require(row.charge))/confirm"))
        request.httpMethod = "POST"
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.httpBody = try JSONSerialization.data(withJSONObject: ["client_secret": try #require(row.secret)])
        _ = try await URLSession.shared.data(for: request)
    }

    @Test func aCardTypedThroughALinkIsNeverTheAccountsAndAutopayNeverMovesToIt() async throws {
        try await withAcme { setup in
            let services = setup.portal.services
            let alice = CustomerScope(userId: setup.alice.id, accountId: setup.account.id)
            let aliceCard = try #require(try await services.paymentMethods.list(alice).first)
            let member = AuditEvent(action: "", actorKind: .customer, actorId: setup.alice.id, actorLabel: "alice@example.com")
            _ = try await services.autopay.enroll(alice, methodId: aliceCard.id, timing: .onDueDate, consentGiven: true, accountName: "Acme",
                                                 email: "alice@example.com", client: ClientInfo(address: "127.0.0.1"), actor: member)
            let (id, path) = try await linked(setup, "INV-3155", dueIn: 10, amount: 2_000)
            let other = try await InvoicePagesTests.invoice(setup.portal, setup.account, "INV-OTHER", dueIn: 10, amount: 1_000)
            let payer = Browser(setup.client)
            let receipt = try await payPendingAuthentication(payer, path, setup)
            // The payer's card is on file while the bank confirms: marked as the link's, and no member's.
            let linkCard = try #require(try await setup.portal.database.read { db in
                try String.fetchOne(db, sql: "SELECT id FROM payment_methods WHERE payment_link_id IS NOT NULL AND removed_at IS NULL")
            })
            #expect(try await services.paymentMethods.list(alice).map(\.id) == [aliceCard.id])
            let page = try await setup.portal.signedIn(setup.client, setup.alice).get("/payment-methods")
            #expect(page.status == .ok && page.contains("4242") && !page.contains("3155"))
            await #expect(throws: PaymentMethodError.notFound) { try await services.paymentMethods.setDefault(alice, methodId: linkCard, actor: member) }
            await #expect(throws: PaymentMethodError.notFound) {
                try await services.paymentMethods.remove(alice, methodId: linkCard, actor: member)
            }
            await #expect(throws: PaymentError.methodNotFound) {
                try await services.payments.pay(alice, .init(requestKey: SecretToken.generate(), invoiceIds: [other], amount: .typed(""),
                                                             method: .saved(linkCard), actor: member, accountName: "Acme", email: ""))
            }
            await #expect(throws: RecurringError.methodNotFound) {
                try await services.autopay.enroll(alice, methodId: linkCard, timing: .onDueDate, consentGiven: true, accountName: "Acme",
                                                  email: "alice@example.com", client: ClientInfo(address: "127.0.0.1"), actor: member)
            }
            // Removing the autopay card: the link's card is no replacement, so Alice's stays the only one autopay may use.
            await #expect(throws: PaymentMethodError.neededForRecurring) {
                try await services.paymentMethods.remove(alice, methodId: aliceCard.id, actor: member)
            }
            #expect(try await services.autopay.current(alice)?.methodId == aliceCard.id)
            // The bank confirms: the payment ends and the link's card is forgotten, without any error.
            try await confirmAtBank(setup)
            _ = try await payer.follow(try await payer.post(receipt + "/authenticated"))
            #expect(try await status(setup, id) == ("paid", 0))
            #expect(try await services.payments.forgetUnkeptCards() == 0)
            let left = try await setup.portal.database.read { db in
                try String.fetchAll(db, sql: "SELECT id FROM payment_methods WHERE removed_at IS NULL")
            }
            #expect(left == [aliceCard.id])
        }
    }

    @Test func aPendingPaymentStopsASecondOneThroughTheLinkAndTheSignedInPayPage() async throws {
        try await withAcme { setup in
            let (id, path) = try await linked(setup, "INV-TWICE", dueIn: 10, amount: 4_000)
            let other = Browser(setup.client)
            let staleForm = try await other.get(path)
            let staleKey = try #require(staleForm.hiddenField("request_key"))
            let payer = Browser(setup.client)
            let receipt = try await payPendingAuthentication(payer, path, setup)
            // Reloading the link (or a colleague opening it) shows that a payment is under way, with its receipt.
            let reloaded = try await other.get(path)
            #expect(reloaded.status == .ok && reloaded.contains("Payment being processed") && !reloaded.body.contains("pay-link-form"))
            #expect(reloaded.body.contains("href=\"\(receipt)\""))
            // A form loaded before the first payment was made pays nothing more.
            let second = try await other.post(path, ["request_key": staleKey, "token": try await PaymentMethodsTests.token(setup.base, number: "4242424242424242"),
                                                     "billing_name": "Carol", "billing_postcode": "10115"])
            #expect(second.status == .ok && second.contains("Payment being processed"))
            #expect(setup.counting.chargeCalls.withLock { $0 } == 1)
            // Signed in, the invoice can't be paid again either.
            let alice = CustomerScope(userId: setup.alice.id, accountId: setup.account.id)
            let pending = try #require(String(receipt.split(separator: "/").last!))
            await #expect(throws: PaymentError.paymentInProgress("INV-TWICE", paymentId: pending)) {
                try await setup.portal.services.payments.pay(alice, .init(
                    requestKey: SecretToken.generate(), invoiceIds: [id], amount: .typed(""), method: .saved(try await setup.portal.services.paymentMethods.list(alice)[0].id),
                    actor: AuditEvent(action: "", actorKind: .customer, actorId: setup.alice.id), accountName: "Acme", email: ""))
            }
            let signedIn = try await setup.portal.signedIn(setup.client, setup.alice)
            let payPage = try await signedIn.get("/pay?invoice=\(id)")
            #expect(payPage.contains("A payment for INV-TWICE is already being processed"))
            #expect(setup.counting.chargeCalls.withLock { $0 } == 1)
            // Once the bank confirms, the link says paid.
            try await confirmAtBank(setup)
            _ = try await payer.post(receipt + "/authenticated")
            #expect(try await other.get(path).contains("Invoice already paid"))
            #expect(try await status(setup, id) == ("paid", 0))
        }
    }

    /// The link is checked again in the transaction that reserves the payment: withdrawn after the
    /// payer's page checked it, it takes no payment, and the form then says it was withdrawn.
    @Test func aLinkWithdrawnWhileThePayerTypesTakesNoPayment() async throws {
        try await withAcme { setup in
            let services = setup.portal.services
            let (id, path) = try await linked(setup, "INV-LATE", dueIn: 10, amount: 3_000)
            let checked = try await services.paymentLinks.inspect(String(path.split(separator: "/").last!))
            #expect(checked.state == .payable)
            let payer = Browser(setup.client)
            let form = try await payer.get(path)
            // Pages at a link's URL carry its token: never kept in a cache.
            #expect(form.headers[.cacheControl] == "no-store")
            let finance = try await services.directory.createStaff(email: "fin@example.com", name: "Fin", role: .finance, password: "staff correct horse battery",
                                                                   actor: AuditEvent(action: "", actorKind: .system))
            try await services.paymentLinks.revoke(invoiceId: id, reason: "disputed", actor: .staffActor(finance, client: .system))
            let card = try await PaymentMethodsTests.token(setup.base, number: "4242424242424242")
            await #expect(throws: PaymentError.linkNotUsable) {
                try await services.payments.pay(checked.scope, .init(
                    requestKey: SecretToken.generate(), invoiceIds: [id], amount: .typed(""),
                    method: .newCard(browserResult: ["token": card], billingName: "Bob Payer", billingPostcode: "10115", keep: false),
                    source: .paymentLink, actor: AuditEvent(action: "", actorKind: .anonymous), accountName: "Acme", email: ""))
            }
            #expect(setup.counting.chargeCalls.withLock { $0 } == 0)
            #expect(try await status(setup, id) == ("open", 3_000))
            #expect(try await setup.portal.database.read { try Int.fetchOne($0, sql: "SELECT count(*) FROM payments") } == 0)
            // Through the page, the same form is answered with the withdrawn link's page.
            let answer = try await payer.post(path, ["request_key": try #require(form.hiddenField("request_key")), "token": card,
                                                     "billing_name": "Bob Payer", "billing_postcode": "10115"])
            #expect(answer.status == .gone && answer.contains("Payment link withdrawn"))
            #expect(answer.headers[.cacheControl] == "no-store")
            #expect(setup.counting.chargeCalls.withLock { $0 } == 0)
        }
    }

    @Test func voidExpiredRevokedAndForgedLinksGetClearPages() async throws {
        try await withAcme { setup in
            let services = setup.portal.services
            let (_, voidPath) = try await linked(setup, "INV-V", dueIn: 10, amount: 1_000)
            try await InvoicePagesTests.invoice(setup.portal, setup.account, "INV-V", dueIn: 10, amount: 1_000, status: .void)
            let (revoked, revokedPath) = try await linked(setup, "INV-R", dueIn: 10, amount: 1_000)
            let finance = try await services.directory.createStaff(email: "fin@example.com", name: "Fin", role: .finance, password: "staff correct horse battery",
                                                                   actor: AuditEvent(action: "", actorKind: .system))
            try await services.paymentLinks.revoke(invoiceId: revoked, reason: "customer asked", actor: .staffActor(finance, client: .system))
            let (_, expiringPath) = try await linked(setup, "INV-E", dueIn: 10, amount: 1_000)
            let browser = Browser(setup.client)
            #expect(try await browser.get(expiringPath).status == .ok, "a payable link's page, for its CSRF token")
            let void = try await browser.get(voidPath)
            #expect(void.status == .gone && void.contains("Invoice cancelled") && !void.body.contains("pay-link-form"))
            let withdrawn = try await browser.get(revokedPath)
            #expect(withdrawn.status == .gone && withdrawn.contains("Payment link withdrawn"))
            #expect(try await browser.post(revokedPath, ["request_key": SecretToken.generate(), "token": "tok"]).status == .gone)
            setup.portal.clock.advance(by: 200 * 86_400)
            let expired = try await browser.get(expiringPath)
            #expect(expired.status == .gone && expired.contains("Payment link expired") && expired.contains("Nothing was charged"))
            let forged = try await browser.get(String(expiringPath.dropLast(2)) + "xx")
            #expect(forged.status == .notFound && forged.contains("Payment link not valid") && !forged.contains("INV-E"))
            for page in [void, withdrawn, expired, forged] {
                #expect(!internalsMarkers.contains { page.body.contains($0) })
            }
            #expect(setup.counting.chargeCalls.withLock { $0 } == 0)
        }
    }

    @Test func staffFinanceWithdrawsAndReissuesFromTheConsole() async throws {
        try await withAcme { setup in
            let (id, path) = try await linked(setup, "INV-S", dueIn: 10, amount: 1_000)
            let support = try await ImpersonationTests.signedIn(setup.portal, setup.client,
                                                                try await ImpersonationTests.staff(setup.portal, "sue@example.com", role: .support))
            #expect(try await support.post("/staff/invoices/\(id)/payment-link/revoke", ["customer": setup.alice.id, "reason": "x"]).status == .forbidden)
            let staff = try await ImpersonationTests.signedIn(setup.portal, setup.client,
                                                              try await ImpersonationTests.staff(setup.portal, "fin@example.com", role: .finance))
            let page = try await staff.get("/staff/customers/\(setup.alice.id)")
            #expect(page.contains("Withdraw link"))
            let done = try await staff.post("/staff/invoices/\(id)/payment-link/revoke", ["customer": setup.alice.id, "reason": "wrong recipient"])
            #expect(done.status == .seeOther && done.location == "/staff/customers/\(setup.alice.id)")
            #expect(try await Browser(setup.client).get(path).status == .gone)
            #expect(try await setup.portal.audit("payment_link.revoke").first?.details["reason"] == "wrong recipient")
            let issued = try await staff.post("/staff/invoices/\(id)/payment-link", ["customer": setup.alice.id])
            #expect(issued.status == .ok && issued.contains("Payment link (valid until"))
            let fresh = try await setup.portal.services.paymentLinks.issue(invoiceId: id, actor: Self.api)
            #expect(fresh.reused && issued.contains(fresh.url))
        }
    }
}
