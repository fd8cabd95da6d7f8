import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import GRDB
import HummingbirdTesting
import PortalCore
import Testing

/// Paying invoices through `/pay` against the real sandbox gateway over HTTP on 127.0.0.1.
@Suite struct PaymentsTests {
    static let eur = CurrencyCode("EUR")!
    let gateway = PaymentMethodsTests()

    struct Setup: Sendable {
        var portal: Portal
        var browser: Browser
        var scope: CustomerScope
        var alice: Customer
        var account: Account
    }

    /// Alice, her account, signed in, with a saved card of the given number (if any).
    func withAlice(card: String? = "4242424242424242", timeout: TimeInterval = 15, logs: LogCapture? = nil,
                   integration: (@Sendable (DatabasePool) -> any IntegrationControl)? = nil, _ body: @Sendable (Setup, URL, PaymentMethodsTests.CountingGateway) async throws -> Void) async throws {
        try await gateway.withCountingGateway(timeout: timeout, logs: logs, integration: integration) { portal, client, base, counting in
            let acme = try await portal.account("Acme Widgets GmbH")
            let alice = try await portal.customer("alice@example.com", accounts: [acme])
            let browser = try await portal.signedIn(client, alice)
            if let card {
                _ = try await browser.get("/payment-methods")
                let saved = try await browser.post("/payment-methods", ["token": try await PaymentMethodsTests.token(base, number: card),
                                                                        "billing_name": "Alice", "billing_postcode": "80331"])
                try #require(saved.status == .seeOther)
            }
            try await body(Setup(portal: portal, browser: browser, scope: CustomerScope(userId: alice.id, accountId: acme.id), alice: alice,
                                 account: acme),
                           base, counting)
        }
    }

    func savedCard(_ setup: Setup) async throws -> String {
        try #require(try await setup.portal.services.paymentMethods.list(setup.scope).first?.id)
    }

    func invoice(_ setup: Setup, _ number: String, dueIn days: Int, amount: Int64) async throws -> String {
        try await InvoicePagesTests.invoice(setup.portal, setup.account, number, dueIn: days, amount: amount)
    }

    func status(_ setup: Setup, _ invoiceId: String) async throws -> (String, Int64) {
        try await setup.portal.database.read { db in
            let row = try #require(try Row.fetchOne(db, sql: "SELECT status, balance FROM invoices WHERE id = ?", arguments: [invoiceId]))
            return (row["status"], row["balance"])
        }
    }

    @Test func payOneInvoiceInFullWithASavedCard() async throws {
        try await withAlice { setup, _, counting in
            let id = try await invoice(setup, "INV-100", dueIn: 10, amount: 12_000)
            let detail = try await setup.browser.get("/invoices/\(id)")
            #expect(detail.body.contains("href=\"/pay?invoice=\(id)\""))
            let form = try await setup.browser.get("/pay?invoice=\(id)")
            #expect(form.status == .ok && form.contains("INV-100") && form.hiddenField("amount") == nil)
            let key = try #require(form.hiddenField("request_key"))
            let card = try await savedCard(setup)
            let review = try await setup.browser.post("/pay/review", ["request_key": key, "invoice": id, "amount": "120.00", "method": card])
            #expect(review.status == .ok && review.contains("You are about to pay") && review.contains("€120.00") && review.contains("Visa •••• 4242"))
            #expect(counting.chargeCalls.withLock { $0 } == 0)
            let paid = try await setup.browser.post("/pay", ["request_key": key, "invoice": id, "amount": "120.00", "method": card])
            #expect(paid.status == .seeOther)
            let receipt = try await setup.browser.follow(paid)
            #expect(receipt.contains("Payment received") && receipt.contains("€120.00") && receipt.contains("INV-100") && receipt.contains("Paid"))
            #expect(try await status(setup, id) == ("paid", 0))
            #expect(counting.chargeCalls.withLock { $0 } == 1)
            let mail = try await setup.portal.mail(to: "alice@example.com")
            #expect(mail.contains { $0.message.subject == "Payment received: €120.00" && $0.message.textBody.contains(paid.location ?? "-") })
            #expect(try await setup.portal.audit("payment.succeeded").count == 1)
            let history = try await setup.browser.get("/payments")
            #expect(history.contains("INV-100") && history.contains("€120.00"))
            // The same form again (back button, second tab) shows the same payment and charges nothing.
            let again = try await setup.browser.post("/pay", ["request_key": key, "invoice": id, "amount": "120.00", "method": card])
            #expect(again.location == paid.location && counting.chargeCalls.withLock { $0 } == 1)
        }
    }

