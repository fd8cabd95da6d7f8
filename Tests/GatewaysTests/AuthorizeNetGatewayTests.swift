import Crypto
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import PortalCore
import Testing
@testable import Gateways
import GatewayFakes

/// What the Authorize.Net adapter does beyond the shared contract, against the local fake.
@Suite struct AuthorizeNetGatewayTests {
    let usd = CurrencyCode("USD")!

    // MARK: Without a server

    /// The published vector (Authorize.Net developer community, 2017, thread "HMAC SHA-512 hash not
    /// matching in webhook callback"): key, raw body and the header Authorize.Net sent.
    @Test func theSignatureKeyIsUsedAsTheTextItIsShownAs() throws {
        let key = FakeAuthorizeNet.signatureKey
        let body = Array(#"{"notificationId":"f813b98f-3552-4eeb-ba40-acb4704eeba3","eventType":"net.authorize.payment.authcapture.created","eventDate":"2017-03-08T17:35:37.155999Z","webhookId":"63d6fea2-aa13-4b1d-a204-f5fbc15942b7","payload":{"responseCode":1,"authCode":"8VTPDC","avsResponse":"Y","authAmount":10.00,"entityName":"transaction","id":"60019392075"}}"#.utf8)
        let header = "sha512=9607C69D2734514554CE13D923D19939563F2FD6567D239F49F0DF0D08865632A0FB98061B4620CC52C47BB8BF6E2B69A15A67E4C98E81D7D65111076C515C6A"
        let sent = try #require(AuthorizeNetTime.parse("2017-03-08T17:35:37.155999Z"))
        let adapter = AuthorizeNetHarness.adapter(URL(string: "http://127.0.0.1:9")!)
        let event = try adapter.verifyWebhook(headers: ["x-anet-signature": header.lowercased()], body: body, now: sent.addingTimeInterval(30))
        #expect(event.id == "f813b98f-3552-4eeb-ba40-acb4704eeba3" && event.kind == .chargeSucceeded && event.transactionId == "60019392075")

        // The key hex-decoded to bytes would sign differently; that reading is refused.
        let hexKey = SymmetricKey(data: stride(from: 0, to: key.count, by: 2).map {
            UInt8(key[key.index(key.startIndex, offsetBy: $0)..<key.index(key.startIndex, offsetBy: $0 + 2)], radix: 16)!
        })
        let hexSigned = "sha512=" + Array(HMAC<SHA512>.authenticationCode(for: body, using: hexKey)).hexString.uppercased()
        #expect(hexSigned != header)
        #expect(throws: PaymentGatewayError.invalidWebhookSignature) {
            try adapter.verifyWebhook(headers: ["X-ANET-Signature": hexSigned], body: body, now: sent)
        }
    }

