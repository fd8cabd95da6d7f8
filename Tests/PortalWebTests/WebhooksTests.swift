import Foundation
import Gateways
import GRDB
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import PortalCore
import Testing

/// `POST /webhooks/{gateway}` over real HTTP, and the worker applying what it stored, against
/// payments made through `/pay` and the real sandbox gateway on 127.0.0.1. Event bodies are the
/// sandbox's own (`SandboxWebhookSender.event`), signed as the sandbox signs them.
@Suite struct WebhooksTests {
    static let eur = CurrencyCode("EUR")!
    let payments = PaymentsTests()

    struct Delivery {
        let status: HTTPResponse.Status
        let body: String
        let setsCookies: Bool
    }

    /// Posts `body` as the gateway would: raw JSON, no cookies, no CSRF token.
    static func deliver(_ setup: PaymentsTests.Setup, _ body: [UInt8], signedAt: Date? = nil, secret: String = PaymentMethodsTests.webhookSecret,
                        path: String = SitePath.webhook("sandbox")) async throws -> Delivery {
        let signature = SandboxWebhookSignature.make(secret: secret).sign(body: body, at: signedAt ?? setup.portal.clock.date)
        let response = try await setup.browser.client.executeRequest(
            uri: path, method: .post,
            headers: [.contentType: "application/json", HTTPField.Name(SandboxWebhookSignature.header)!: signature],
            body: ByteBuffer(bytes: body))
        return Delivery(status: response.status, body: String(buffer: response.body), setsCookies: response.headers[.setCookie] != nil)
    }

    /// The sandbox's event about a charge as it stands now.
    static func event(_ type: String, _ charge: SandboxCharge, id: String? = nil, at setup: PaymentsTests.Setup) -> [UInt8] {
        if let id { return SandboxWebhookSender.event(type: type, charge: charge, id: id, created: setup.portal.clock.date) }
        return SandboxWebhookSender.event(type: type, charge: charge, created: setup.portal.clock.date)
    }

    struct StoredEvent: Equatable {
        var eventId: String
        var processed: Bool
        var attempts: Int
        var lastError: String?
    }

