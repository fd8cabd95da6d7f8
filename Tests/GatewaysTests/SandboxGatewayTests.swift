import Foundation
import PortalCore
import Testing
@testable import Gateways

/// What the sandbox does beyond the shared contract: its hosted fields' own checks, idempotency
/// conflicts, hard declines, repeatable refunds and voids, and refunded status in lookups.
@Suite struct SandboxGatewayTests {
    @Test func theHostedFieldsRefuseBadCardsAndBadKeys() async throws {
        try await SandboxHarness.run { h in
            let (badNumber, body) = try await SandboxHarness.tokenize(h.base, number: "4242424242424241")
            #expect(badNumber == 402 && ((body["error"] as? [String: Any])?["message"] as? String) == "Your card number is invalid.")
            let (badKey, _) = try await SandboxHarness.tokenize(h.base, number: "4242424242424242", key: "pk_other")
            #expect(badKey == 401)
            let fields = try await h.adapter.hostedFields(customerId: "cus_any")
            #expect(fields.parameters["publicKey"] == SandboxHarness.settings.publicKey && fields.parameters["gatewayOrigin"] == h.origin)
        }
    }

    @Test func theServerAPINeedsTheSecretKey() async throws {
        try await SandboxHarness.run { h in
            let wrong = SandboxHarness.adapter(h.base, secretKey: "sk_wrong")
            await #expect(throws: PaymentGatewayError.rejected(code: "invalid_api_key", message: "Invalid API key.")) {
                try await wrong.ensureCustomer(existingId: nil, accountId: "acc", email: nil, name: "x")
            }
        }
    }

    @Test func aRepeatedKeyIsTheSameChargeAndOtherParametersConflict() async throws {
        try await SandboxHarness.run { h in
            let customer = try await h.customer()
            let card = try await h.save(customer: customer, .approved)
            let request = GatewayChargeRequest(customerId: customer, methodId: card.gatewayMethodId, amount: h.money(1_999), idempotencyKey: "pay_a")
            guard case .approved(let id, let auth) = try await h.adapter.charge(request) else { Issue.record("not approved"); return }
            #expect(id.hasPrefix("ch_") && auth?.count == 6)
            #expect(try await h.adapter.charge(request) == .approved(transactionId: id, authorizationCode: auth))
            var other = request
            other.amount = h.money(2_000)
            await #expect(throws: PaymentGatewayError.idempotencyConflict) { try await h.adapter.charge(other) }
        }
    }

    @Test func aStolenCardIsAHardDecline() async throws {
        try await SandboxHarness.run { h in
            let customer = try await h.customer()
            let stolen = try await h.save(customer: customer, number: "4000000000009979")
            guard case .declined(_, _, let retryable) = try await h.adapter.charge(GatewayChargeRequest(
                customerId: customer, methodId: stolen.gatewayMethodId, amount: h.money(500), idempotencyKey: "pay_c")) else {
                Issue.record("stolen card not declined"); return
            }
            #expect(!retryable)
        }
    }

    @Test func refundsRepeatByKeyAndShowInLookups() async throws {
        try await SandboxHarness.run { h in
            let customer = try await h.customer()
            let card = try await h.save(customer: customer, number: "5555555555554444")
            guard case .approved(let charged, _) = try await h.adapter.charge(GatewayChargeRequest(
                customerId: customer, methodId: card.gatewayMethodId, amount: h.money(10_000), idempotencyKey: "pay_r")) else {
                Issue.record("not approved"); return
            }
            let partial = try await h.adapter.refund(transactionId: charged, amount: h.money(2_500), idempotencyKey: "ref_1")
            #expect(try await h.adapter.refund(transactionId: charged, amount: h.money(2_500), idempotencyKey: "ref_1") == partial)
            #expect(try await h.adapter.findTransaction(idempotencyKey: "pay_r")?.status == .partiallyRefunded)
            await #expect(throws: PaymentGatewayError.self) {
                try await h.adapter.refund(transactionId: charged, amount: h.money(7_501), idempotencyKey: "ref_2")
            }
        }
    }
}
