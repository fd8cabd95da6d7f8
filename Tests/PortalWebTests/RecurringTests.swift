import Foundation
import GRDB
import PortalCore
import Testing

/// Autopay, payment plans, the worker's scheduled charges, retries and reminders, against the real
/// sandbox gateway over HTTP on 127.0.0.1 and a manual clock.
@Suite struct RecurringTests {
    let harness = PaymentsTests()
    static let client = ClientInfo(address: "127.0.0.1", userAgent: "RecurringTests")
    static let drainCount = 500

    func actor(_ setup: PaymentsTests.Setup) -> AuditEvent {
        AuditEvent(action: "", actorKind: .customer, actorId: setup.alice.id, actorLabel: "alice@example.com",
                   subject: .customer(setup.alice.id), clientAddress: "127.0.0.1")
    }

    func enroll(_ setup: PaymentsTests.Setup, timing: AutopayTiming = .onDueDate) async throws -> AutopayEnrollment {
        try await setup.portal.services.autopay.enroll(setup.scope, methodId: try await harness.savedCard(setup), timing: timing,
                                                       consentGiven: true, accountName: "Acme Widgets GmbH", email: "alice@example.com",
                                                       client: Self.client, actor: actor(setup))
    }

    func scheduled(_ setup: PaymentsTests.Setup) async throws -> [Row] {
        try await setup.portal.database.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM scheduled_charges ORDER BY period_key, attempt")
        }
    }

    func advance(_ setup: PaymentsTests.Setup, days: Int) {
        setup.portal.clock.advance(by: TimeInterval(days) * 86_400)
    }

    @Test func autopayChargesEachInvoiceWhenItFallsDueOnceAndRecordsConsent() async throws {
        try await harness.withAlice { setup, _, counting in
            let soon = try await harness.invoice(setup, "INV-SOON", dueIn: 2, amount: 3_000)
            let later = try await harness.invoice(setup, "INV-LATER", dueIn: 10, amount: 4_000)
            let enrollment = try await enroll(setup, timing: .daysBefore(2))
            #expect(enrollment.consentText.contains("Visa •••• 4242") && enrollment.consentText.contains("2 days before each invoice's due date"))
            #expect(enrollment.consentVersion == RecurringConsent.version)
            let consent = try await setup.portal.database.read { db in
                try Row.fetchOne(db, sql: "SELECT consented_by, consent_address, consent_user_agent FROM autopay_enrollments")
            }
            #expect(consent?["consented_by"] == setup.alice.id && consent?["consent_address"] == "127.0.0.1"
                    && consent?["consent_user_agent"] == "RecurringTests")
            #expect(try await setup.portal.mail(to: "alice@example.com").contains { $0.message.subject == "Autopay turned on for Acme Widgets GmbH" })
            let upcoming = try await setup.portal.services.autopay.upcoming(setup.scope)
            #expect(upcoming.map(\.description) == ["Invoice INV-SOON", "Invoice INV-LATER"])

            let jobs = BillingJobs(services: setup.portal.services, logger: .init(label: "test"))
            let first = try await jobs.runOnce(worker: "w1")
            #expect(first.charges.planned == 1 && first.charges.succeeded == 1)
            #expect(try await harness.status(setup, soon) == ("paid", 0))
            #expect(try await harness.status(setup, later) == ("open", 4_000))
            // Running again the same day changes nothing.
            let again = try await jobs.runOnce(worker: "w2")
            #expect(again.charges.planned == 0 && again.charges.succeeded == 0 && counting.chargeCalls.withLock { $0 } == 1)

            advance(setup, days: 8)
            _ = try await jobs.runOnce(worker: "w1")
            #expect(try await harness.status(setup, later) == ("paid", 0))
            #expect(counting.chargeCalls.withLock { $0 } == 2)
            let sources = try await setup.portal.database.read { db in try String.fetchAll(db, sql: "SELECT DISTINCT source FROM payments") }
            #expect(sources == ["autopay"])
        }
    }

    @Test func autopayMeetingAPaymentStillProcessingWaitsADayWithoutADunningEmail() async throws {
        try await harness.withAlice { setup, base, counting in
            let invoice = try await harness.invoice(setup, "INV-WAIT", dueIn: 0, amount: 1_000)
            _ = try await enroll(setup)
            // Alice pays it herself with a card whose bank wants confirming, and walks away.
            let pending = try await setup.portal.services.payments.pay(setup.scope, .init(
                requestKey: SecretToken.generate(), invoiceIds: [invoice], amount: .typed(""),
                method: .newCard(browserResult: ["token": try await PaymentMethodsTests.token(base, number: "4000002500003155")],
                                 billingName: "Alice", billingPostcode: "80331", keep: true),
                actor: actor(setup), accountName: "Acme Widgets GmbH", email: "alice@example.com"))
            #expect(pending.status == .pending)
            let jobs = BillingJobs(services: setup.portal.services, logger: .init(label: "test"))
            let first = try await jobs.runOnce(worker: "w1")
            #expect(first.charges.planned == 1 && first.charges.succeeded == 0 && first.charges.failed == 0)
            #expect(counting.chargeCalls.withLock { $0 } == 1, "autopay charged nothing beside Alice's own payment")
            let row = try #require(try await scheduled(setup).first)
            #expect(row["state"] == "scheduled" && row["run_on"] == CalendarDate(setup.portal.clock.date).adding(days: 1).iso)
            #expect(try await setup.portal.mail(to: "alice@example.com").allSatisfy { !$0.message.subject.contains("did not go through") })
            // The bank's confirmation never comes: the payment is closed, and autopay pays the invoice.
            advance(setup, days: 2)
            try await setup.portal.services.payments.reconcile(paymentId: pending.id)
            _ = try await jobs.runOnce(worker: "w1")
            #expect(try await harness.status(setup, invoice) == ("paid", 0))
            #expect(counting.chargeCalls.withLock { $0 } == 2)
        }
    }

    @Test func anUnkeptCardPutOnAutopayMeanwhileIsKeptAndNotAskedAboutAgain() async throws {
        try await harness.withAlice(card: nil) { setup, base, _ in
            let invoice = try await harness.invoice(setup, "INV-KEEP", dueIn: 5, amount: 1_000)
            let pending = try await setup.portal.services.payments.pay(setup.scope, .init(
                requestKey: SecretToken.generate(), invoiceIds: [invoice], amount: .typed(""),
                method: .newCard(browserResult: ["token": try await PaymentMethodsTests.token(base, number: "4000002500003155")],
                                 billingName: "Alice", billingPostcode: "80331", keep: false),
                actor: actor(setup), accountName: "Acme Widgets GmbH", email: "alice@example.com"))
            // While the bank confirms, Alice chooses that card, her only one, for autopay.
            let card = try await enroll(setup).methodId
            advance(setup, days: 2)
            try await setup.portal.services.payments.reconcile(paymentId: pending.id)
            #expect(try await setup.portal.services.payments.forgetUnkeptCards() == 1)
            #expect(try await setup.portal.services.payments.forgetUnkeptCards() == 0, "answered once, not retried")
            #expect(try await setup.portal.services.paymentMethods.list(setup.scope).map(\.id) == [card])
            #expect(try await setup.portal.services.autopay.current(setup.scope)?.methodId == card)
        }
    }

    @Test func pausedAutopayChargesNothingUntilResumedAndCancelStopsIt() async throws {
        try await harness.withAlice { setup, _, counting in
            let invoice = try await harness.invoice(setup, "INV-P", dueIn: 0, amount: 1_000)
            _ = try await enroll(setup)
            let services = setup.portal.services
            try await services.autopay.change(setup.scope, .pause, accountName: "Acme", email: "alice@example.com", actor: actor(setup))
            let jobs = BillingJobs(services: services, logger: .init(label: "test"))
            _ = try await jobs.runOnce(worker: "w")
            #expect(counting.chargeCalls.withLock { $0 } == 0)
            await #expect(throws: RecurringError.notActive) {
                try await services.autopay.change(setup.scope, .pause, accountName: "Acme", email: "alice@example.com", actor: actor(setup))
            }
            try await services.autopay.change(setup.scope, .resume, accountName: "Acme", email: "alice@example.com", actor: actor(setup))
            _ = try await jobs.runOnce(worker: "w")
            #expect(try await harness.status(setup, invoice) == ("paid", 0))
            try await services.autopay.change(setup.scope, .cancel, accountName: "Acme", email: "alice@example.com", actor: actor(setup))
            #expect(try await services.autopay.current(setup.scope) == nil)
            let actions = try await setup.portal.database.read { db in
                try String.fetchAll(db, sql: "SELECT action FROM audit_events WHERE action LIKE 'autopay.%' ORDER BY id")
            }
            #expect(actions == ["autopay.enroll", "autopay.pause", "autopay.resume", "autopay.cancel"])
            let subjects = try await setup.portal.mail(to: "alice@example.com").map(\.message.subject)
            #expect(subjects.filter { $0.hasPrefix("Autopay ") }.count == 4)
        }
    }

    @Test func twoWorkersDrainFiveHundredDueChargesEachExactlyOnce() async throws {
        try await harness.withAlice { setup, _, counting in
            let account = setup.account
            let invoices = try await withThrowingTaskGroup(of: String.self) { group in
                for n in 0..<Self.drainCount {
                    group.addTask { try await InvoicePagesTests.invoice(setup.portal, account, "INV-\(n)", dueIn: 0, amount: 1_000 + Int64(n)) }
                }
                return try await group.reduce(into: [String]()) { $0.append($1) }
            }
            _ = try await enroll(setup)
            let runner = setup.portal.services.scheduledCharges
            async let a: ScheduledChargeRunner.Summary = { _ = try await runner.plan(); return try await runner.runDue(worker: "a", batch: 40) }()
            async let b: ScheduledChargeRunner.Summary = { _ = try await runner.plan(); return try await runner.runDue(worker: "b", batch: 40) }()
            let (first, second) = try await (a, b)
            #expect(first.succeeded + second.succeeded == Self.drainCount)
            #expect(first.succeeded > 0 && second.succeeded > 0, "both workers took part")
            #expect(counting.chargeCalls.withLock { $0 } == Self.drainCount)
            let (payments, distinct, unpaid) = try await setup.portal.database.read { db in
                (try Int.fetchOne(db, sql: "SELECT count(*) FROM payments WHERE status = 'succeeded'") ?? 0,
                 try Int.fetchOne(db, sql: "SELECT count(DISTINCT period_key) FROM scheduled_charges WHERE state = 'succeeded'") ?? 0,
                 try Int.fetchOne(db, sql: "SELECT count(*) FROM invoices WHERE status <> 'paid'") ?? -1)
            }
            #expect(payments == Self.drainCount && distinct == Self.drainCount && unpaid == 0 && invoices.count == Self.drainCount)
        }
    }

    @Test func softDeclinesRetryOnScheduleAndHardDeclinesDoNot() async throws {
        try await harness.withAlice(card: "4000000000009995") { setup, _, counting in
            let invoice = try await harness.invoice(setup, "INV-R", dueIn: 0, amount: 2_000)
            _ = try await enroll(setup)
            let jobs = BillingJobs(services: setup.portal.services, logger: .init(label: "test"))
            _ = try await jobs.runOnce(worker: "w")
            var rows = try await scheduled(setup)
            #expect(rows.map { $0["state"] as String } == ["failed", "scheduled"])
            let today = CalendarDate(setup.portal.clock.date)
            #expect(rows.last?["run_on"] == today.adding(days: 1).iso)
            let dunning = try await setup.portal.mail(to: "alice@example.com").filter { $0.message.subject.contains("did not go through") }
            #expect(dunning.count == 1 && dunning[0].message.textBody.contains("We will try again on \(today.adding(days: 1).formatted)")
                    && dunning[0].message.textBody.contains("/payment-methods"))
            // Retries follow 1, 3, 5 days; the attempt after the last is not scheduled.
            for days in [1, 3, 5] {
                _ = try await jobs.runOnce(worker: "w")
                #expect(counting.chargeCalls.withLock { $0 } == [1: 1, 3: 2, 5: 3][days], "nothing runs before its day")
                advance(setup, days: days)
                _ = try await jobs.runOnce(worker: "w")
            }
            rows = try await scheduled(setup)
            #expect(rows.map { $0["attempt"] as Int } == [1, 2, 3, 4] && rows.allSatisfy { $0["state"] as String == "failed" })
            #expect(counting.chargeCalls.withLock { $0 } == 4)
            #expect(try await harness.status(setup, invoice) == ("open", 2_000))
            let last = try await setup.portal.mail(to: "alice@example.com").filter { $0.message.subject.contains("did not go through") }.last
            #expect(last?.message.textBody.contains("We will not try this card again") == true)
        }
        try await harness.withAlice(card: "4000000000009979") { setup, _, counting in
            _ = try await harness.invoice(setup, "INV-H", dueIn: 0, amount: 2_000)
            _ = try await enroll(setup)
            _ = try await BillingJobs(services: setup.portal.services, logger: .init(label: "test")).runOnce(worker: "w")
            let rows = try await scheduled(setup)
            #expect(rows.count == 1 && rows[0]["state"] as String == "failed" && rows[0]["last_error"] as String == "stolen_card")
            #expect(counting.chargeCalls.withLock { $0 } == 1)
        }
    }

    @Test func aPlanPaysItsAmountUntilTheBalanceIsCleared() async throws {
        try await harness.withAlice { setup, _, counting in
            let older = try await harness.invoice(setup, "INV-A", dueIn: -10, amount: 4_000)
            let newer = try await harness.invoice(setup, "INV-B", dueIn: 20, amount: 3_000)
            let services = setup.portal.services
            let today = CalendarDate(setup.portal.clock.date)
            let eur = CurrencyCode("EUR")!
            await #expect(throws: RecurringError.aboveBalance(Money(7_000, eur))) {
                try await services.plans.create(setup.scope, .init(methodId: try await harness.savedCard(setup), amount: Money(7_001, eur),
                                                                   frequency: .weekly, startDate: today, endDate: nil, consentGiven: true),
                                                accountName: "Acme", email: "alice@example.com", client: Self.client, actor: actor(setup))
            }
            await #expect(throws: RecurringError.consentRequired) {
                try await services.plans.create(setup.scope, .init(methodId: try await harness.savedCard(setup), amount: Money(3_000, eur),
                                                                   frequency: .weekly, startDate: today, endDate: nil, consentGiven: false),
                                                accountName: "Acme", email: "alice@example.com", client: Self.client, actor: actor(setup))
            }
            let plan = try await services.plans.create(setup.scope, .init(methodId: try await harness.savedCard(setup), amount: Money(3_000, eur),
                                                                          frequency: .weekly, startDate: today, endDate: nil, consentGiven: true),
                                                       accountName: "Acme", email: "alice@example.com", client: Self.client, actor: actor(setup))
            let schedule = try await services.plans.schedule(setup.scope, plan: plan)
            #expect(schedule.map(\.amount.minorUnits) == [3_000, 3_000, 1_000])
            #expect(schedule.map(\.date) == [today, today.adding(days: 7), today.adding(days: 14)])
            let jobs = BillingJobs(services: services, logger: .init(label: "test"))
            _ = try await jobs.runOnce(worker: "w")
            #expect(try await harness.status(setup, older) == ("partially_paid", 1_000))
            advance(setup, days: 7)
            _ = try await jobs.runOnce(worker: "w")
            #expect(try await harness.status(setup, older) == ("paid", 0))
            #expect(try await harness.status(setup, newer) == ("partially_paid", 1_000))
            advance(setup, days: 7)
            _ = try await jobs.runOnce(worker: "w")
            #expect(try await harness.status(setup, newer) == ("paid", 0))
            advance(setup, days: 7)
            _ = try await jobs.runOnce(worker: "w")
            #expect(counting.chargeCalls.withLock { $0 } == 3)
            #expect(try await services.plans.list(setup.scope).first?.status == .completed)
        }
    }

    @Test func remindersGoOutOncePerOccasionAndCardNoticesBeforeExpiry() async throws {
        try await harness.withAlice(card: nil) { setup, _, _ in
            _ = try await harness.invoice(setup, "INV-7", dueIn: 7, amount: 1_000)
            _ = try await harness.invoice(setup, "INV-LATE", dueIn: -1, amount: 1_000)
            _ = try await harness.invoice(setup, "INV-FAR", dueIn: 20, amount: 1_000)
            let reminders = setup.portal.services.reminders
            #expect(try await reminders.runOnce() == 2)
            #expect(try await reminders.runOnce() == 0)
            let subjects = try await setup.portal.mail(to: "alice@example.com").map(\.message.subject)
            #expect(subjects.contains { $0.hasPrefix("Invoice INV-7") || $0.contains("INV-7") } && subjects.contains { $0.hasPrefix("Overdue: invoice INV-LATE") })
            #expect(!subjects.contains { $0.contains("INV-FAR") })
            advance(setup, days: 6)
            #expect(try await reminders.runOnce() == 2, "INV-7 one day before, INV-LATE a week overdue")
        }
    }

    @Test func aCardIsNoticedOnceWithinThirtyDaysOfItsExpiry() async throws {
        try await harness.withAlice { setup, _, _ in
            // The sandbox's test tokens expire 11/2030: valid through 30 Nov 2030.
            setup.portal.clock.set(CalendarDate(iso: "2030-10-30")!.date)
            #expect(try await setup.portal.services.reminders.runOnce() == 0)
            setup.portal.clock.set(CalendarDate(iso: "2030-11-02")!.date)
            #expect(try await setup.portal.services.reminders.runOnce() == 1)
            #expect(try await setup.portal.services.reminders.runOnce() == 0)
            let notice = try await setup.portal.mail(to: "alice@example.com").first { $0.message.subject.contains("expires") }
            #expect(notice?.message.subject == "Your saved card Visa •••• 4242 expires 11/2030")
        }
    }
}
