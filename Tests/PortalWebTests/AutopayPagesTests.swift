import Foundation
import GRDB
import PortalCore
import Testing

/// `/autopay` through HTTP: enrolment with consent, pause / resume / cancel, plans, and the card
/// behind them that can't be removed while it is the only one.
@Suite struct AutopayPagesTests {
    let harness = PaymentsTests()

    @Test func enrolWithConsentSeeTheScheduleAndPauseResumeCancel() async throws {
        try await harness.withAlice { setup, _, _ in
            _ = try await harness.invoice(setup, "INV-A1", dueIn: 12, amount: 4_200)
            let browser = setup.browser
            let page = try await browser.get("/autopay")
            #expect(page.status == .ok && page.contains("Turn on autopay") && page.contains("I agree to these automatic charges."))
            let card = try await harness.savedCard(setup)
            let refused = try await browser.post("/autopay", ["method": card, "timing": "due_date"])
            #expect(refused.status == .unprocessableContent && refused.contains("Tick the box to agree"))
            #expect(try await setup.portal.services.autopay.current(setup.scope) == nil)
            let badDays = try await browser.post("/autopay", ["method": card, "timing": "days_before", "days_before": "45", "consent": "yes"])
            #expect(badDays.status == .unprocessableContent && badDays.contains("between 1 and 30 days"))
            let on = try await browser.post("/autopay", ["method": card, "timing": "days_before", "days_before": "5", "consent": "yes"])
            #expect(on.status == .seeOther)
            let enrolled = try await browser.follow(on)
            #expect(enrolled.contains("Autopay is on") && enrolled.contains("5 days before each invoice's due date"))
            #expect(enrolled.contains("INV-A1") && enrolled.contains("€42.00"), "the schedule lists the coming charge")
            #expect(enrolled.body.contains("id=\"autopay-consent\"") && enrolled.contains("I authorise"))

            try await browser.post("/autopay/pause")
            #expect(try await setup.portal.services.autopay.current(setup.scope)?.status == .paused)
            let paused = try await browser.get("/autopay")
            #expect(paused.contains("Resume autopay") && !paused.contains("Pause autopay"))
            #expect(try await browser.post("/autopay/pause").status == .unprocessableContent)
            try await browser.post("/autopay/resume")
            #expect(try await setup.portal.services.autopay.current(setup.scope)?.status == .active)
            try await browser.post("/autopay/cancel")
            #expect(try await setup.portal.services.autopay.current(setup.scope) == nil)
            #expect(try await browser.post("/autopay/explode").status == .notFound)
            #expect(try await setup.portal.audit("autopay.enroll").first?.details["consent_version"] == RecurringConsent.version)
        }
    }

    @Test func theOnlyCardBehindAutopayCannotBeRemovedButASecondTakesOver() async throws {
        try await harness.withAlice { setup, base, _ in
            let browser = setup.browser
            let card = try await harness.savedCard(setup)
            _ = try await browser.get("/autopay")
            try await browser.post("/autopay", ["method": card, "timing": "due_date", "consent": "yes"])
            _ = try await browser.get("/payment-methods")
            let refused = try await browser.post("/payment-methods/\(card)/remove")
            #expect(refused.status == .unprocessableContent && refused.contains("only card on file and autopay"))
            #expect(try await setup.portal.services.paymentMethods.list(setup.scope).count == 1)
            try await browser.post("/payment-methods", ["token": try await PaymentMethodsTests.token(base, number: "5555555555554444"),
                                                        "billing_name": "Alice", "billing_postcode": "80331"])
            let removed = try await browser.post("/payment-methods/\(card)/remove")
            #expect(removed.status == .seeOther)
            #expect(try await setup.portal.services.autopay.current(setup.scope)?.methodLabel == "Mastercard •••• 4444")
        }
    }

    @Test func aPlanShowsItsScheduleAndCanBeCancelled() async throws {
        try await harness.withAlice { setup, _, _ in
            _ = try await harness.invoice(setup, "INV-P1", dueIn: 5, amount: 10_000)
            let browser = setup.browser
            let card = try await harness.savedCard(setup)
            let today = CalendarDate(setup.portal.clock.date)
            _ = try await browser.get("/autopay")
            let tooMuch = try await browser.post("/autopay/plans", ["method": card, "amount": "150", "currency": "EUR", "frequency": "monthly",
                                                                   "start_date": today.iso, "consent": "yes"])
            #expect(tooMuch.status == .unprocessableContent && tooMuch.contains("more than the €100.00 owed"))
            let badDate = try await browser.post("/autopay/plans", ["method": card, "amount": "40", "currency": "EUR", "frequency": "monthly",
                                                                   "start_date": "yesterday", "consent": "yes"])
            #expect(badDate.status == .unprocessableContent && badDate.contains("Choose a start date"))
            let created = try await browser.follow(try await browser.post("/autopay/plans", [
                "method": card, "amount": "40", "currency": "EUR", "frequency": "monthly", "start_date": today.adding(days: 1).iso, "consent": "yes"]))
            #expect(created.contains("payment plan is set up") && created.contains("€40.00 monthly"))
            #expect(created.contains(today.adding(days: 1).formatted) && created.contains(today.adding(days: 1).addingMonths(2).formatted)
                    && created.contains("€20.00"), "40 + 40 + 20")
            let plan = try #require(try await setup.portal.services.plans.list(setup.scope).first)
            try await browser.post("/autopay/plans/\(plan.id)/cancel")
            #expect(try await setup.portal.services.plans.list(setup.scope).first?.status == .cancelled)
            #expect(try await browser.post("/autopay/plans/plan_nope/cancel").status == .notFound)
        }
    }
}
