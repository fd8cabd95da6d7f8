import Foundation
import Gateways
import GRDB
import Logging
import Testing
@testable import CreatioSync
@testable import PortalCore

@Suite struct CreatioPushTests {
    @Test func aPaymentMadeInThePortalReachesCreatioAndTheEchoCountsNothingTwice() async throws {
        try await PushHarness.run { p in
            let acme = await p.h.account("Acme")
            let full = await p.h.invoice("INV-1", account: acme, amount: "120.50")
            let partial = await p.h.invoice("INV-2", account: acme, amount: "80.00")
            var logger = Logger(label: "pass")
            logger.logLevel = .critical
            let pass = CreatioPass(sync: p.h.sync(), push: p.pusher(), logger: logger)
            let first = await pass.runOnce()
            #expect(first.succeeded, "\(first)")
            #expect(first.pull["Invoice"]?.imported == 2)

            let payer = try await p.customer(crmAccount: acme)
            let payment = try await p.pay(payer, crmInvoice: full)
            try await p.pay(payer, crmInvoice: partial, amount: 3_000)
            #expect(try await p.outboxRows().map(\.topic) == ["payment.result", "payment.result"])

            let pushed = await pass.runOnce()
            #expect(pushed.succeeded, "\(pushed)")
            #expect(pushed.push.delivered == 2)
            #expect(await p.crmField(full, "PaymentStatusId") == CreatioPaymentStatus.paid)
            #expect(await p.crmField(full, "PaymentAmount") == "120.50")
            #expect(await p.crmField(full, "UsrGatewayTransactionId") == payment.transactionId)
            #expect(payment.transactionId?.isEmpty == false)
            #expect(await p.crmField(full, "UsrPaymentStatus") == "succeeded")
            #expect(await p.crmField(full, "UsrCardType") == "Visa")
            #expect(await p.crmField(full, "UsrCardLast4") == "4242")
            #expect(await p.crmField(full, "UsrIsRecurring") == "false")
            #expect(await p.crmField(partial, "PaymentStatusId") == CreatioPaymentStatus.partiallyPaid)
            #expect(await p.crmField(partial, "PaymentAmount") == "30.00")
            #expect(await p.h.simulator.patchCount("Invoice", id: full) == 1)
            #expect(await p.h.simulator.batchRequests == 1)

            // The PATCH moved ModifiedOn: the next pull reads both invoices back, amount paid and all.
            let echo = await pass.runOnce()
            #expect(echo.succeeded, "\(echo)")
            #expect(echo.pull["Invoice"]?.imported == 2)
            #expect(echo.push.delivered == 0)
            let fullRow = try #require(try await p.h.invoiceRow(crmId: full))
            #expect(fullRow["status"] as String == "paid" && fullRow["amount_paid"] as Int64 == 12_050 && fullRow["balance"] as Int64 == 0)
            let partialRow = try #require(try await p.h.invoiceRow(crmId: partial))
            #expect(partialRow["status"] as String == "partially_paid" && partialRow["amount_paid"] as Int64 == 3_000
                    && partialRow["balance"] as Int64 == 5_000)
            #expect(await p.h.simulator.patchCount("Invoice", id: full) == 1)
            let allocated = try await p.h.count("SELECT coalesce(sum(amount), 0) FROM payment_allocations")
            #expect(allocated == 15_050)
        }
    }

    @Test func aPulledInvoiceGetsAPaymentLinkInCreatioAndPayingThroughItShowsPaidThere() async throws {
        try await PushHarness.run { p in
            let acme = await p.h.account("Acme")
            let crmInvoice = await p.h.invoice("INV-77", account: acme, amount: "45.10")
            var logger = Logger(label: "pass")
            logger.logLevel = .critical
            let pass = CreatioPass(sync: p.h.sync(), push: p.pusher(), links: p.services.paymentLinks, logger: logger)
            let first = await pass.runOnce()
            #expect(first.succeeded, "\(first)")
            #expect(first.linksIssued == 1)
            #expect(first.push.delivered == 1)

            let system = AuditEvent(action: "", actorKind: .system, actorLabel: "tests")
            let link = try await p.services.paymentLinks.issue(invoiceId: crmInvoice, actor: system)
            #expect(link.reused)
            #expect(await p.crmField(crmInvoice, "UsrPaymentLink") == link.url)
            #expect(link.url.hasPrefix("http://127.0.0.1/pay/"))

            // A second pass issues nothing new and sends the link no second time.
            let quiet = await pass.runOnce()
            #expect(quiet.linksIssued == 0 && quiet.push.delivered == 0, "\(quiet)")

            // Whoever holds the link pays with a new card; Creatio then shows the invoice paid.
            let token = String(link.url.dropFirst("http://127.0.0.1/pay/".count))
            let verified = try await p.services.paymentLinks.verify(token)
            let payment = try await p.services.payments.pay(verified.scope, .init(
                requestKey: SecretToken.generate(), invoiceIds: [verified.invoice.id], amount: .typed(""),
                method: .newCard(browserResult: ["token": try await p.token("4242424242424242")], billingName: "Link Payer",
                                 billingPostcode: "10115", keep: false),
                source: .paymentLink, actor: system, accountName: "Acme", email: ""))
            #expect(payment.status == .succeeded)
            let paid = await pass.runOnce()
            #expect(paid.succeeded, "\(paid)")
            #expect(await p.crmField(crmInvoice, "PaymentStatusId") == CreatioPaymentStatus.paid)
            #expect(await p.crmField(crmInvoice, "PaymentAmount") == "45.10")
            #expect(await p.crmField(crmInvoice, "UsrGatewayTransactionId") == payment.transactionId)
            await #expect(throws: PaymentLinkError.paid) { try await p.services.paymentLinks.verify(token) }

            // A link withdrawn by staff is cleared in Creatio and not issued again by the pass; the
            // link staff then issue themselves reaches Creatio as the new URL.
            let unpaid = await p.h.invoice("INV-78", account: acme, amount: "5.00")
            #expect(await pass.runOnce().linksIssued == 1)
            let before = try #require(await p.crmField(unpaid, "UsrPaymentLink"))
            let finance = try await p.services.directory.createStaff(email: "fin@example.com", name: "Fin", role: .finance,
                                                                     password: "a long finance password 42", actor: system)
            let staffActor = AuditEvent(action: "", actorKind: .staff, actorId: finance.id, actorLabel: "Fin")
            let portalId = try #require(try await p.portalInvoiceId(unpaid))
            #expect(try await p.services.paymentLinks.revoke(invoiceId: portalId, reason: "sent to the wrong person", actor: staffActor) == 1)
            let withdrawn = await pass.runOnce()
            #expect(withdrawn.linksIssued == 0 && withdrawn.push.delivered == 1, "\(withdrawn)")
            let rows = try await p.outboxRows()
            #expect(await p.crmField(unpaid, "UsrPaymentLink") == "", "\(rows)")
            #expect(await pass.runOnce().linksIssued == 0, "withdrawn stays withdrawn")
            let reissued = try await p.services.paymentLinks.issue(invoiceId: portalId, actor: staffActor)
            #expect(await pass.runOnce().push.delivered == 1)
            let after = try #require(await p.crmField(unpaid, "UsrPaymentLink"))
            #expect(after == reissued.url && after != before && after.hasPrefix("http://127.0.0.1/pay/"))
        }
    }

    @Test func creatioDownForHoursLosesNothingAndTwoPushersDeliverEachRowOnce() async throws {
        try await PushHarness.run { p in
            let acme = await p.h.account("Acme")
            var invoices: [String] = []
            for n in 1...20 { invoices.append(await p.h.invoice("INV-\(n)", account: acme, amount: "\(n).00")) }
            try await p.pull()
            let payer = try await p.customer(crmAccount: acme)
            await p.h.simulator.failNext(1_000_000, status: 503)
            for invoice in invoices { try await p.pay(payer, crmInvoice: invoice) }

            let down = await p.pusher().runOnce()
            #expect(down.delivered == 0 && down.failed == 20 && down.dead == 0, "\(down)")
            var backlog = try await p.services.crmOutbox.backlog()
            #expect(backlog.pending == 20 && backlog.retrying == 20 && backlog.due == 0 && backlog.dead == 0)
            // Hours of outage: every retry fails, nothing is given up.
            for _ in 0..<8 {
                p.clock.advance(by: 3_600)
                let again = await p.pusher().runOnce()
                #expect(again.delivered == 0 && again.failed == 20 && again.dead == 0)
            }
            #expect(try await p.outboxRows().allSatisfy { $0.status == "pending" && $0.attempts == 9 && $0.lastError?.contains("503") == true })
            #expect(await p.h.simulator.totalPatches == 0)

            await p.h.simulator.failNext(0)
            p.clock.advance(by: 3_600)
            // One pusher batching, one sending PATCHes singly, taking three rows at a time, at once.
            async let first = p.pusher(batch: true, claimSize: 3).runOnce()
            async let second = p.pusher(batch: false, claimSize: 3).runOnce()
            let (a, b) = await (first, second)
            #expect(a.failed + b.failed == 0, "\(a)\n\(b)")
            #expect(a.delivered + b.delivered == 20)
            for (index, invoice) in invoices.enumerated() {
                #expect(await p.h.simulator.patchCount("Invoice", id: invoice) == 1)
                #expect(await p.crmField(invoice, "PaymentAmount") == "\(index + 1).00")
                #expect(await p.crmField(invoice, "PaymentStatusId") == CreatioPaymentStatus.paid)
            }
            backlog = try await p.services.crmOutbox.backlog()
            #expect(backlog.pending == 0 && backlog.delivered == 20)
            p.clock.advance(by: 3_600)
            #expect(await p.pusher().runOnce().delivered == 0)
            #expect(await p.h.simulator.totalPatches == 20)
        }
    }

    @Test func aRejectedSubRequestFailsOnlyItsRowAndEndsDeadWithItsError() async throws {
        try await PushHarness.run { p in
            let acme = await p.h.account("Acme")
            let invoices = [await p.h.invoice("INV-A", account: acme, amount: "10.00"), await p.h.invoice("INV-B", account: acme, amount: "20.00"),
                            await p.h.invoice("INV-C", account: acme, amount: "30.00")]
            try await p.pull()
            let payer = try await p.customer(crmAccount: acme)
            for invoice in invoices { try await p.pay(payer, crmInvoice: invoice) }
            await p.h.simulator.refuseWrites(to: invoices[1], status: 400, message: "UsrCardLast4 fails the validation rule.")

            let report = await p.pusher().runOnce()
            #expect(report.delivered == 2 && report.failed == 1 && report.dead == 0, "\(report)")
            #expect(await p.h.simulator.batchRequests == 1)
            #expect(await p.h.simulator.patchCount("Invoice", id: invoices[0]) == 1)
            #expect(await p.h.simulator.patchCount("Invoice", id: invoices[1]) == 0)
            #expect(await p.h.simulator.patchCount("Invoice", id: invoices[2]) == 1)
            var rows = try await p.outboxRows()
            #expect(rows.map(\.status) == ["delivered", "pending", "delivered"])
            #expect(rows[1].attempts == 1 && rows[1].lastError?.contains("fails the validation rule") == true)

            // Refused outright five times: given up, its error kept for the dashboard.
            for _ in 0..<4 {
                p.clock.advance(by: 3_600)
                _ = await p.pusher().runOnce()
            }
            rows = try await p.outboxRows()
            #expect(rows[1].status == "dead" && rows[1].attempts == 5 && rows[1].lastError?.contains("fails the validation rule") == true)
            let backlog = try await p.services.crmOutbox.backlog()
            #expect(backlog.dead == 1 && backlog.pending == 0 && backlog.delivered == 2)
            #expect(await p.h.simulator.totalPatches == 2)
        }
    }

    @Test func customFieldNamesFromTheMappingFileAndStatusIdsReadByName() async throws {
        try await PushHarness.run(addDefaultFields: false) { p in
            // This instance names its fields its own way and has its own "Paid" record.
            await p.h.simulator.addColumns("Invoice", [("UsrTxnRef", ""), ("UsrPayLink", "")])
            let customPaid = "6a7c4a0e-1111-4c1b-9e3e-0123456789ab"
            await p.h.simulator.delete("InvoicePaymentStatus", id: CreatioPaymentStatus.paid)
            await p.h.simulator.seed("InvoicePaymentStatus", ["Id": .string(customPaid), "Name": "Paid", "FinalStatus": .bool(true)])
            let file = FileManager.default.temporaryDirectory.appendingPathComponent("field-map-\(UUID().uuidString).json")
            try Data("""
                {"gatewayTransactionId": "UsrTxnRef", "paymentLink": "UsrPayLink", "paymentStatus": null, "cardType": "",
                 "cardLast4": null, "authorizationCode": null, "refundId": null, "isRecurring": null, "errorCode": null, "errorMessage": null}
                """.utf8).write(to: file)
            let fields = try CreatioFieldMap.load(path: file.path)

            let acme = await p.h.account("Acme")
            let invoice = await p.h.invoice("INV-9", account: acme, amount: "9.99")
            let other = await p.h.invoice("INV-10", account: acme, amount: "1.00")
            try await p.pull()
            let portalId = try #require(try await p.portalInvoiceId(invoice))
            let system = AuditEvent(action: "", actorKind: .system, actorLabel: "tests")
            let link = try await p.services.paymentLinks.issue(invoiceId: portalId, actor: system)
            #expect(try await p.services.crmOutbox.enqueueInvoiceLink(invoiceId: portalId, linkId: link.id) == false, "each link is sent once")
            let payment = try await p.pay(try await p.customer(crmAccount: acme), crmInvoice: invoice)

            let report = await p.pusher(fields: fields).runOnce()
            #expect(report.delivered == 2 && report.failed == 0, "\(report)")
            #expect(await p.crmField(invoice, "UsrTxnRef") == payment.transactionId)
            #expect(await p.crmField(invoice, "UsrPayLink") == link.url)
            #expect(await p.crmField(invoice, "PaymentStatusId") == customPaid)
            #expect(await p.crmField(invoice, "PaymentAmount") == "9.99")
            // The outbox kept the link's id, never its token.
            let token = String(link.url.split(separator: "/").last!)
            #expect(try await p.outboxRows().allSatisfy { !$0.payload.contains(token) && !$0.payload.contains("/pay/") })
            #expect(try await p.outboxRows().first?.payload.contains(link.id) == true)

            // With the built-in names this instance refuses the push, and the row says why.
            _ = try await p.services.paymentLinks.issue(invoiceId: other, actor: system)
            let refused = await p.pusher().runOnce()
            #expect(refused.failed == 1)
            #expect(try await p.outboxRows().last?.lastError?.contains("Could not find a property named 'UsrPaymentLink'") == true)
        }
    }

    @Test func aBadMappingFileIsRefusedWithAClearMessage() throws {
        func problem(_ text: String) -> String? {
            do { _ = try CreatioFieldMap.parse(Data(text.utf8)); return nil } catch { return (error as? CreatioFieldMap.Invalid)?.description }
        }
        #expect(problem("not json")?.contains("must be a JSON object") == true)
        #expect(problem(#"["UsrTxn"]"#)?.contains("must be a JSON object") == true)
        #expect(problem(#"{"gatewayTxnId": "UsrTxn"}"#)?.contains(#"unknown field "gatewayTxnId"; known: paymentStatusId"#) == true)
        #expect(problem(#"{"cardLast4": "Usr Last 4"}"#)?.contains("not a Creatio column name") == true)
        #expect(problem(#"{"cardLast4": 4}"#)?.contains("other than a column name or null") == true)
        #expect(problem(#"{"cardLast4": "UsrCardType"}"#) == "maps cardLast4 and cardType to the same column UsrCardType")
        #expect(throws: CreatioFieldMap.Invalid.self) { try CreatioFieldMap.load(path: "/nonexistent/field-map.json") }
        #expect(problem(#"{"cardLast4": null, "paymentLink": "UsrLink"}"#) == nil)
    }

    @Test func aRefundIsPushedWithWhatIsLeftPaid() async throws {
        try await PushHarness.run { p in
            let acme = await p.h.account("Acme")
            let invoice = await p.h.invoice("INV-R", account: acme, amount: "50.00")
            try await p.pull()
            let payment = try await p.pay(try await p.customer(crmAccount: acme), crmInvoice: invoice)
            #expect(await p.pusher().runOnce().delivered == 1)
            let staff = AuditEvent(action: "", actorKind: .staff, actorId: "stf_1", actorLabel: "finance@example.com", clientAddress: "127.0.0.1")
            let refund = try await p.services.refunds.refund(paymentId: payment.id, amount: Money(2_000, CurrencyCode("USD")!), reason: "goodwill",
                                                             actor: staff, requestKey: SecretToken.generate())
            #expect(refund.status == .succeeded)
            let report = await p.pusher().runOnce()
            #expect(report.delivered == 1, "\(report)")
            #expect(await p.crmField(invoice, "PaymentAmount") == "30.00")
            #expect(await p.crmField(invoice, "PaymentStatusId") == CreatioPaymentStatus.partiallyPaid)
            #expect(await p.crmField(invoice, "UsrRefundId") == refund.id)
            #expect(await p.crmField(invoice, "UsrPaymentStatus") == "partially_refunded")
            #expect(await p.h.simulator.patchCount("Invoice", id: invoice) == 2)
        }
    }

    @Test func decimalTextAndBackOff() throws {
        // PaymentAmount is pushed as `Money.plain`: exact decimal text Creatio parses.
        let usd = CurrencyCode("USD")!, jpy = CurrencyCode("JPY")!, kwd = CurrencyCode("KWD")!
        #expect(Money(12_050, usd).plain == "120.50")
        #expect(Money(5, usd).plain == "0.05")
        #expect(Money(0, usd).plain == "0.00")
        #expect(Money(700, jpy).plain == "700")
        #expect(Money(1_234, kwd).plain == "1.234")
        #expect(try CreatioDecimal.scaled(Money(1_234_567, usd).plain, digits: 2) == 1_234_567)
        #expect((1...9).map(CRMOutbox.backoff(attempts:)) == [60, 120, 240, 480, 960, 1_920, 3_600, 3_600, 3_600])
    }
}
