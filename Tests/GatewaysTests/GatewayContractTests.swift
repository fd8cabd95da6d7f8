import Foundation
import PortalCore
import Testing
@testable import Gateways

/// The contract every adapter meets, written once and run against each gateway over real HTTP on
/// 127.0.0.1 (see `ContractGateway`). Checks that one gateway cannot make are not run for it, and
/// `ContractGateway` says why.
@Suite(.serialized) struct GatewayContractTests {
    @Test(arguments: ContractGateway.allCases)
    func savesACardAndReusesTheCustomer(_ kind: ContractGateway) async throws {
        try await kind.run { h in
            let customer = try await h.customer()
            #expect(try await h.gateway.ensureCustomer(existingId: customer, accountId: "acc_contract", email: nil, name: "Acme") == customer)
            let fresh = try await h.gateway.ensureCustomer(existingId: h.unknownCustomerId, accountId: "acc_other", email: nil, name: "Other")
            #expect(!fresh.isEmpty && fresh != h.unknownCustomerId)

            let fields = try await h.gateway.hostedFields(customerId: customer)
            #expect(fields.scriptURL == h.expectedScript && fields.origins == h.expectedOrigins)
            let card = try await h.save(customer: customer, .approved)
            #expect(card.brand == h.approvedCard.brand && card.last4 == h.approvedCard.last4)
            #expect(card.expMonth == h.approvedCard.expMonth && card.expYear == h.approvedCard.expYear && !card.gatewayMethodId.isEmpty)
            await #expect(throws: PaymentGatewayError.self) { try await h.gateway.completeSavedMethod(customerId: customer, browserResult: [:]) }

            // Whether a removed card can still be charged is checked per gateway: localstripe does not refuse it.
            try await h.gateway.detachMethod(customerId: customer, methodId: card.gatewayMethodId)
        }
    }

    @Test(arguments: ContractGateway.allCases)
    func anApprovedChargeIsFoundByItsKey(_ kind: ContractGateway) async throws {
        try await kind.run { h in
            let outcome = try await h.charge(.approved, amount: h.money(1_999), key: "pay_a")
            guard case .approved(let id, _) = outcome else { Issue.record("not approved: \(outcome)"); return }
            let found = try #require(try await h.gateway.findTransaction(idempotencyKey: "pay_a"))
            #expect(found.transactionId == id && found.status == .succeeded && found.amount == h.money(1_999))
            #expect(try await h.gateway.findTransaction(idempotencyKey: "pay_never_sent") == nil)
        }
    }

    @Test(arguments: ContractGateway.allCases)
    func aDeclineComesBackWithItsCodeAndIsFoundAsDeclined(_ kind: ContractGateway) async throws {
        try await kind.run { h in
            let outcome = try await h.charge(.declinedWhenCharged, amount: h.decline.amount, key: "pay_d")
            guard case .declined(let code, let message, let retryable) = outcome else { Issue.record("not declined: \(outcome)"); return }
            #expect(code == h.decline.code && retryable == h.decline.retryable && !message.isEmpty)
            #expect(try await h.gateway.findTransaction(idempotencyKey: "pay_d")?.status == .declined)
        }
    }

    @Test(arguments: ContractGateway.withCustomerAction)
    func aChargeThatNeedsTheCustomerSaysSo(_ kind: ContractGateway) async throws {
        try await kind.run { h in
            let outcome = try await h.charge(.customerAction, amount: h.money(700), key: "pay_3ds")
            guard case .requiresAction(let id, let secret) = outcome else { Issue.record("no action asked: \(outcome)"); return }
            #expect(!secret.isEmpty)
            let found = try #require(try await h.gateway.findTransaction(idempotencyKey: "pay_3ds"))
            #expect(found.transactionId == id && found.status == .requiresAction)
        }
    }

    @Test(arguments: ContractGateway.allCases)
    func aLostAnswerIsUnknownNeverDeclinedAndTheLookupTellsWhatHappened(_ kind: ContractGateway) async throws {
        try await kind.run { h in
            let customer = try await h.customer()
            let (impatient, request, landed) = try await h.unanswered(customer: customer)
            let outcome = try await impatient.charge(request)
            guard case .unknown = outcome else { Issue.record("expected unknown, got \(outcome)"); return }
            let found = try await h.gateway.findTransaction(idempotencyKey: request.idempotencyKey)
            if landed {
                #expect(found?.status == .succeeded && found?.amount == request.amount)
            } else {
                #expect(found == nil)
            }
        }
    }

