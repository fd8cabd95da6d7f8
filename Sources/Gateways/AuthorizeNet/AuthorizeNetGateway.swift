import Foundation
import PortalCore

/// Authorize.Net through its JSON API: customer profiles (CIM) hold the cards, which customers type
/// into Authorize.Net's own AcceptUI form (SAQ A: no card inputs in our page); charges, refunds and
/// voids are `createTransactionRequest`s against a saved payment profile; webhooks carry
/// `X-ANET-Signature`. The endpoint and the AcceptUI script URL are configurable so the same adapter
/// runs against the sandbox, production, or the local fake the tests use. See docs/AUTHORIZE-NET.md.
public struct AuthorizeNetGateway: PaymentGateway {
    public static let sandboxEndpoint = URL(string: "https://apitest.authorize.net/xml/v1/request.api")!
    public static let productionEndpoint = URL(string: "https://api.authorize.net/xml/v1/request.api")!
    public static let sandboxAcceptUI = "https://jstest.authorize.net/v3/AcceptUI.js"
    public static let productionAcceptUI = "https://js.authorize.net/v3/AcceptUI.js"
    /// Authorize.Net's longest duplicate window (8 hours): a charge or refund repeated with our key
    /// inside it is refused as a duplicate (and then looked up) instead of made twice.
    static let duplicateWindow: OrderedJSON = ["setting": [["settingName": "duplicateWindow", "settingValue": "28800"]]]

    public let name = "authorizenet"
    let api: AuthorizeNetAPI
    let acceptUIURL: String
    let clientKey: String
    let signature: AuthorizeNetWebhookSignature
    /// An Authorize.Net account settles in one currency, set when the account is opened.
    let currency: CurrencyCode
    /// How far back a lookup by key searches settled batches (Authorize.Net allows 31 days a query).
    let settledLookback: TimeInterval

    public init(endpoint: URL = AuthorizeNetGateway.sandboxEndpoint, acceptUIURL: String = AuthorizeNetGateway.sandboxAcceptUI,
                apiLoginID: String, transactionKey: String, clientKey: String, signatureKey: String,
                currency: CurrencyCode = CurrencyCode("USD")!, timeout: TimeInterval = 15, settledLookbackDays: Int = 30) {
        api = AuthorizeNetAPI(endpoint: endpoint, loginID: apiLoginID, transactionKey: transactionKey, transport: GatewayTransport(timeout: timeout))
        self.acceptUIURL = acceptUIURL
        self.clientKey = clientKey
        signature = AuthorizeNetWebhookSignature(signatureKey: signatureKey)
        self.currency = currency
        settledLookback = TimeInterval(min(max(settledLookbackDays, 1), 31) * 86_400)
    }

    // MARK: Customers and saved cards

    /// A customer profile per account. `merchantCustomerId` is limited to 20 characters, so it holds a
    /// stable stand-in for the account id (`AuthorizeNetReference`); the full id goes in the description.
    /// Authorize.Net refuses a second profile with the same id, description and email (E00039) and
    /// names the existing one in the message: that one is reused.
    public func ensureCustomer(existingId: String?, accountId: String, email: String?, name: String) async throws -> String {
        if let existingId, !existingId.isEmpty {
            let found = try await api.call("getCustomerProfileRequest", [("customerProfileId", .string(existingId))])
            if found.ok { return existingId }
            guard found.code == "E00040" else { throw found.failure }
        }
        let profile = OrderedJSON.compact([
            ("merchantCustomerId", .string(AuthorizeNetReference.make(accountId))),
            ("description", .string("Portal account \(accountId)")),
            ("email", email.flatMap { $0.isEmpty ? nil : .string($0) }),
        ])
        let created = try await api.call("createCustomerProfileRequest", [("profile", profile)])
        if created.ok, let id = created["customerProfileId"]?.text { return id }
        if created.code == "E00039", let id = Self.duplicateRecordId(created.text) { return id }
        throw created.failure
    }

