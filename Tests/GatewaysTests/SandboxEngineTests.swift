import Foundation
import GRDB
import PortalCore
import Testing
@testable import Gateways

@Suite struct SandboxEngineTests {
    let eur = CurrencyCode("EUR")!

    struct Sandbox {
        let engine: SandboxEngine
        let clock: ManualClock
        let path: String
        let customer: String

        init() throws {
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sandbox-\(UUID().uuidString)")
            path = directory.appendingPathComponent("sandbox.sqlite").path
            clock = ManualClock(Date(timeIntervalSince1970: 1_795_000_000)) // November 2026
            engine = try SandboxEngine(db: try PortalDatabase.open(path: path), clock: clock.clock, fingerprintSecret: "test-secret")
            customer = try engine.createCustomer(reference: "acc_1", email: "alice@example.com", name: "Alice")
        }

        func save(_ number: String, cvc: String = "123") throws -> SavedMethodDetails {
            let token = try engine.tokenize(SandboxCardInput(number: number, expMonth: 12, expYear: 2030, cvc: cvc, postalCode: "80331"))
            return try engine.attach(token: token.token, to: customer)
        }

        func charge(_ method: SavedMethodDetails, _ amount: Int64, key: String) throws -> (charge: SandboxCharge, respondLate: Bool) {
            try engine.charge(GatewayChargeRequest(customerId: customer, methodId: method.gatewayMethodId,
                                                   amount: Money(amount, CurrencyCode("EUR")!), idempotencyKey: key))
        }
    }

    @Test func savesACardKeepingOnlyBrandLast4ExpiryAndFingerprint() throws {
        let sandbox = try Sandbox()
        let method = try sandbox.save("4242 4242 4242 4242")
        #expect(method.brand == "visa" && method.last4 == "4242" && method.expMonth == 12 && method.expYear == 2030)
        let again = try sandbox.save("4242424242424242")
        #expect(again.fingerprint == method.fingerprint && again.gatewayMethodId != method.gatewayMethodId)
        #expect(try sandbox.save("5555555555554444").brand == "mastercard")
        #expect(try sandbox.save("378282246310005", cvc: "1234").brand == "amex")
        // The vault (database and write-ahead log) holds no card number.
        for file in [sandbox.path, sandbox.path + "-wal"] where FileManager.default.fileExists(atPath: file) {
            let bytes = try Data(contentsOf: URL(fileURLWithPath: file))
            #expect(!bytes.isEmpty)
            for number in ["4242424242424242", "5555555555554444", "378282246310005"] {
                #expect(bytes.range(of: Data(number.utf8)) == nil, "\(number) in \(file)")
            }
        }
    }

    @Test(arguments: [
        ("4242424242424241", 12, 2030, "123", SandboxCardError.invalidNumber),
        ("42424242", 12, 2030, "123", .invalidNumber),
        ("4242-4242-4242-4242x", 12, 2030, "123", .invalidNumber),
        ("4242424242424242", 13, 2030, "123", .invalidExpiry),
        ("4242424242424242", 10, 2026, "123", .expired),
        ("4242424242424242", 12, 2030, "12", .invalidCVC),
        ("378282246310005", 12, 2030, "123", .invalidCVC),
    ])
    func refusesBadCards(number: String, month: Int, year: Int, cvc: String, error: SandboxCardError) throws {
        let sandbox = try Sandbox()
        #expect(throws: error) { try sandbox.engine.tokenize(SandboxCardInput(number: number, expMonth: month, expYear: year, cvc: cvc)) }
    }

    @Test func tokensAreSingleUseAndExpire() throws {
        let sandbox = try Sandbox()
        let token = try sandbox.engine.tokenize(SandboxCardInput(number: "4242424242424242", expMonth: 1, expYear: 2031, cvc: "999"))
        _ = try sandbox.engine.attach(token: token.token, to: sandbox.customer)
        #expect(throws: PaymentGatewayError.self) { try sandbox.engine.attach(token: token.token, to: sandbox.customer) }
        let late = try sandbox.engine.tokenize(SandboxCardInput(number: "4242424242424242", expMonth: 1, expYear: 2031, cvc: "999"))
        sandbox.clock.advance(by: 901)
        #expect(throws: PaymentGatewayError.self) { try sandbox.engine.attach(token: late.token, to: sandbox.customer) }
        #expect(throws: PaymentGatewayError.self) { try sandbox.engine.attach(token: "tok_forged", to: sandbox.customer) }
    }

    @Test func chargesAreIdempotentByKey() throws {
        let sandbox = try Sandbox()
        let card = try sandbox.save("4242424242424242")
        let first = try sandbox.charge(card, 1_500, key: "pay_1")
        #expect(first.charge.status == .succeeded && first.charge.authorizationCode?.isEmpty == false && !first.respondLate)
        let repeatCall = try sandbox.charge(card, 1_500, key: "pay_1")
        #expect(repeatCall.charge == first.charge)
        #expect(throws: PaymentGatewayError.idempotencyConflict) { try sandbox.charge(card, 1_600, key: "pay_1") }
        #expect(try sandbox.engine.charge(idempotencyKey: "pay_1") == first.charge)
        #expect(try sandbox.engine.charge(idempotencyKey: "pay_unknown") == nil)
        let count = try DatabaseQueue(path: sandbox.path).read { try Int.fetchOne($0, sql: "SELECT count(*) FROM charges") }
        #expect(count == 1)
    }