    @Test func eventTypesMapToWhatThePortalDoes() throws {
        let adapter = AuthorizeNetHarness.adapter(URL(string: "http://127.0.0.1:9")!)
        let signer = AuthorizeNetWebhookSignature(signatureKey: FakeAuthorizeNet.signatureKey)
        let now = Date()
        func event(_ type: String, responseCode: String = "1") throws -> GatewayWebhookEvent {
            let body = Array(#"{"notificationId":"n-\#(type)","eventType":"\#(type)","eventDate":"\#(AuthorizeNetTime.text(now))Z","webhookId":"w","payload":{"responseCode":\#(responseCode),"entityName":"transaction","id":60020981676}}"#.utf8)
            return try adapter.verifyWebhook(headers: ["X-ANET-Signature": signer.sign(body: body)], body: body, now: now)
        }
        #expect(try event("net.authorize.payment.authcapture.created").kind == .chargeSucceeded)
        #expect(try event("net.authorize.payment.authcapture.created", responseCode: "2").kind == .chargeFailed)
        #expect(try event("net.authorize.payment.refund.created").kind == .chargeRefunded)
        #expect(try event("net.authorize.payment.fraud.declined").kind == .chargeFailed)
        #expect(try event("net.authorize.payment.fraud.approved").kind == .chargeSucceeded)
        #expect(try event("net.authorize.payment.void.created").kind == .other)
        // Authorize.Net sends the id as a number as well as a string.
        #expect(try event("net.authorize.payment.void.created").transactionId == "60020981676")
    }

    @Test func amountsAreWrittenAndReadFromMinorUnits() {
        #expect(AuthorizeNetAmount.text(Money(1_999, usd)) == "19.99")
        #expect(AuthorizeNetAmount.text(Money(5, usd)) == "0.05")
        #expect(AuthorizeNetAmount.text(Money(123_456_789_012, usd)) == "1234567890.12")
        #expect(AuthorizeNetAmount.text(Money(1_999, CurrencyCode("JPY")!)) == "1999")
        #expect(AuthorizeNetAmount.money("1018.88", usd) == Money(101_888, usd))
        #expect(AuthorizeNetAmount.money("5.00", usd) == Money(500, usd))
        #expect(AuthorizeNetAmount.money("20", usd) == Money(2_000, usd))
        #expect(AuthorizeNetAmount.money("19.9", usd) == Money(1_990, usd))
        #expect(AuthorizeNetAmount.money("1.230", usd) == Money(123, usd))
        #expect(AuthorizeNetAmount.money("0.001", usd) == nil)
        #expect(AuthorizeNetAmount.money("1e3", usd) == nil)
    }

    @Test func referencesAreStableTwentyCharacterStandIns() {
        let key = "pay_7Hq2xK9mP4vL8nR3tW6yZ1aB5cD0eF"
        #expect(AuthorizeNetReference.make(key).count == 20 && AuthorizeNetReference.make(key) == AuthorizeNetReference.make(key))
        #expect(AuthorizeNetReference.make(key) != AuthorizeNetReference.make(key + "x"))
    }

    @Test func answersAreReadPastTheByteOrderMarkWithNumbersKeptAsWritten() throws {
        let answer = try OrderedJSON.parse([0xEF, 0xBB, 0xBF] + Array(#"{"b":1018.88,"a":["x\u00e9\ud83d\ude00",true,null]}"#.utf8))
        #expect(answer.members.map(\.key) == ["b", "a"] && answer["b"] == .number("1018.88"))
        #expect(answer["a"]?.elements.first?.text == "xé😀")
        let written = String(decoding: (["z": "\"q\"\n", "a": .number("1.50")] as OrderedJSON).serialized(), as: UTF8.self)
        #expect(written == #"{"z":"\"q\"\n","a":1.50}"#)
    }

    // MARK: Against the fake

    @Test func theFakeRefusesMembersOutOfSchemaOrderAndWrongCredentials() async throws {
        try await AuthorizeNetHarness.run { h in
            let shuffled: OrderedJSON = ["getCustomerProfileRequest": [
                "customerProfileId": "1",
                "merchantAuthentication": ["name": .string(FakeAuthorizeNet.loginID), "transactionKey": .string(FakeAuthorizeNet.transactionKey)],
            ]]
            var request = URLRequest(url: h.endpoint)
            request.httpMethod = "POST"
            request.httpBody = Data(shuffled.serialized())
            let (data, _) = try await URLSession.shared.data(for: request)
            #expect(Array(data.prefix(3)) == [0xEF, 0xBB, 0xBF])
            #expect(try OrderedJSON.parse(data)["messages"]?["message"]?.elements.first?["code"]?.text == "E00003")

            let wrong = AuthorizeNetHarness.adapter(h.endpoint, transactionKey: "not-the-key")
            await #expect(throws: PaymentGatewayError.rejected(code: "E00007", message: "User authentication failed due to invalid authentication values.")) {
                try await wrong.ensureCustomer(existingId: nil, accountId: "acc_1", email: nil, name: "Acme")
            }
        }
    }

    @Test func anExistingProfileAndAnExistingCardAreReused() async throws {
        try await AuthorizeNetHarness.run { h in
            let account = "acc_4mX9pQ2rT7vW1yZ3bC5dF8"
            let first = try await h.adapter.ensureCustomer(existingId: nil, accountId: account, email: "a@example.com", name: "Acme")
            // Lost on our side: Authorize.Net's duplicate error names the profile, and it is reused.
            #expect(try await h.adapter.ensureCustomer(existingId: nil, accountId: account, email: "a@example.com", name: "Acme") == first)
            #expect(try await h.adapter.ensureCustomer(existingId: h.unknownCustomerId, accountId: account, email: "a@example.com", name: "Acme") == first)
            let profile = try #require(await h.fake.profiles[first])
            #expect(profile.merchantCustomerId == AuthorizeNetReference.make(account) && profile.description?.contains(account) == true)

            let card = try await h.save(customer: first, .approved)
            #expect(try await h.save(customer: first, .approved).gatewayMethodId == card.gatewayMethodId)
            #expect(await h.fake.profiles[first]?.paymentProfiles.count == 1)
        }
    }

    @Test func theExpiryFallsBackToWhatTheBrowserShowedOrTheCardIsNotKept() async throws {
        try await AuthorizeNetHarness.run { h in
            await h.fake.setHonoursUnmask(false)
            let customer = try await h.customer()
            let shown = try await FakeAuthorizeNet.acceptUIToken(h.endpoint, number: "5424000000000015", expiry: "0729")
            let card = try await h.adapter.completeSavedMethod(customerId: customer, browserResult: shown)
            #expect(card.brand == "mastercard" && card.last4 == "0015" && card.expMonth == 7 && card.expYear == 2029)

            var unseen = try await FakeAuthorizeNet.acceptUIToken(h.endpoint, number: "370000000000002")
            unseen["exp_month"] = nil
            await #expect(throws: PaymentGatewayError.rejected(code: "card_details_missing",
                                                               message: "The card's expiry date did not come back from the card form.")) {
                try await h.adapter.completeSavedMethod(customerId: customer, browserResult: unseen)
            }
            #expect(await h.fake.profiles[customer]?.paymentProfiles.map(\.card.last4) == ["0015"])
        }
    }