    /// AcceptUI: the script builds the card form in Authorize.Net's own frame from the API Login ID and
    /// the public Client Key, and hands the page an opaque, single-use token. Nothing is created yet.
    public func hostedFields(customerId: String) async throws -> HostedFieldsConfiguration {
        let origins = Set([LinkBuilder.origin(of: acceptUIURL), LinkBuilder.origin(of: api.endpoint.absoluteString)]).sorted()
        return HostedFieldsConfiguration(scriptURL: acceptUIURL, origins: origins,
                                         parameters: ["apiLoginID": api.loginID, "clientKey": clientKey])
    }

    /// The browser returns AcceptUI's `opaqueData` (`data_descriptor`, `data_value`) and the expiry
    /// AcceptUI shows it (`exp_month`, `exp_year`). The token becomes a payment profile, validated by
    /// Authorize.Net (`liveMode`), then read back for brand and last 4. Expiry: Authorize.Net masks it
    /// ("XXXX") unless asked to unmask, which it honours for this call; when it still answers masked,
    /// the browser's month and year are used, and without either the card is not kept.
    public func completeSavedMethod(customerId: String, browserResult: [String: String]) async throws -> SavedMethodDetails {
        guard let descriptor = browserResult["data_descriptor"], !descriptor.isEmpty,
              let value = browserResult["data_value"], !value.isEmpty else {
            throw PaymentGatewayError.rejected(code: "opaque_data_missing", message: "The card form did not return a payment token.")
        }
        let paymentProfile: OrderedJSON = ["payment": ["opaqueData": ["dataDescriptor": .string(descriptor), "dataValue": .string(value)]]]
        let created = try await api.call("createCustomerPaymentProfileRequest", [
            ("customerProfileId", .string(customerId)), ("paymentProfile", paymentProfile), ("validationMode", "liveMode"),
        ])
        let methodId: String
        if created.ok, let id = created["customerPaymentProfileId"]?.text {
            methodId = id
        } else if created.code == "E00039", let id = created["customerPaymentProfileId"]?.text {
            // The same card is already on this profile: that one is the saved method.
            methodId = id
        } else if created.code == "E00027" {
            throw PaymentGatewayError.rejected(code: "card_declined", message: Self.validationMessage(created) ?? created.text)
        } else {
            throw created.failure
        }

        let read = try await api.call("getCustomerPaymentProfileRequest", [
            ("customerProfileId", .string(customerId)), ("customerPaymentProfileId", .string(methodId)), ("unmaskExpirationDate", true),
        ])
        guard read.ok, let card = read["paymentProfile"]?["payment"]?["creditCard"] else { throw read.failure }
        let last4 = String((card["cardNumber"]?.text ?? "").filter(\.isNumber).suffix(4))
        let brand = Self.brand(card["cardType"]?.text ?? Self.validationField(created, 51) ?? "")
        let expiry = Self.expiry(card["expirationDate"]?.text)
            ?? Int(browserResult["exp_month"] ?? "").flatMap { month in Int(browserResult["exp_year"] ?? "").map { (month, Self.fourDigitYear($0)) } }
        guard let (month, year) = expiry, (1...12).contains(month), last4.count == 4 else {
            _ = try? await detachMethod(customerId: customerId, methodId: methodId)
            throw PaymentGatewayError.rejected(code: "card_details_missing", message: "The card's expiry date did not come back from the card form.")
        }
        return SavedMethodDetails(gatewayMethodId: methodId, brand: brand, last4: last4, expMonth: month, expYear: year, fingerprint: nil)
    }

    public func detachMethod(customerId: String, methodId: String) async throws {
        let answer = try await api.call("deleteCustomerPaymentProfileRequest", [
            ("customerProfileId", .string(customerId)), ("customerPaymentProfileId", .string(methodId)),
        ])
        guard answer.ok || answer.code == "E00040" else { throw answer.failure }
    }

    // MARK: Charges