    @Test func fiftySimultaneousPostsOfOneFormChargeOnce() async throws {
        try await withAlice { setup, _, counting in
            let id = try await invoice(setup, "INV-RACE", dueIn: 5, amount: 5_000)
            let form = try await setup.browser.get("/pay?invoice=\(id)")
            let key = try #require(form.hiddenField("request_key"))
            let card = try await savedCard(setup)
            let locations = try await withThrowingTaskGroup(of: String?.self) { group in
                for _ in 0..<50 {
                    group.addTask {
                        try await setup.browser.post("/pay", ["request_key": key, "invoice": id, "amount": "50.00", "method": card]).location
                    }
                }
                return try await group.reduce(into: [String?]()) { $0.append($1) }
            }
            #expect(locations.count == 50 && Set(locations).count == 1 && locations[0]?.hasPrefix("/payments/pay_") == true)
            #expect(counting.chargeCalls.withLock { $0 } == 1)
            let payments = try await setup.portal.database.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM payments") }
            #expect(payments == 1)
            #expect(try await status(setup, id) == ("paid", 0))
        }
    }

    @Test func partialPaymentsGoToTheOldestInvoiceAndBadAmountsChangeNothing() async throws {
        try await withAlice { setup, _, counting in
            let older = try await invoice(setup, "INV-OLD", dueIn: -3, amount: 4_000)
            let newer = try await invoice(setup, "INV-NEW", dueIn: 20, amount: 6_000)
            let form = try await setup.browser.get("/pay?invoice=\(newer)&invoice=\(older)")
            #expect(form.contains("€100.00"))
            let key = try #require(form.hiddenField("request_key"))
            let card = try await savedCard(setup)
            for (amount, message) in [("abc", "Enter the amount to pay as a number"), ("0.50", "The smallest payment we can take is €1.00"),
                                      ("100.01", "That is more than the €100.00 owed"), ("12.345", "Enter the amount to pay as a number")] {
                let page = try await setup.browser.post("/pay", ["request_key": key, "invoice": older, "invoice": newer, "amount": amount, "method": card])
                #expect(page.status == .unprocessableContent && page.contains(message), "\(amount)")
            }
            #expect(counting.chargeCalls.withLock { $0 } == 0)
            let paid = try await setup.browser.post("/pay", ["request_key": key, "invoice": older, "invoice": newer, "amount": "50", "method": card])
            let receipt = try await setup.browser.follow(paid)
            #expect(receipt.contains("INV-OLD") && receipt.contains("€40.00") && receipt.contains("€10.00"))
            #expect(try await status(setup, older) == ("paid", 0))
            #expect(try await status(setup, newer) == ("partially_paid", 5_000))
            // Paid invoices can't be paid again; a foreign or unknown invoice is not found.
            let paidAgain = try await setup.browser.get("/pay?invoice=\(older)")
            #expect(paidAgain.status == .unprocessableContent && paidAgain.contains("INV-OLD has nothing left to pay"))
            let bakery = try await setup.portal.account("Bakery")
            let foreign = try await InvoicePagesTests.invoice(setup.portal, bakery, "INV-B", dueIn: 3)
            #expect(try await setup.browser.get("/pay?invoice=\(foreign)").status == .notFound)
            #expect(try await setup.browser.post("/pay", ["request_key": SecretToken.generate(), "invoice": foreign, "amount": "1", "method": card]).status == .notFound)
            #expect(try await setup.browser.get("/pay?invoice=inv_nope").status == .notFound)
            let noKey = try await setup.browser.post("/pay", ["request_key": "short", "invoice": newer, "amount": "10", "method": card])
            #expect(noKey.status == .unprocessableContent && noKey.contains("This payment form has expired"))
            #expect(counting.chargeCalls.withLock { $0 } == 1)
        }
    }