    @Test(arguments: [
        ("4000000000000002", "card_declined", true), ("4000000000009995", "insufficient_funds", true),
        ("4000000000000069", "expired_card", false), ("4000000000000127", "incorrect_cvc", false),
        ("4000000000000119", "processing_error", true), ("4000000000009979", "stolen_card", false),
    ])
    func testCardsDecline(number: String, code: String, retryable: Bool) throws {
        let sandbox = try Sandbox()
        let card = try sandbox.save(number)
        let result = try sandbox.charge(card, 1_000, key: "k")
        #expect(result.charge.status == .declined && result.charge.declineCode == code && result.charge.retryable == retryable)
        #expect(result.charge.message?.isEmpty == false)
    }

    @Test func authenticationRequiredThenConfirmed() throws {
        let sandbox = try Sandbox()
        let card = try sandbox.save("4000002500003155")
        let result = try sandbox.charge(card, 2_000, key: "3ds")
        #expect(result.charge.status == .requiresAction)
        let secret = try #require(result.charge.clientSecret)
        #expect(throws: PaymentGatewayError.notFound) { try sandbox.engine.confirmAuthentication(chargeId: result.charge.id, clientSecret: "wrong") }
        let confirmed = try sandbox.engine.confirmAuthentication(chargeId: result.charge.id, clientSecret: secret)
        #expect(confirmed.status == .succeeded && confirmed.authorizationCode != nil)
    }

    @Test func theTimeoutCardChargesButAnswersLate() throws {
        let sandbox = try Sandbox()
        let card = try sandbox.save("4000000000000259")
        let result = try sandbox.charge(card, 3_000, key: "slow")
        #expect(result.respondLate && result.charge.status == .succeeded)
        // Reconciliation finds it by our key.
        #expect(try sandbox.engine.charge(idempotencyKey: "slow")?.status == .succeeded)
    }

    @Test func refundsPartialThenFullAndIdempotent() throws {
        let sandbox = try Sandbox()
        let card = try sandbox.save("4242424242424242")
        let charge = try sandbox.charge(card, 5_000, key: "c").charge
        let first = try sandbox.engine.refund(chargeId: charge.id, amount: 2_000, idempotencyKey: "r1")
        #expect(try sandbox.engine.refund(chargeId: charge.id, amount: 2_000, idempotencyKey: "r1") == first)
        #expect(try sandbox.engine.charge(idempotencyKey: "c")?.status == .partiallyRefunded)
        #expect(throws: PaymentGatewayError.self) { try sandbox.engine.refund(chargeId: charge.id, amount: 3_001, idempotencyKey: "r2") }
        _ = try sandbox.engine.refund(chargeId: charge.id, amount: 3_000, idempotencyKey: "r3")
        let after = try #require(try sandbox.engine.charge(idempotencyKey: "c"))
        #expect(after.status == .refunded && after.amountRefunded == 5_000)
        #expect(throws: PaymentGatewayError.self) { try sandbox.engine.void(chargeId: charge.id, idempotencyKey: "v") }
    }

    @Test func voidsOnceAndRefusesForeignMethods() throws {
        let sandbox = try Sandbox()
        let card = try sandbox.save("4242424242424242")
        let charge = try sandbox.charge(card, 700, key: "v").charge
        try sandbox.engine.void(chargeId: charge.id, idempotencyKey: "void-1")
        try sandbox.engine.void(chargeId: charge.id, idempotencyKey: "void-2")
        #expect(try sandbox.engine.charge(idempotencyKey: "v")?.status == .voided)
        let bob = try sandbox.engine.createCustomer(reference: "acc_2", email: nil, name: "Bob")
        #expect(throws: PaymentGatewayError.self) {
            try sandbox.engine.charge(GatewayChargeRequest(customerId: bob, methodId: card.gatewayMethodId,
                                                           amount: Money(100, CurrencyCode("EUR")!), idempotencyKey: "x"))
        }
        try sandbox.engine.detach(methodId: card.gatewayMethodId, customerId: sandbox.customer)
        #expect(throws: PaymentGatewayError.self) { try sandbox.charge(card, 100, key: "after-detach") }
    }

    @Test func webhookSignaturesAreCheckedOnTheRawBodyAndTime() throws {
        let signer = SandboxWebhookSignature.make(secret: "whsec_test")
        let body = Array(#"{"id":"evt_1","type":"charge.succeeded"}"#.utf8)
        let now = Date(timeIntervalSince1970: 1_795_000_000)
        let header = signer.sign(body: body, at: now)
        try signer.verify(header: header, body: body, now: now.addingTimeInterval(60))
        #expect(throws: PaymentGatewayError.invalidWebhookSignature) { try signer.verify(header: header, body: body + [0x20], now: now) }
        #expect(throws: PaymentGatewayError.invalidWebhookSignature) { try SandboxWebhookSignature.make(secret: "other").verify(header: header, body: body, now: now) }
        #expect(throws: PaymentGatewayError.invalidWebhookSignature) { try signer.verify(header: nil, body: body, now: now) }
        #expect(throws: PaymentGatewayError.invalidWebhookSignature) { try signer.verify(header: "t=1,v2=abc", body: body, now: now) }
        #expect(throws: PaymentGatewayError.staleWebhook) { try signer.verify(header: header, body: body, now: now.addingTimeInterval(301)) }
    }
}