    /// `authCaptureTransaction` against the saved profile. Our idempotency key travels three ways:
    /// `refId` and `order.invoiceNumber` carry its 20-character stand-in (the invoice number is what
    /// transaction lists show, so lookups match on it), and a user field carries it whole.
    public func charge(_ request: GatewayChargeRequest) async throws -> GatewayChargeOutcome {
        try requireCurrency(request.amount)
        let reference = AuthorizeNetReference.make(request.idempotencyKey)
        var fields: [OrderedJSON] = [["name": "idempotency_key", "value": .string(request.idempotencyKey)]]
        // Authorize.Net keeps at most 20 user fields.
        for (key, value) in request.metadata.sorted(by: { $0.key < $1.key }).prefix(19) {
            fields.append(["name": .string(key), "value": .string(value)])
        }
        let transaction: OrderedJSON = [
            "transactionType": "authCaptureTransaction",
            "amount": .string(AuthorizeNetAmount.text(request.amount)),
            "profile": ["customerProfileId": .string(request.customerId), "paymentProfile": ["paymentProfileId": .string(request.methodId)]],
            "order": ["invoiceNumber": .string(reference), "description": "Payment portal"],
            "transactionSettings": Self.duplicateWindow,
            "userFields": ["userField": .array(fields)],
        ]
        let answer: AuthorizeNetAPI.Answer
        do {
            answer = try await api.call("createTransactionRequest", [("refId", .string(reference)), ("transactionRequest", transaction)])
        } catch PaymentGatewayError.unavailable(let reason) {
            // The request may have reached Authorize.Net: only a lookup by key can tell.
            return .unknown(reason: reason)
        }
        guard let response = answer["transactionResponse"], let responseCode = response["responseCode"]?.text else {
            throw answer.failure
        }
        let reason = Self.reasonCode(response)
        switch responseCode {
        case "1":
            guard let id = response["transId"]?.text, id != "0" else { return .unknown(reason: "approved without a transaction id") }
            return .approved(transactionId: id, authorizationCode: Self.nonEmpty(response["authCode"]?.text))
        case "2":
            let code = Self.declineCode(reason)
            return .declined(code: code, message: Self.errorText(response) ?? "Your card was declined.", retryable: DeclineCode.retryable(code))
        case "3":
            if reason == "11" { return try await duplicateOutcome(key: request.idempotencyKey) }
            let code = Self.declineCode(reason)
            guard Self.cardProblems.contains(reason) else {
                throw PaymentGatewayError.rejected(code: "authorizenet_\(reason)", message: Self.errorText(response) ?? answer.text)
            }
            return .declined(code: code, message: Self.errorText(response) ?? "Your card was declined.", retryable: DeclineCode.retryable(code))
        default:
            // 4: held for review by the fraud filters. Neither charged nor declined yet; Authorize.Net
            // decides later (a fraud.approved or fraud.declined webhook), so the payment stays pending.
            return .unknown(reason: "held for review (\(Self.errorText(response) ?? "response \(responseCode)"))")
        }
    }

    /// Error 11: the same charge arrived inside the duplicate window. The first attempt's outcome is
    /// the answer to this one.
    private func duplicateOutcome(key: String) async throws -> GatewayChargeOutcome {
        guard let found = try await locate(reference: AuthorizeNetReference.make(key), key: key) else {
            return .unknown(reason: "Authorize.Net reported a duplicate that a lookup did not find yet")
        }
        switch found.status {
        case .succeeded, .refunded, .partiallyRefunded: return .approved(transactionId: found.transactionId, authorizationCode: found.authCode)
        case .declined:
            let code = found.declineCode ?? "card_declined"
            return .declined(code: code, message: "Your card was declined.", retryable: DeclineCode.retryable(code))
        default: return .unknown(reason: "the first attempt is \(found.status.rawValue)")
        }
    }

    // MARK: Refunds and voids

