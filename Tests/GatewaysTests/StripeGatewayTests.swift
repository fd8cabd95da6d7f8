import Foundation
import PortalCore
import Testing
@testable import Gateways

/// What the Stripe adapter does beyond the shared contract, against localstripe.
@Suite(.serialized) struct StripeGatewayTests {
    @Test func idsAreStripesAndAnUnfinishedSetupIsRefused() async throws {
        try await StripeHarness.run { h in
            let customer = try await h.customer()
            #expect(customer.hasPrefix("cus_"))
            let card = try await h.save(customer: customer, .approved)
            #expect(card.gatewayMethodId.hasPrefix("pm_"))
            guard case .approved(let intent, _) = try await h.adapter.charge(GatewayChargeRequest(
                customerId: customer, methodId: card.gatewayMethodId, amount: h.money(1_500), idempotencyKey: "pay_stripe_1")) else {
                Issue.record("not approved"); return
            }
            #expect(intent.hasPrefix("pi_"))
            #expect(try await h.adapter.refund(transactionId: intent, amount: h.money(500), idempotencyKey: "ref_stripe_1").refundId.hasPrefix("re_"))
            await #expect(throws: PaymentGatewayError.self) {
                try await h.adapter.completeSavedMethod(customerId: customer, browserResult: ["setup_intent": "seti_missing"])
            }
            await #expect(throws: PaymentGatewayError.self) {
                try await h.adapter.completeSavedMethod(customerId: customer, browserResult: ["token": "tok_sandbox_only"])
            }
        }
    }

    @Test func failedPaymentEventsAreFailures() throws {
        // Verification needs no server: the adapter's address is never called.
        let adapter = StripeHarness.adapter(URL(string: "http://127.0.0.1:9")!)
        let signer = TimestampedSignature(header: "Stripe-Signature", secret: StripeHarness.webhookSecret)
        let body = Array(#"{"id":"evt_2","type":"payment_intent.payment_failed","created":1795000000,"data":{"object":{"id":"pi_2"}}}"#.utf8)
        let now = Date()
        let event = try adapter.verifyWebhook(headers: ["stripe-signature": signer.sign(body: body, at: now)], body: body, now: now)
        #expect(event.kind == .chargeFailed && event.transactionId == "pi_2" && event.id == "evt_2")
    }

    @Test func refundAndDisputeEventsNameTheIntentThePortalRecorded() throws {
        let adapter = StripeHarness.adapter(URL(string: "http://127.0.0.1:9")!)
        let signer = TimestampedSignature(header: "Stripe-Signature", secret: StripeHarness.webhookSecret)
        let eur = CurrencyCode("EUR")!
        let now = Date()
        // Refunds and disputes arrive as a Charge or a Dispute: they name the intent the portal recorded.
        let refunded = Array(#"{"id":"evt_2","type":"charge.refunded","data":{"object":{"object":"charge","id":"ch_1","payment_intent":"pi_1","amount_refunded":500,"currency":"eur","metadata":{"idempotency_key":"pay_1"}}}}"#.utf8)
        let refund = try adapter.verifyWebhook(headers: ["Stripe-Signature": signer.sign(body: refunded, at: now)], body: refunded, now: now)
        #expect(refund.kind == .chargeRefunded && refund.transactionId == "pi_1" && refund.reference == "pay_1"
                && refund.amountRefunded == Money(500, eur))
        let disputed = Array(#"{"id":"evt_3","type":"charge.dispute.created","data":{"object":{"object":"dispute","id":"dp_1","charge":"ch_1","payment_intent":"pi_1"}}}"#.utf8)
        let dispute = try adapter.verifyWebhook(headers: ["Stripe-Signature": signer.sign(body: disputed, at: now)], body: disputed, now: now)
        #expect(dispute.kind == .chargeDisputed && dispute.transactionId == "pi_1")
    }
}