    static func stored(_ setup: PaymentsTests.Setup) async throws -> [StoredEvent] {
        try await setup.portal.database.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM webhook_events ORDER BY received_at, event_id").map {
                StoredEvent(eventId: $0["event_id"], processed: ($0["processed_at"] as Int64?) != nil, attempts: $0["attempts"],
                            lastError: $0["last_error"])
            }
        }
    }

    /// An invoice paid in full through the payment form, and the sandbox's charge for it.
    static func paidCharge(_ setup: PaymentsTests.Setup, _ number: String, amount: Int64,
                           _ counting: PaymentMethodsTests.CountingGateway) async throws -> (invoice: String, payment: String, charge: SandboxCharge) {
        let (invoice, paymentId) = try await RefundsTests.paidInvoice(setup, number, amount: amount)
        return (invoice, paymentId, try #require(try counting.engine.charge(idempotencyKey: paymentId)))
    }

    func payment(_ setup: PaymentsTests.Setup, _ id: String) async throws -> Payment {
        try await setup.portal.services.payments.payment(setup.scope, id: id)
    }

    @Test func aSignedEventSettlesAPaymentWhoseAnswerWasLostOnceHoweverOftenItArrives() async throws {
        try await payments.withAlice(card: "4000000000000259", timeout: 1) { setup, _, counting in
            // setup: the charge happened at the gateway, but its answer never reached the portal
            let (invoice, paymentId) = try await RefundsTests.paidInvoice(setup, "INV-W", amount: 9_900)
            let pending = try await payment(setup, paymentId)
            #expect(pending.status == .pending && pending.transactionId == nil)
            let charge = try #require(try counting.engine.charge(idempotencyKey: paymentId))
            let body = Self.event("charge.succeeded", charge, at: setup)
            // act: delivered, then delivered again (a gateway retry)
            let first = try await Self.deliver(setup, body)
            let second = try await Self.deliver(setup, body)
            // validate: both answered at once, stored once, nothing applied until the worker runs
            #expect(first.status == .ok && second.status == .ok && !first.setsCookies)
            #expect(try await Self.stored(setup).map(\.processed) == [false])
            #expect(try await payment(setup, paymentId).status == .pending)
            #expect(try await setup.portal.services.webhooks.runOnce() == 1)
            #expect(try await setup.portal.services.webhooks.runOnce() == 0)
            let settled = try await payment(setup, paymentId)
            #expect(settled.status == .succeeded && settled.transactionId == charge.id)
            #expect(try await payments.status(setup, invoice) == ("paid", 0))
            let eventId = try #require(Self.eventId(body))
            #expect(try await Self.stored(setup) == [StoredEvent(eventId: eventId, processed: true, attempts: 1, lastError: nil)])
            #expect(try await setup.portal.audit("payment.succeeded").count == 1)
            #expect(try await setup.portal.mail(to: "alice@example.com").filter { $0.message.subject.hasPrefix("Payment received") }.count == 1)
            // A third delivery after processing is still answered 200 and changes nothing.
            #expect(try await Self.deliver(setup, body).status == .ok)
            #expect(try await setup.portal.services.webhooks.runOnce() == 0)
            #expect(try await setup.portal.services.payments.unsettled(olderThan: 0).isEmpty)
            #expect(counting.chargeCalls.withLock { $0 } == 1)
        }
    }

    @Test func forgedStaleMalformedAndUnknownGatewayEventsAreRefusedAndNothingIsStored() async throws {
        let logs = LogCapture()
        try await payments.withAlice(logs: logs) { setup, _, counting in
            let (_, paymentId, charge) = try await Self.paidCharge(setup, "INV-F", amount: 1_000, counting)
            let body = Self.event("charge.refunded", charge, at: setup)

            let forged = try await Self.deliver(setup, body, secret: "not-the-secret")
            #expect(forged.status == .badRequest && forged.body.contains("signature does not match"))
            let tampered = try await setup.browser.client.executeRequest(
                uri: SitePath.webhook("sandbox"), method: .post,
                headers: [HTTPField.Name(SandboxWebhookSignature.header)!: SandboxWebhookSignature.make(secret: PaymentMethodsTests.webhookSecret)
                            .sign(body: body, at: setup.portal.clock.date)],
                body: ByteBuffer(bytes: body + Array(" ".utf8)))
            #expect(tampered.status == .badRequest)
            let unsigned = try await setup.browser.client.executeRequest(uri: SitePath.webhook("sandbox"), method: .post, headers: [:],
                                                                          body: ByteBuffer(bytes: body))
            #expect(unsigned.status == .badRequest)
            let stale = try await Self.deliver(setup, body, signedAt: setup.portal.clock.date.addingTimeInterval(-400))
            #expect(stale.status == .badRequest && stale.body.contains("too old"))
            let malformed = try await Self.deliver(setup, Array("not json".utf8))
            #expect(malformed.status == .badRequest)
            let otherGateway = try await Self.deliver(setup, body, path: SitePath.webhook("stripe"))
            #expect(otherGateway.status == .notFound && otherGateway.body.contains("No gateway of that name"))

            #expect(try await Self.stored(setup).isEmpty)
            #expect(try await setup.portal.services.webhooks.runOnce() == 0)
            #expect(try await payment(setup, paymentId).status == .succeeded)
            // Each refusal is logged with its reason, never with what was sent.
            let refusals = logs.all.filter { $0.contains("webhook refused") }
            #expect(refusals.count == 6 && refusals.contains { $0.contains("invalidSignature") } && refusals.contains { $0.contains("stale") })
            let eventId = try #require(Self.eventId(body))
            #expect(!logs.text.contains(eventId) && !logs.text.contains(charge.id) && !logs.text.contains("v1="))
        }
    }

    @Test func aFailureArrivingAfterTheSuccessLeavesThePaymentPaidAndIsAudited() async throws {
        try await payments.withAlice { setup, _, counting in
            let (invoice, paymentId, charge) = try await Self.paidCharge(setup, "INV-O", amount: 2_000, counting)
            #expect(try await Self.deliver(setup, Self.event("charge.failed", charge, at: setup)).status == .ok)
            #expect(try await Self.deliver(setup, Self.event("charge.succeeded", charge, at: setup)).status == .ok)
            #expect(try await setup.portal.services.webhooks.runOnce() == 2)
            #expect(try await payment(setup, paymentId).status == .succeeded)
            #expect(try await payments.status(setup, invoice) == ("paid", 0))
            let conflicts = try await setup.portal.audit("payment.webhook_conflict")
            #expect(conflicts.count == 1 && conflicts.first?.details["kind"] == "charge.failed" && conflicts.first?.details["status"] == "succeeded")
            #expect(try await setup.portal.audit("payment.failed").isEmpty)
            #expect(try await setup.portal.audit("payment.succeeded").count == 1)
            #expect(try await Self.stored(setup).allSatisfy { $0.processed && $0.lastError == nil })
        }
    }

    @Test func refundsMadeAtTheGatewayAreRecordedOnceInAnyOrder() async throws {
        try await payments.withAlice { setup, _, counting in
            // setup: 100.00 for two invoices; then 30.00 and 20.00 refunded in the gateway's dashboard
            let older = try await payments.invoice(setup, "INV-1", dueIn: -3, amount: 4_000)
            let newer = try await payments.invoice(setup, "INV-2", dueIn: 20, amount: 6_000)
            let paymentId = try await RefundsTests.pay(setup, [older, newer], amount: "100.00")
            let transaction = try #require(try await payment(setup, paymentId).transactionId)
            _ = try await counting.inner.refund(transactionId: transaction, amount: Money(3_000, Self.eur), idempotencyKey: "dash-1")
            let afterFirst = Self.event("charge.refunded", try #require(try counting.engine.charge(idempotencyKey: paymentId)), at: setup)
            _ = try await counting.inner.refund(transactionId: transaction, amount: Money(2_000, Self.eur), idempotencyKey: "dash-2")
            let afterSecond = Self.event("charge.refunded", try #require(try counting.engine.charge(idempotencyKey: paymentId)), at: setup)
            // act: the later event arrives first
            #expect(try await Self.deliver(setup, afterSecond).status == .ok)
            #expect(try await setup.portal.services.webhooks.runOnce() == 1)
            #expect(try await Self.deliver(setup, afterFirst).status == .ok)
            #expect(try await setup.portal.services.webhooks.runOnce() == 1)
            // validate: 50.00 refunded once, off the later invoice
            var after = try await payment(setup, paymentId)
            #expect(after.status == .partiallyRefunded && after.amountRefunded == Money(5_000, Self.eur))
            #expect(try await payments.status(setup, newer) == ("partially_paid", 5_000))
            #expect(try await payments.status(setup, older) == ("paid", 0))
            let recorded = try await setup.portal.services.refunds.refunds(paymentId: paymentId)
            #expect(recorded.map(\.amount) == [Money(5_000, Self.eur)] && recorded.first?.actor == "gateway")
            let audit = try await setup.portal.audit("payment.refund")
            #expect(audit.count == 1 && audit.first?.actorKind == .system && audit.first?.details["reason"] == "Refunded at the gateway")

            // A refund made through the portal, then the gateway's event about it: counted once.
            let staff = AuditEvent(action: "", actorKind: .staff, actorLabel: "ops@example.com")
            _ = try await setup.portal.services.refunds.refund(paymentId: paymentId, amount: Money(1_000, Self.eur), reason: "Goodwill",
                                                               actor: staff, requestKey: SecretToken.generate())
            let afterPortal = Self.event("charge.refunded", try #require(try counting.engine.charge(idempotencyKey: paymentId)), at: setup)
            #expect(try await Self.deliver(setup, afterPortal).status == .ok)
            #expect(try await setup.portal.services.webhooks.runOnce() == 1)
            after = try await payment(setup, paymentId)
            #expect(after.amountRefunded == Money(6_000, Self.eur))
            #expect(try await payments.status(setup, newer) == ("open", 6_000))
            #expect(try await setup.portal.services.refunds.refunds(paymentId: paymentId).count == 2)
            #expect(try await Self.stored(setup).allSatisfy { $0.processed && $0.lastError == nil })
        }
    }

    @Test func aRefundInterruptedAfterItsGatewayCallIsFinishedByTheWorkerAndCountedOnce() async throws {
        try await payments.withAlice { setup, _, counting in
            // setup: the process stopped after the gateway refunded but before the portal recorded it
            let (invoice, paymentId, charge) = try await Self.paidCharge(setup, "INV-X", amount: 5_000, counting)
            let now = Int64(setup.portal.clock.date.timeIntervalSince1970)
            try await setup.portal.database.write { db in
                try db.execute(sql: """
                    INSERT INTO payment_refunds (id, payment_id, kind, amount, reason, actor, request_key, status, created_at)
                    VALUES ('ref_interrupted', ?, 'refund', 2000, 'Goodwill', 'ops@example.com', ?, 'pending', ?)
                    """, arguments: [paymentId, SecretToken.generate(), now])
            }
            _ = try await counting.inner.refund(transactionId: charge.id, amount: Money(2_000, Self.eur), idempotencyKey: "ref_interrupted")
            let event = Self.event("charge.refunded", try #require(try counting.engine.charge(id: charge.id)), at: setup)
            #expect(try await Self.deliver(setup, event).status == .ok)
            // act: while the refund may still be in its request, the event waits, its reason on the row
            #expect(try await setup.portal.services.webhooks.runOnce() == 1)
            var stored = try await Self.stored(setup)
            #expect(stored.first?.processed == false && stored.first?.attempts == 1 && stored.first?.lastError?.contains("waiting for the gateway") == true)
            #expect(try await setup.portal.services.webhooks.runOnce() == 0)
            #expect(try await payment(setup, paymentId).amountRefunded == Money(0, Self.eur))
            // later: the worker asks the gateway again with the same key and records that refund, once
            setup.portal.clock.advance(by: 130)
            #expect(try await setup.portal.services.webhooks.runOnce() == 1)
            stored = try await Self.stored(setup)
            #expect(stored.first?.processed == true && stored.first?.attempts == 2 && stored.first?.lastError == nil)
            let after = try await payment(setup, paymentId)
            #expect(after.status == .partiallyRefunded && after.amountRefunded == Money(2_000, Self.eur))
            #expect(try await payments.status(setup, invoice) == ("partially_paid", 2_000))
            let refunds = try await setup.portal.services.refunds.refunds(paymentId: paymentId)
            #expect(refunds.map(\.id) == ["ref_interrupted"] && refunds.first?.status == .succeeded)
            #expect(try counting.engine.charge(id: charge.id)?.amountRefunded == 2_000)
            let audit = try await setup.portal.audit("payment.refund")
            #expect(audit.count == 1 && audit.first?.actorKind == .system && audit.first?.details["requested_by"] == "ops@example.com")
        }
    }

    @Test func aDisputeFlagsThePaymentAndTellsBillingOnce() async throws {
        try await payments.withAlice { setup, _, counting in
            let (invoice, paymentId, charge) = try await Self.paidCharge(setup, "INV-CB", amount: 7_500, counting)
            #expect(try await Self.deliver(setup, Self.event("charge.disputed", charge, at: setup)).status == .ok)
            #expect(try await Self.deliver(setup, Self.event("charge.disputed", charge, at: setup)).status == .ok)
            #expect(try await setup.portal.services.webhooks.runOnce() == 2)
            let disputedAt = try await setup.portal.database.read { db in
                try Int64.fetchOne(db, sql: "SELECT disputed_at FROM payments WHERE id = ?", arguments: [paymentId])
            }
            #expect(disputedAt == Int64(setup.portal.clock.date.timeIntervalSince1970))
            let audit = try await setup.portal.audit("payment.disputed")
            #expect(audit.count == 1 && audit.first?.details["payment"] == paymentId && audit.first?.accountId == setup.account.id)
            let mail = try await setup.portal.mail(to: "billing@example.com").filter { $0.message.subject.hasPrefix("Payment disputed") }
            #expect(mail.count == 1 && mail.first?.message.textBody.contains(paymentId) == true
                    && mail.first?.message.textBody.contains("€75.00") == true && mail.first?.message.textBody.contains("Visa •••• 4242") == true)
            // Still paid: the bank has not decided.
            #expect(try await payment(setup, paymentId).status == .succeeded)
            #expect(try await payments.status(setup, invoice) == ("paid", 0))
        }
    }

    @Test func anEventForNoPaymentIsClosedWithItsReason() async throws {
        try await payments.withAlice { setup, _, counting in
            // A charge made at the gateway directly, which the portal never asked for.
            let engine = counting.engine
            let customer = try engine.createCustomer(reference: "elsewhere", email: nil, name: "Elsewhere")
            let token = try engine.tokenize(SandboxCardInput(number: "4242424242424242", expMonth: 1, expYear: 2032, cvc: "123"))
            let method = try engine.attach(token: token.token, to: customer)
            let charge = try engine.charge(GatewayChargeRequest(customerId: customer, methodId: method.gatewayMethodId,
                                                                amount: Money(500, Self.eur), idempotencyKey: "not-ours")).charge
            #expect(try await Self.deliver(setup, Self.event("charge.succeeded", charge, at: setup)).status == .ok)
            #expect(try await setup.portal.services.webhooks.runOnce() == 1)
            let stored = try await Self.stored(setup)
            #expect(stored.count == 1 && stored.first?.processed == true && stored.first?.lastError?.contains(charge.id) == true)
            #expect(try await setup.portal.services.webhooks.runOnce() == 0)
        }
    }

    static func eventId(_ body: [UInt8]) -> String? {
        (try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any])?["id"] as? String
    }
}
