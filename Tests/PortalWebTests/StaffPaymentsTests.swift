import Foundation
import GRDB
import PortalCore
import Testing

/// Refunds and voids from the staff console, against the real sandbox gateway.
@Suite struct StaffPaymentsTests {
    let harness = PaymentsTests()

    func paid(_ setup: PaymentsTests.Setup, amount: Int64) async throws -> (invoice: String, payment: String) {
        let invoice = try await harness.invoice(setup, "INV-R\(amount)", dueIn: 3, amount: amount)
        let form = try await setup.browser.get("/pay?invoice=\(invoice)")
        let posted = try await setup.browser.post("/pay", ["request_key": try #require(form.hiddenField("request_key")), "invoice": invoice,
                                                           "method": try await harness.savedCard(setup)])
        return (invoice, String(try #require(posted.location).dropFirst("/payments/".count)))
    }

    @Test func financeRefundsWithAReasonAndSupportOnlyLooks() async throws {
        try await harness.withAlice { setup, _, _ in
            let (invoice, payment) = try await paid(setup, amount: 5_000)
            let support = try await ImpersonationTests.staff(setup.portal, "support@example.com", role: .support)
            let finance = try await ImpersonationTests.staff(setup.portal, "finance@example.com", role: .finance)
            let supportBrowser = try await ImpersonationTests.signedIn(setup.portal, setup.browser.client, support)
            let seen = try await supportBrowser.get("/staff/payments/\(payment)")
            #expect(seen.status == .ok && seen.contains("€50.00") && !seen.body.contains("id=\"refund\""))
            let refused = try await supportBrowser.post("/staff/payments/\(payment)/refund", ["amount": "10", "reason": "x",
                                                                                           "request_key": SecretToken.generate()])
            #expect(refused.status == .forbidden && refused.contains("needs the finance role"))

            let browser = try await ImpersonationTests.signedIn(setup.portal, setup.browser.client, finance)
            let page = try await browser.get("/staff/payments/\(payment)")
            #expect(page.body.contains("id=\"refund\"") && page.body.contains("id=\"void\""))
            let key = try #require(page.hiddenField("request_key"))
            let noReason = try await browser.post("/staff/payments/\(payment)/refund", ["amount": "10", "reason": "", "request_key": key])
            #expect(noReason.status == .unprocessableContent && noReason.contains("Say why"))
            let tooMuch = try await browser.post("/staff/payments/\(payment)/refund", ["amount": "60", "reason": "oops", "request_key": key])
            #expect(tooMuch.status == .unprocessableContent && tooMuch.contains("€50.00 or less"))
            let done = try await browser.post("/staff/payments/\(payment)/refund", ["amount": "20", "reason": "Goodwill", "request_key": key])
            #expect(done.status == .seeOther)
            let again = try await browser.post("/staff/payments/\(payment)/refund", ["amount": "20", "reason": "Goodwill", "request_key": key])
            #expect(again.status == .seeOther, "the same form twice is the same refund")
            #expect(try await harness.status(setup, invoice) == ("partially_paid", 2_000))
            let after = try await browser.get("/staff/payments/\(payment)")
            #expect(after.contains("Goodwill") && after.contains("finance@example.com") && after.contains("€20.00"))
            #expect(!after.body.contains("id=\"void\""), "a partly refunded payment can't be voided")
            let refund = try #require(try await setup.portal.audit("payment.refund").first)
            #expect(refund.actorId == finance.id && refund.details["reason"] == "Goodwill")
            #expect(try await browser.get("/staff/payments/pay_nope").status == .notFound)
        }
    }

    @Test func financeVoidsAPayment() async throws {
        try await harness.withAlice { setup, _, _ in
            let (invoice, payment) = try await paid(setup, amount: 3_000)
            let finance = try await ImpersonationTests.staff(setup.portal, "finance@example.com", role: .finance)
            let browser = try await ImpersonationTests.signedIn(setup.portal, setup.browser.client, finance)
            let page = try await browser.get("/staff/payments/\(payment)")
            let voided = try await browser.post("/staff/payments/\(payment)/void", ["reason": "Charged in error",
                                                                                   "request_key": try #require(page.hiddenField("request_key"))])
            #expect(voided.status == .seeOther)
            #expect(try await setup.portal.services.payments.paymentForStaff(id: payment).status == .voided)
            #expect(try await harness.status(setup, invoice) == ("open", 3_000))
        }
    }
}