    /// `refundTransaction` needs the card's last 4 and the original transaction, so the original is
    /// read first. Authorize.Net refunds only settled charges (they settle once a day): a full refund of
    /// an unsettled charge is a void instead, and a partial one has to wait for settlement. Our key
    /// rides as for charges, so a repeat inside the duplicate window returns the first refund.
    public func refund(transactionId: String, amount: Money, idempotencyKey: String) async throws -> GatewayRefund {
        try requireCurrency(amount)
        let reference = AuthorizeNetReference.make(idempotencyKey)
        let original = try await details(transactionId)
        guard let original else { throw PaymentGatewayError.notFound }
        if original.rawStatus == "voided", amount == original.amount {
            // This key's full refund already happened as a void (below).
            return GatewayRefund(refundId: transactionId, amount: amount)
        }
        if Self.unsettled.contains(original.rawStatus) {
            guard amount == original.amount else {
                throw PaymentGatewayError.rejected(code: "refund_unsettled",
                                                   message: "Authorize.Net refunds part of a charge only after it settles, within a day; void it to cancel all of it now.")
            }
            try await void(transactionId: transactionId, idempotencyKey: idempotencyKey)
            return GatewayRefund(refundId: transactionId, amount: amount)
        }
        let transaction: OrderedJSON = [
            "transactionType": "refundTransaction",
            "amount": .string(AuthorizeNetAmount.text(amount)),
            "payment": ["creditCard": ["cardNumber": .string(original.last4), "expirationDate": "XXXX"]],
            "refTransId": .string(transactionId),
            "order": ["invoiceNumber": .string(reference), "description": "Payment portal refund"],
            "transactionSettings": Self.duplicateWindow,
        ]
        let answer = try await api.call("createTransactionRequest", [("refId", .string(reference)), ("transactionRequest", transaction)])
        guard let response = answer["transactionResponse"], let code = response["responseCode"]?.text else { throw answer.failure }
        let reason = Self.reasonCode(response)
        if code == "1", let id = response["transId"]?.text { return GatewayRefund(refundId: id, amount: amount) }
        // A repeat of this key inside the duplicate window: the first refund is the answer.
        if reason == "11", let earlier = try await locate(reference: reference, key: idempotencyKey), earlier.type == "refundTransaction" {
            return GatewayRefund(refundId: earlier.transactionId, amount: earlier.amount)
        }
        switch reason {
        case "16": throw PaymentGatewayError.notFound
        // 55: the refunds would exceed the charge.
        case "55": throw PaymentGatewayError.rejected(code: "refund_exceeds_charge", message: Self.errorText(response) ?? answer.text)
        default: throw PaymentGatewayError.rejected(code: "authorizenet_\(reason)", message: Self.errorText(response) ?? answer.text)
        }
    }

    /// Voiding twice is harmless: Authorize.Net approves the repeat with "already voided" (310).
    public func void(transactionId: String, idempotencyKey: String) async throws {
        let reference = AuthorizeNetReference.make(idempotencyKey)
        let answer = try await api.call("createTransactionRequest", [
            ("refId", .string(reference)), ("transactionRequest", ["transactionType": "voidTransaction", "refTransId": .string(transactionId)]),
        ])
        guard let response = answer["transactionResponse"], let code = response["responseCode"]?.text else { throw answer.failure }
        if code == "1" { return }
        let reason = Self.reasonCode(response)
        if reason == "16" { throw PaymentGatewayError.notFound }
        throw PaymentGatewayError.rejected(code: "authorizenet_\(reason)", message: Self.errorText(response) ?? answer.text)
    }

    // MARK: Lookups

    /// Transaction lists show each transaction's invoice number, which carries our key's stand-in:
    /// unsettled transactions first (today's), then settled batches back to `settledLookback`. A match
    /// is confirmed against the full key in its user fields when Authorize.Net returns them.
    public func findTransaction(idempotencyKey: String) async throws -> GatewayTransaction? {
        guard let found = try await locate(reference: AuthorizeNetReference.make(idempotencyKey), key: idempotencyKey) else { return nil }
        return GatewayTransaction(transactionId: found.transactionId, status: found.status, amount: found.amount, declineCode: found.declineCode)
    }

