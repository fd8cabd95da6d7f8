import Foundation
import GRDB
import HTTPTypes
import PortalCore
import Synchronization
import Testing

/// Refunds and voids through the service layer, against payments made through `/pay` and the real
/// sandbox gateway over HTTP on 127.0.0.1.
@Suite struct RefundsTests {
    static let eur = CurrencyCode("EUR")!
    let payments = PaymentsTests()
    let staff = AuditEvent(action: "", actorKind: .staff, actorId: "stf_1", actorLabel: "ops@example.com", clientAddress: "127.0.0.1")

    /// Pays the invoices in full through the payment form with Alice's saved card; returns the payment id.
    static func pay(_ setup: PaymentsTests.Setup, _ invoiceIds: [String], amount: String) async throws -> String {
        let form = try await setup.browser.get(SitePath.pay + "?" + invoiceIds.map { "invoice=\($0)" }.joined(separator: "&"))
        let card = try #require(try await setup.portal.services.paymentMethods.list(setup.scope).first?.id)
        var fields: [(String, String)] = [("request_key", try #require(form.hiddenField("request_key"))), ("amount", amount), ("method", card)]
        fields += invoiceIds.map { ("invoice", $0) }
        fields.append(("_csrf", try #require(setup.browser.csrf)))
        let posted = try await setup.browser.request(.post, SitePath.pay, headers: [.contentType: "application/x-www-form-urlencoded"],
                                                     body: Browser.urlEncode(fields))
        let location = try #require(posted.location, "paying answered \(posted.status)")
        return String(location.dropFirst(SitePath.payments.count + 1))
    }

    /// An invoice of `amount` paid in full through the payment form: (invoice id, payment id).
    static func paidInvoice(_ setup: PaymentsTests.Setup, _ number: String, amount: Int64) async throws -> (invoice: String, payment: String) {
        let invoice = try await InvoicePagesTests.invoice(setup.portal, setup.account, number, dueIn: 5, amount: amount)
        return (invoice, try await pay(setup, [invoice], amount: Money(amount, eur).plain))
    }

    func payment(_ setup: PaymentsTests.Setup, _ id: String) async throws -> Payment {
        try await setup.portal.services.payments.payment(setup.scope, id: id)
    }

    func euros(_ minorUnits: Int64) -> Money { Money(minorUnits, Self.eur) }

    @Test func aFullRefundReopensTheInvoiceAndIsAudited() async throws {
        try await payments.withAlice { setup, _, counting in
            // setup
            let (invoice, paymentId) = try await Self.paidInvoice(setup, "INV-R1", amount: 12_000)
            #expect(try await payments.status(setup, invoice) == ("paid", 0))
            // act
            let refund = try await setup.portal.services.refunds.refund(paymentId: paymentId, amount: euros(12_000), reason: "Order cancelled",
                                                                          actor: staff, requestKey: SecretToken.generate())
            // validate
            #expect(refund.status == .succeeded && refund.kind == .refund && refund.amount == euros(12_000) && refund.gatewayRefundId != nil)
            let after = try await payment(setup, paymentId)
            #expect(after.status == .refunded && after.amountRefunded == euros(12_000) && after.allocations.isEmpty)
            #expect(try await payments.status(setup, invoice) == ("open", 12_000))
            let charge = try #require(try counting.engine.charge(idempotencyKey: paymentId))
            #expect(charge.status == .refunded && charge.amountRefunded == 12_000)
            let audit = try await setup.portal.audit("payment.refund")
            #expect(audit.count == 1 && audit.first?.actorLabel == "ops@example.com" && audit.first?.actorKind == .staff)
            #expect(audit.first?.details["reason"] == "Order cancelled" && audit.first?.details["payment"] == paymentId
                    && audit.first?.accountId == setup.account.id)
            #expect(counting.refundCalls.withLock { $0 } == 1)
            // Nothing is left to refund.
            await #expect(throws: RefundError.notRefundable(.refunded)) {
                try await setup.portal.services.refunds.refund(paymentId: paymentId, amount: euros(1), reason: "again", actor: staff,
                                                               requestKey: SecretToken.generate())
            }
        }
    }

    @Test func partialRefundsComeOffTheNewestDueInvoiceFirst() async throws {
        try await payments.withAlice { setup, _, counting in
            // setup: 40.00 due earlier, 60.00 due later, one payment of 100.00 for both
            let older = try await payments.invoice(setup, "INV-OLD", dueIn: -3, amount: 4_000)
            let newer = try await payments.invoice(setup, "INV-NEW", dueIn: 20, amount: 6_000)
            let paymentId = try await Self.pay(setup, [older, newer], amount: "100.00")
            let refunds = setup.portal.services.refunds
            // act + validate: 30.00 comes off the later invoice only
            _ = try await refunds.refund(paymentId: paymentId, amount: euros(3_000), reason: "Damaged goods", actor: staff,
                                         requestKey: SecretToken.generate())
            #expect(try await payments.status(setup, newer) == ("partially_paid", 3_000))
            #expect(try await payments.status(setup, older) == ("paid", 0))
            var after = try await payment(setup, paymentId)
            #expect(after.status == .partiallyRefunded && after.amountRefunded == euros(3_000))
            #expect(after.allocations.map(\.amount) == [euros(4_000), euros(3_000)])
            // 50.00 more: the rest of the later invoice, then 20.00 of the earlier one
            _ = try await refunds.refund(paymentId: paymentId, amount: euros(5_000), reason: "Damaged goods", actor: staff,
                                         requestKey: SecretToken.generate())
            #expect(try await payments.status(setup, newer) == ("open", 6_000))
            #expect(try await payments.status(setup, older) == ("partially_paid", 2_000))
            after = try await payment(setup, paymentId)
            #expect(after.status == .partiallyRefunded && after.amountRefunded == euros(8_000) && after.allocations.map(\.amount) == [euros(2_000)])
            // More than is left is refused, naming what is left; what is left is allowed.
            await #expect(throws: RefundError.amountTooLarge(euros(2_000))) {
                try await refunds.refund(paymentId: paymentId, amount: euros(2_001), reason: "Damaged goods", actor: staff,
                                         requestKey: SecretToken.generate())
            }
            _ = try await refunds.refund(paymentId: paymentId, amount: euros(2_000), reason: "Damaged goods", actor: staff,
                                         requestKey: SecretToken.generate())
            after = try await payment(setup, paymentId)
            #expect(after.status == .refunded && after.amountRefunded == euros(10_000) && after.allocations.isEmpty)
            #expect(try await payments.status(setup, older) == ("open", 4_000))
            #expect(try #require(try counting.engine.charge(idempotencyKey: paymentId)).amountRefunded == 10_000)
            #expect(counting.refundCalls.withLock { $0 } == 3)
            #expect(try await refunds.refunds(paymentId: paymentId).map(\.amount) == [euros(3_000), euros(5_000), euros(2_000)])
        }
    }

    @Test func badRequestsChangeNothingAndNeverReachTheGateway() async throws {
        try await payments.withAlice { setup, _, counting in
            let (invoice, paymentId) = try await Self.paidInvoice(setup, "INV-B", amount: 5_000)
            let refunds = setup.portal.services.refunds
            let cases: [(Money, String, String, String, RefundError)] = [
                (euros(1_000), "   ", paymentId, SecretToken.generate(), .reasonRequired),
                (euros(5_001), "Too much", paymentId, SecretToken.generate(), .amountTooLarge(euros(5_000))),
                (euros(0), "Nothing", paymentId, SecretToken.generate(), .invalidAmount),
                (Money(1_000, CurrencyCode("USD")!), "Dollars", paymentId, SecretToken.generate(), .invalidAmount),
                (euros(1_000), "Unknown", "pay_nope", SecretToken.generate(), .notFound),
                (euros(1_000), "Old form", paymentId, "short", .formExpired),
            ]
            for (amount, reason, id, key, expected) in cases {
                await #expect(throws: expected) {
                    try await refunds.refund(paymentId: id, amount: amount, reason: reason, actor: staff, requestKey: key)
                }
            }
            #expect(try await payment(setup, paymentId).status == .succeeded)
            #expect(try await payments.status(setup, invoice) == ("paid", 0))
            #expect(try await refunds.refunds(paymentId: paymentId).isEmpty)
            #expect(counting.refundCalls.withLock { $0 } == 0)
        }
    }