    @Test func aDeclineExplainsItselfAndAnotherCardSucceeds() async throws {
        try await withAlice(card: "4000000000009995") { setup, base, _ in
            let id = try await invoice(setup, "INV-D", dueIn: 3, amount: 2_500)
            let declinedCard = try await savedCard(setup)
            let form = try await setup.browser.get("/pay?invoice=\(id)")
            let declined = try await setup.browser.follow(try await setup.browser.post("/pay", [
                "request_key": try #require(form.hiddenField("request_key")), "invoice": id, "method": declinedCard]))
            #expect(declined.contains("Payment not completed") && declined.contains("Your card has insufficient funds.")
                    && declined.contains("Try again"))
            #expect(try await status(setup, id) == ("open", 2_500))
            #expect(try await setup.portal.audit("payment.failed").count == 1)
            // A new card typed on the payment page, not kept afterwards.
            let retry = try await setup.browser.get("/pay?invoice=\(id)")
            let token = try await PaymentMethodsTests.token(base, number: "5555555555554444")
            let paid = try await setup.browser.follow(try await setup.browser.post("/pay", [
                "request_key": try #require(retry.hiddenField("request_key")), "invoice": id, "method": "new", "token": token,
                "billing_name": "Alice", "billing_postcode": "80331"]))
            #expect(paid.contains("Payment received") && paid.contains("Mastercard •••• 4444"))
            #expect(try await status(setup, id) == ("paid", 0))
            #expect(try await setup.portal.services.paymentMethods.list(setup.scope).map(\.last4) == ["9995"])
        }
    }

    @Test func aDeclinedNewCardIsNotLeftSavedUnlessTheCustomerKeptIt() async throws {
        try await withAlice(card: nil) { setup, base, _ in
            let id = try await invoice(setup, "INV-N", dueIn: 3, amount: 2_500)
            for keep in ["", "yes"] {
                let form = try await setup.browser.get("/pay?invoice=\(id)")
                let declined = try await setup.browser.follow(try await setup.browser.post("/pay", [
                    "request_key": try #require(form.hiddenField("request_key")), "invoice": id, "method": "new",
                    "token": try await PaymentMethodsTests.token(base, number: "4000000000000002"), "keep_card": keep,
                    "billing_name": "Alice", "billing_postcode": "80331"]))
                #expect(declined.contains("Payment not completed") && declined.contains("Try again"))
            }
            // Only the card the customer asked to keep stays; the other went with its declined charge.
            #expect(try await setup.portal.services.paymentMethods.list(setup.scope).map(\.last4) == ["0002"])
            #expect(try await status(setup, id) == ("open", 2_500))
        }
    }

    @Test func anUnkeptCardNeedingTheBankStaysUntilTheChargeEndsThenGoes() async throws {
        try await withAlice(card: nil) { setup, base, _ in
            let id = try await invoice(setup, "INV-3K", dueIn: 3, amount: 1_800)
            let form = try await setup.browser.get("/pay?invoice=\(id)")
            let posted = try await setup.browser.post("/pay", [
                "request_key": try #require(form.hiddenField("request_key")), "invoice": id, "method": "new",
                "token": try await PaymentMethodsTests.token(base, number: "4000002500003155"), "billing_name": "Alice", "billing_postcode": "80331"])
            let paymentId = String(try #require(posted.location).dropFirst("/payments/".count))
            #expect(try await setup.portal.services.paymentMethods.list(setup.scope).count == 1, "the bank still needs the card")
            let payment = try await setup.portal.services.payments.payment(setup.scope, id: paymentId)
            var request = URLRequest(url: base.appendingPathComponent("v1/charges/\(try #require(payment.transactionId))/confirm"))
            request.httpMethod = "POST"
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
            request.httpBody = try JSONSerialization.data(withJSONObject: ["client_secret": try #require(payment.actionClientSecret)])
            _ = try await URLSession.shared.data(for: request)
            _ = try await setup.browser.get("/payments/\(paymentId)")
            try await setup.browser.post("/payments/\(paymentId)/authenticated")
            #expect(try await status(setup, id) == ("paid", 0))
            #expect(try await setup.portal.services.paymentMethods.list(setup.scope).isEmpty, "gone once the charge ended")
            #expect(try await setup.portal.services.payments.forgetUnkeptCards() == 0)
        }
    }

    @Test func aLostAnswerStaysProcessingUntilTheReconcilerSettlesIt() async throws {
        try await withAlice(card: "4000000000000259", timeout: 1) { setup, _, counting in
            let id = try await invoice(setup, "INV-T", dueIn: 3, amount: 9_900)
            let form = try await setup.browser.get("/pay?invoice=\(id)")
            let posted = try await setup.browser.post("/pay", ["request_key": try #require(form.hiddenField("request_key")), "invoice": id,
                                                               "method": try await savedCard(setup)])
            let page = try await setup.browser.follow(posted)
            #expect(page.contains("Payment processing") && page.contains("Please don't pay again") && page.headers[.init("Refresh")!] == "3")
            #expect(try await status(setup, id) == ("open", 9_900))
            let paymentId = String(try #require(posted.location).dropFirst("/payments/".count))
            #expect(try await setup.portal.services.payments.unsettled(olderThan: 0) == [paymentId])
            try await Task.sleep(for: .seconds(3))
            try await setup.portal.services.payments.reconcile(paymentId: paymentId)
            #expect(try await status(setup, id) == ("paid", 0))
            #expect(try await setup.portal.services.payments.unsettled(olderThan: 0).isEmpty)
            #expect(counting.chargeCalls.withLock { $0 } == 1)
        }
    }

    @Test func threeDSecureCompletesInThePage() async throws {
        try await withAlice(card: "4000002500003155") { setup, base, _ in
            let id = try await invoice(setup, "INV-3DS", dueIn: 3, amount: 1_500)
            let form = try await setup.browser.get("/pay?invoice=\(id)")
            let posted = try await setup.browser.post("/pay", ["request_key": try #require(form.hiddenField("request_key")), "invoice": id,
                                                               "method": try await savedCard(setup)])
            let page = try await setup.browser.follow(posted)
            #expect(page.contains("Confirm with your bank") && page.contains("/js/authenticate.js"))
            let paymentId = String(try #require(posted.location).dropFirst("/payments/".count))
            let payment = try await setup.portal.services.payments.payment(setup.scope, id: paymentId)
            let secret = try #require(payment.actionClientSecret)
            let charge = try #require(payment.transactionId)
            #expect(page.body.contains("data-client-secret=\"\(secret)\""))
            // What the sandbox's challenge frame does when the customer confirms.
            var request = URLRequest(url: base.appendingPathComponent("v1/charges/\(charge)/confirm"))
            request.httpMethod = "POST"
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
            request.httpBody = try JSONSerialization.data(withJSONObject: ["client_secret": secret])
            _ = try await URLSession.shared.data(for: request)
            let done = try await setup.browser.follow(try await setup.browser.post("/payments/\(paymentId)/authenticated"))
            #expect(done.contains("Payment received"))
            #expect(try await status(setup, id) == ("paid", 0))
        }
    }

    @Test func anAbandonedBankConfirmationIsClosedAfterADay() async throws {
        try await withAlice(card: "4000002500003155") { setup, _, _ in
            let id = try await invoice(setup, "INV-AB", dueIn: 3, amount: 1_500)
            let form = try await setup.browser.get("/pay?invoice=\(id)")
            let posted = try await setup.browser.post("/pay", ["request_key": try #require(form.hiddenField("request_key")), "invoice": id,
                                                               "method": try await savedCard(setup)])
            let paymentId = String(try #require(posted.location).dropFirst("/payments/".count))
            let payments = setup.portal.services.payments
            try await payments.reconcile(paymentId: paymentId)
            #expect(try await payments.payment(setup.scope, id: paymentId).requiresAction, "still waiting for the customer on day one")
            setup.portal.clock.advance(by: 86_401)
            try await payments.reconcile(paymentId: paymentId)
            #expect(try await payments.payment(setup.scope, id: paymentId).status == .failed)
            // A day later the session has long expired: sign in again to look.
            let browser = try await setup.portal.signedIn(setup.browser.client, setup.alice)
            let page = try await browser.follow(posted)
            #expect(page.contains("confirmation of this payment was not completed") && page.contains("Try again"))
            #expect(try await status(setup, id) == ("open", 1_500))
        }
    }

    @Test func anotherCustomersPaymentIsNotFound() async throws {
        try await withAlice { setup, _, _ in
            let id = try await invoice(setup, "INV-X", dueIn: 3, amount: 1_000)
            let form = try await setup.browser.get("/pay?invoice=\(id)")
            let posted = try await setup.browser.post("/pay", ["request_key": try #require(form.hiddenField("request_key")), "invoice": id,
                                                               "method": try await savedCard(setup)])
            let location = try #require(posted.location)
            let bakery = try await setup.portal.account("Bakery")
            let bob = try await setup.portal.customer("bob@example.com", accounts: [bakery])
            let other = try await setup.portal.signedIn(setup.browser.client, bob)
            #expect(try await other.get(location).status == .notFound)
            _ = try await other.get("/payments")
            #expect(try await other.post(location + "/authenticated").status == .notFound)
            #expect(try await other.get("/payments?page=x").status == .badRequest)
        }
    }
}