    struct Details: Sendable {
        var transactionId: String
        var type: String
        var rawStatus: String
        var status: GatewayTransactionStatus
        var amount: Money
        var authCode: String?
        var declineCode: String?
        var last4: String
        var idempotencyKey: String?
    }

    private func locate(reference: String, key: String) async throws -> Details? {
        let unsettled = try await api.call("getUnsettledTransactionListRequest", [
            ("sorting", ["orderBy": "submitTimeUTC", "orderDescending": true]), ("paging", ["limit": "1000", "offset": "1"]),
        ])
        guard unsettled.ok else { throw unsettled.failure }
        if let found = try await firstMatch(in: unsettled["transactions"]?.elements ?? [], reference: reference, key: key) { return found }

        let now = Date()
        let batches = try await api.call("getSettledBatchListRequest", [
            ("firstSettlementDate", .string(AuthorizeNetTime.text(now.addingTimeInterval(-settledLookback)))),
            ("lastSettlementDate", .string(AuthorizeNetTime.text(now))),
        ])
        // "No records found" is an answer, not a failure.
        guard batches.ok || batches.code == "I00004" else { throw batches.failure }
        let newestFirst = (batches["batchList"]?.elements ?? []).reversed()
        for batch in newestFirst {
            guard let batchId = batch["batchId"]?.text else { continue }
            let list = try await api.call("getTransactionListRequest", [("batchId", .string(batchId))])
            guard list.ok || list.code == "I00004" else { throw list.failure }
            if let found = try await firstMatch(in: list["transactions"]?.elements ?? [], reference: reference, key: key) { return found }
        }
        return nil
    }

    private func firstMatch(in transactions: [OrderedJSON], reference: String, key: String) async throws -> Details? {
        for summary in transactions where summary["invoiceNumber"]?.text == reference {
            guard let id = summary["transId"]?.text, let found = try await details(id) else { continue }
            if let carried = found.idempotencyKey, carried != key { continue }
            return found
        }
        return nil
    }

    private func details(_ transactionId: String) async throws -> Details? {
        let answer = try await api.call("getTransactionDetailsRequest", [("transId", .string(transactionId))])
        guard answer.ok, let transaction = answer["transaction"] else {
            if answer.code == "E00040" || answer.code == "E00011" { return nil }
            throw answer.failure
        }
        let rawStatus = transaction["transactionStatus"]?.text ?? ""
        let amountText = transaction["authAmount"]?.text ?? transaction["settleAmount"]?.text ?? "0"
        guard let amount = AuthorizeNetAmount.money(amountText, currency) else {
            throw PaymentGatewayError.rejected(code: "amount_unreadable", message: "Authorize.Net sent an amount we cannot read.")
        }
        let key = transaction["userFields"]?["userField"]?.elements.first { $0["name"]?.text == "idempotency_key" }?["value"]?.text
        let reason = transaction["responseReasonCode"]?.text ?? ""
        let status = Self.status(rawStatus)
        return Details(transactionId: transactionId, type: transaction["transactionType"]?.text ?? "", rawStatus: rawStatus, status: status,
                       amount: amount, authCode: Self.nonEmpty(transaction["authCode"]?.text),
                       declineCode: status == .declined ? Self.declineCode(reason) : nil,
                       last4: String((transaction["payment"]?["creditCard"]?["cardNumber"]?.text ?? "").filter(\.isNumber).suffix(4)),
                       idempotencyKey: key)
    }

    // MARK: Webhooks

    public func verifyWebhook(headers: [String: String], body: [UInt8], now: Date) throws -> GatewayWebhookEvent {
        try signature.event(headers: headers, body: body, now: now)
    }

    // MARK: Helpers

    private func requireCurrency(_ amount: Money) throws {
        guard amount.currency == currency else {
            throw PaymentGatewayError.rejected(code: "currency_not_supported",
                                               message: "This Authorize.Net account settles in \(currency.code), not \(amount.currency.code).")
        }
        guard amount.minorUnits > 0 else { throw PaymentGatewayError.rejected(code: "invalid_amount", message: "The amount must be above zero.") }
    }