    @Test func theChargeCarriesOurKeyAndARepeatInsideTheWindowIsTheFirstCharge() async throws {
        try await AuthorizeNetHarness.run { h in
            let customer = try await h.customer()
            let card = try await h.save(customer: customer, .approved)
            let key = "pay_7Hq2xK9mP4vL8nR3tW6yZ1aB5cD0eF"
            let request = GatewayChargeRequest(customerId: customer, methodId: card.gatewayMethodId, amount: h.money(12_345), idempotencyKey: key,
                                               metadata: ["invoice": "INV-1001"])
            guard case .approved(let id, let auth) = try await h.adapter.charge(request) else { Issue.record("not approved"); return }
            #expect(auth?.count == 6)
            let stored = try #require(await h.fake.transactions[id])
            #expect(stored.cents == 12_345 && stored.invoiceNumber == AuthorizeNetReference.make(key))
            #expect(stored.userFields.first { $0.0 == "idempotency_key" }?.1 == key && stored.userFields.contains { $0 == ("invoice", "INV-1001") })

            // Authorize.Net refuses the repeat as a duplicate (11); the adapter answers with the first charge.
            #expect(try await h.adapter.charge(request) == .approved(transactionId: id, authorizationCode: auth))
            #expect(await h.fake.transactions.count == 1)

            var euros = request
            euros.amount = Money(100, CurrencyCode("EUR")!)
            await #expect(throws: PaymentGatewayError.self) { try await h.adapter.charge(euros) }
        }
    }

    @Test func expiredCardsAreHardDeclinesAndHeldChargesStayPending() async throws {
        try await AuthorizeNetHarness.run { h in
            let customer = try await h.customer()
            let card = try await h.save(customer: customer, .declinedWhenCharged)
            let expired = try await h.adapter.charge(GatewayChargeRequest(customerId: customer, methodId: card.gatewayMethodId,
                                                                          amount: h.money(800), idempotencyKey: "pay_expired"))
            #expect(expired == .declined(code: "expired_card", message: "The credit card has expired.", retryable: false))

            let held = try await h.adapter.charge(GatewayChargeRequest(customerId: customer, methodId: card.gatewayMethodId,
                                                                       amount: h.money(25_200), idempotencyKey: "pay_held"))
            guard case .unknown(let reason) = held else { Issue.record("held charge reported as \(held)"); return }
            #expect(reason.contains("held for review"))
            #expect(try await h.adapter.findTransaction(idempotencyKey: "pay_held")?.status == .processing)
        }
    }

    @Test func aFullRefundBeforeSettlementIsAVoidAndAPartialOneWaits() async throws {
        try await AuthorizeNetHarness.run { h in
            let id = try await h.approvedCharge(customer: try await h.customer(), amount: 5_000, key: "pay_u")
            await #expect(throws: PaymentGatewayError.self) {
                try await h.adapter.refund(transactionId: id, amount: h.money(1_000), idempotencyKey: "ref_part")
            }
            let whole = try await h.adapter.refund(transactionId: id, amount: h.money(5_000), idempotencyKey: "ref_all")
            #expect(whole == GatewayRefund(refundId: id, amount: h.money(5_000)))
            #expect(try await h.adapter.findTransaction(idempotencyKey: "pay_u")?.status == .voided)
            #expect(try await h.adapter.refund(transactionId: id, amount: h.money(5_000), idempotencyKey: "ref_all") == whole)
            await #expect(throws: PaymentGatewayError.notFound) {
                try await h.adapter.refund(transactionId: h.unknownTransactionId, amount: h.money(100), idempotencyKey: "ref_none")
            }
        }
    }

    @Test func settledChargesAreFoundAndRefundsRepeatByKey() async throws {
        try await AuthorizeNetHarness.run { h in
            let id = try await h.approvedCharge(customer: try await h.customer(), amount: 8_000, key: "pay_s")
            await h.fake.settle()
            let found = try #require(try await h.adapter.findTransaction(idempotencyKey: "pay_s"))
            #expect(found.transactionId == id && found.status == .succeeded && found.amount == h.money(8_000))
            #expect(await h.fake.calls.contains("getTransactionListRequest"))

            let refund = try await h.adapter.refund(transactionId: id, amount: h.money(3_000), idempotencyKey: "ref_s")
            #expect(try await h.adapter.refund(transactionId: id, amount: h.money(3_000), idempotencyKey: "ref_s") == refund)
            #expect(await h.fake.transactions.values.filter { $0.type == "refundTransaction" }.count == 1)
        }
    }

    @Test func theHostedFieldsAreAcceptUIWithThePublicValuesOnly() async throws {
        let adapter = AuthorizeNetGateway(apiLoginID: "login", transactionKey: "secret-transaction-key", clientKey: "public-client-key",
                                          signatureKey: "secret-signature-key")
        let fields = try await adapter.hostedFields(customerId: "1")
        #expect(fields.scriptURL == "https://jstest.authorize.net/v3/AcceptUI.js")
        #expect(fields.origins == ["https://apitest.authorize.net", "https://jstest.authorize.net"])
        #expect(fields.parameters == ["apiLoginID": "login", "clientKey": "public-client-key"])
    }
}