    @Test func aFailedPaymentCannotBeRefundedOrVoided() async throws {
        try await payments.withAlice(card: "4000000000009995") { setup, _, counting in
            let (_, paymentId) = try await Self.paidInvoice(setup, "INV-F", amount: 2_500)
            #expect(try await payment(setup, paymentId).status == .failed)
            await #expect(throws: RefundError.notRefundable(.failed)) {
                try await setup.portal.services.refunds.refund(paymentId: paymentId, amount: euros(2_500), reason: "x", actor: staff,
                                                               requestKey: SecretToken.generate())
            }
            await #expect(throws: RefundError.notVoidable(.failed)) {
                try await setup.portal.services.refunds.void(paymentId: paymentId, reason: "x", actor: staff, requestKey: SecretToken.generate())
            }
            #expect(counting.refundCalls.withLock { $0 } == 0 && counting.voidCalls.withLock { $0 } == 0)
        }
    }

    @Test func aDoubleSubmitRefundsOnce() async throws {
        try await payments.withAlice { setup, _, counting in
            let (invoice, paymentId) = try await Self.paidInvoice(setup, "INV-D", amount: 8_000)
            let refunds = setup.portal.services.refunds
            let key = SecretToken.generate()
            let staff = self.staff
            // act: the same form submitted ten times at once
            let ids = try await withThrowingTaskGroup(of: String.self) { group in
                for _ in 0..<10 {
                    group.addTask {
                        try await refunds.refund(paymentId: paymentId, amount: Money(3_000, Self.eur), reason: "Goodwill", actor: staff,
                                                 requestKey: key).id
                    }
                }
                return try await group.reduce(into: [String]()) { $0.append($1) }
            }
            // validate
            #expect(ids.count == 10 && Set(ids).count == 1)
            #expect(counting.refundCalls.withLock { $0 } == 1)
            let stored = try await refunds.refunds(paymentId: paymentId)
            #expect(stored.count == 1 && stored.first?.status == .succeeded)
            #expect(try await payment(setup, paymentId).amountRefunded == euros(3_000))
            #expect(try #require(try counting.engine.charge(idempotencyKey: paymentId)).amountRefunded == 3_000)
            #expect(try await payments.status(setup, invoice) == ("partially_paid", 3_000))
            // Once more afterwards (the back button): the same refund, nothing new.
            let again = try await refunds.refund(paymentId: paymentId, amount: euros(3_000), reason: "Goodwill", actor: staff, requestKey: key)
            #expect(again.id == ids[0] && again.status == .succeeded && counting.refundCalls.withLock { $0 } == 1)
            #expect(try await setup.portal.audit("payment.refund").count == 1)
        }
    }

    @Test func aVoidCancelsThePaymentAndReopensItsInvoices() async throws {
        try await payments.withAlice { setup, _, counting in
            let (invoice, paymentId) = try await Self.paidInvoice(setup, "INV-V", amount: 4_200)
            let refunds = setup.portal.services.refunds
            let void = try await refunds.void(paymentId: paymentId, reason: "Charged the wrong account", actor: staff, requestKey: SecretToken.generate())
            #expect(void.kind == .void && void.status == .succeeded && void.amount == euros(4_200))
            let after = try await payment(setup, paymentId)
            #expect(after.status == .voided && after.allocations.isEmpty)
            #expect(try await payments.status(setup, invoice) == ("open", 4_200))
            #expect(try #require(try counting.engine.charge(idempotencyKey: paymentId)).status == .voided)
            let audit = try await setup.portal.audit("payment.void")
            #expect(audit.count == 1 && audit.first?.details["reason"] == "Charged the wrong account" && audit.first?.actorLabel == "ops@example.com")
            await #expect(throws: RefundError.notVoidable(.voided)) {
                try await refunds.void(paymentId: paymentId, reason: "again", actor: staff, requestKey: SecretToken.generate())
            }
            await #expect(throws: RefundError.notRefundable(.voided)) {
                try await refunds.refund(paymentId: paymentId, amount: euros(100), reason: "again", actor: staff, requestKey: SecretToken.generate())
            }
            #expect(counting.voidCalls.withLock { $0 } == 1 && counting.refundCalls.withLock { $0 } == 0)
        }
    }

    @Test func aPartlyRefundedPaymentCannotBeVoided() async throws {
        try await payments.withAlice { setup, _, counting in
            let (_, paymentId) = try await Self.paidInvoice(setup, "INV-PV", amount: 4_000)
            let refunds = setup.portal.services.refunds
            _ = try await refunds.refund(paymentId: paymentId, amount: euros(1_000), reason: "Discount", actor: staff, requestKey: SecretToken.generate())
            await #expect(throws: RefundError.notVoidable(.partiallyRefunded)) {
                try await refunds.void(paymentId: paymentId, reason: "Cancel", actor: staff, requestKey: SecretToken.generate())
            }
            #expect(counting.voidCalls.withLock { $0 } == 0)
        }
    }

    @Test func aVoidTheGatewayRefusesIsReportedInItsWordsAndChangesNothing() async throws {
        try await payments.withAlice { setup, _, counting in
            let (invoice, paymentId) = try await Self.paidInvoice(setup, "INV-GV", amount: 3_000)
            let transaction = try #require(try await payment(setup, paymentId).transactionId)
            // Refunded in the gateway's dashboard, unknown to the portal: the gateway no longer lets it be voided.
            _ = try await counting.inner.refund(transactionId: transaction, amount: euros(3_000), idempotencyKey: "dashboard-1")
            await #expect(throws: RefundError.gateway("This charge cannot be voided (refunded).")) {
                try await setup.portal.services.refunds.void(paymentId: paymentId, reason: "Cancel", actor: staff, requestKey: SecretToken.generate())
            }
            #expect(try await payment(setup, paymentId).status == .succeeded)
            #expect(try await payments.status(setup, invoice) == ("paid", 0))
            let stored = try await setup.portal.services.refunds.refunds(paymentId: paymentId)
            #expect(stored.count == 1 && stored.first?.status == .failed && stored.first?.errorMessage == "This charge cannot be voided (refunded).")
            let audit = try await setup.portal.audit("payment.void")
            #expect(audit.count == 1 && audit.first?.outcome == .failure)
        }
    }
}