    /// Transactions still in today's batch, which a void can cancel and a refund cannot reach yet.
    static let unsettled: Set<String> = ["capturedPendingSettlement", "authorizedPendingCapture", "FDSPendingReview", "FDSAuthorizedPendingReview"]

    static func status(_ raw: String) -> GatewayTransactionStatus {
        switch raw {
        case "capturedPendingSettlement", "settledSuccessfully", "authorizedPendingCapture", "approvedReview",
             "pendingSettlement", "pendingFinalSettlement", "refundPendingSettlement", "refundSettledSuccessfully": .succeeded
        case "voided": .voided
        case "FDSPendingReview", "FDSAuthorizedPendingReview", "underReview", "updatingSettlement", "authorizedPendingRelease": .processing
        default: .declined
        }
    }

    /// Response reason codes that say something about the card (a decline), not about our request.
    static let cardProblems: Set<String> = ["2", "3", "4", "6", "7", "8", "17", "27", "28", "37", "44", "45", "65", "250", "251", "254"]

    /// Authorize.Net's response reason codes in the shared decline vocabulary (`DeclineCode`).
    static func declineCode(_ reason: String) -> String {
        switch reason {
        case "4": "pickup_card"
        case "6", "37": "incorrect_number"
        case "7": "invalid_expiry_year"
        case "8": "expired_card"
        case "17", "28": "card_not_supported"
        case "19", "20", "21", "22", "23", "25", "26", "57", "58", "59", "60", "61", "62", "63": "processing_error"
        case "27": "incorrect_zip"
        case "44", "45", "65": "incorrect_cvc"
        case "250", "251", "254": "fraudulent"
        default: "card_declined"
        }
    }

    static func reasonCode(_ response: OrderedJSON) -> String {
        response["errors"]?.elements.first?["errorCode"]?.text ?? response["messages"]?.elements.first?["code"]?.text ?? ""
    }

    static func errorText(_ response: OrderedJSON) -> String? {
        nonEmpty(response["errors"]?.elements.first?["errorText"]?.text ?? response["messages"]?.elements.first?["description"]?.text)
    }

    /// "A duplicate record with ID 1234 already exists."
    static func duplicateRecordId(_ text: String) -> String? {
        let digits = text.split(whereSeparator: { !$0.isNumber }).first.map(String.init)
        return text.hasPrefix("A duplicate record with ID") ? digits : nil
    }

    /// `validationDirectResponse` is the legacy comma-separated response: field 4 is the reason text,
    /// field 51 the card type.
    static func validationField(_ answer: AuthorizeNetAPI.Answer, _ position: Int) -> String? {
        guard let line = answer["validationDirectResponse"]?.text else { return nil }
        let fields = line.split(separator: ",", omittingEmptySubsequences: false)
        return fields.count > position ? nonEmpty(String(fields[position])) : nil
    }

    static func validationMessage(_ answer: AuthorizeNetAPI.Answer) -> String? { validationField(answer, 3) }

    /// Authorize.Net's card types in the portal's brand vocabulary (`PaymentMethod.brandName`).
    static func brand(_ cardType: String) -> String {
        switch cardType {
        case "Visa": "visa"
        case "MasterCard": "mastercard"
        case "AmericanExpress": "amex"
        case "Discover": "discover"
        case "JCB": "jcb"
        case "DinersClub": "diners"
        case "": "unknown"
        default: cardType.lowercased()
        }
    }

    /// "2031-12" when unmasked; nil for the masked "XXXX".
    static func expiry(_ text: String?) -> (Int, Int)? {
        guard let parts = text?.split(separator: "-"), parts.count == 2, let year = Int(parts[0]), let month = Int(parts[1]) else { return nil }
        return (month, year)
    }

    static func fourDigitYear(_ year: Int) -> Int { year < 100 ? 2000 + year : year }

    static func nonEmpty(_ text: String?) -> String? {
        guard let text, !text.isEmpty else { return nil }
        return text
    }
}