    @Test(arguments: ContractGateway.allCases)
    func refundsInPartAndInFull(_ kind: ContractGateway) async throws {
        try await kind.run { h in
            let charged = try await h.approvedCharge(customer: try await h.customer(), amount: 10_000, key: "pay_r")
            await h.settle()
            let part = try await h.gateway.refund(transactionId: charged, amount: h.money(2_500), idempotencyKey: "ref_1")
            #expect(!part.refundId.isEmpty && part.amount == h.money(2_500))
            let rest = try await h.gateway.refund(transactionId: charged, amount: h.money(7_500), idempotencyKey: "ref_2")
            #expect(!rest.refundId.isEmpty && rest.refundId != part.refundId && rest.amount == h.money(7_500))
            if ContractGateway.enforcingRefundLimit.contains(kind) {
                await #expect(throws: PaymentGatewayError.self) {
                    try await h.gateway.refund(transactionId: charged, amount: h.money(1), idempotencyKey: "ref_3")
                }
            }
        }
    }

    @Test(arguments: ContractGateway.allCases)
    func voids(_ kind: ContractGateway) async throws {
        try await kind.run { h in
            let customer = try await h.customer()
            let (id, key) = try await h.voidable(customer: customer)
            try await h.gateway.void(transactionId: id, idempotencyKey: "void_1")
            #expect(try await h.gateway.findTransaction(idempotencyKey: key)?.status == .voided)
            await #expect(throws: PaymentGatewayError.notFound) {
                try await h.gateway.void(transactionId: h.unknownTransactionId, idempotencyKey: "void_2")
            }
        }
    }

    @Test(arguments: ContractGateway.refusingRemovedCardsAndRepeatingVoids)
    func voidingTwiceIsHarmlessAndARemovedCardIsNotCharged(_ kind: ContractGateway) async throws {
        try await kind.run { h in
            let customer = try await h.customer()
            let (id, _) = try await h.voidable(customer: customer)
            try await h.gateway.void(transactionId: id, idempotencyKey: "void_1")
            try await h.gateway.void(transactionId: id, idempotencyKey: "void_2")
            let card = try await h.save(customer: customer, .approved)
            try await h.gateway.detachMethod(customerId: customer, methodId: card.gatewayMethodId)
            try await h.gateway.detachMethod(customerId: customer, methodId: card.gatewayMethodId)
            await #expect(throws: PaymentGatewayError.self) {
                try await h.gateway.charge(GatewayChargeRequest(customerId: customer, methodId: card.gatewayMethodId, amount: h.money(100),
                                                                idempotencyKey: "pay_removed"))
            }
        }
    }

    @Test(arguments: ContractGateway.allCases)
    func webhooksValidForgedTamperedAndStale(_ kind: ContractGateway) async throws {
        try await kind.run { h in
            let now = Date()
            let (headers, body) = h.webhook(transactionId: "txn_1", at: now, forged: false)
            let event = try h.gateway.verifyWebhook(headers: headers, body: body, now: now)
            #expect(event.kind == .chargeSucceeded && event.transactionId == "txn_1" && !event.id.isEmpty)
            #expect(abs(event.occurredAt.timeIntervalSince(now)) < 2)

            let forged = h.webhook(transactionId: "txn_1", at: now, forged: true)
            #expect(throws: PaymentGatewayError.invalidWebhookSignature) { try h.gateway.verifyWebhook(headers: forged.headers, body: forged.body, now: now) }
            #expect(throws: PaymentGatewayError.invalidWebhookSignature) { try h.gateway.verifyWebhook(headers: headers, body: body + [0x20], now: now) }
            #expect(throws: PaymentGatewayError.invalidWebhookSignature) { try h.gateway.verifyWebhook(headers: [:], body: body, now: now) }

            let stale = h.webhook(transactionId: "txn_1", at: now.addingTimeInterval(-600), forged: false)
            #expect(throws: PaymentGatewayError.staleWebhook) { try h.gateway.verifyWebhook(headers: stale.headers, body: stale.body, now: now) }
        }
    }
}
