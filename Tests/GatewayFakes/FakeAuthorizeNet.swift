import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import Gateways

/// A local Authorize.Net for the tests: the JSON API's single endpoint on 127.0.0.1, answering from
/// the response samples in Authorize.Net's API reference (`Fixtures/authorizenet/`) with the values of
/// its own small state filled in — customer and payment profiles, opaque card tokens, transactions
/// and settlement batches — so saving, charging, refunding, voiding and lookups behave.
///
/// Like the real one it checks `merchantAuthentication` (E00007), refuses members out of schema order
/// (E00003), starts every answer with a UTF-8 byte-order mark, answers HTTP 200 to errors, refuses
/// refunds of unsettled charges (54) and refunds beyond the charge (55), and refuses a repeated
/// charge inside the duplicate window (11).
///
/// Test cards, as in Authorize.Net's sandbox: 4111111111111111 (Visa), 5424000000000015 (Mastercard),
/// 370000000000002 (Amex), 6011000000000012 (Discover) approve; 4222222222222 answers with the
/// response reason code equal to the amount in whole dollars (2.00 → declined, 8.00 → expired,
/// 252.00 → held for review, …). Fake-only: 4000000000000259 is charged but answered only after
/// `lateAnswer`, to exercise a lost answer.
package actor FakeAuthorizeNet {
    package static let loginID = "5KP3u95bQpv"
    package static let transactionKey = "346HZ32z3fP4hTG2"
    package static let clientKey = "7JmS3MNZz7Thr8XzQ3d5RsqZA8bFpJxT6J8GC7gQ5HJ2yL6zd8hW5h6Xn2vB7D4e"
    package static let signatureKey = "2679A5D5785C9B26CF921E1754765CDDB265C9C88400786923E5343B315954FAFB4B7BF608818F6A21766741E8637DC206F286C725908C777ED4127D8562163D"
    package static let lateCard = "4000000000000259"

    package struct Card: Sendable {
        package var number: String
        package var expMonth: Int
        package var expYear: Int
        package var last4: String { String(number.suffix(4)) }
        package var type: String {
            if number.hasPrefix("4") { return "Visa" }
            if number.hasPrefix("5") { return "MasterCard" }
            if number.hasPrefix("34") || number.hasPrefix("37") { return "AmericanExpress" }
            if number.hasPrefix("6011") { return "Discover" }
            return "Visa"
        }
    }

    package struct Profile: Sendable {
        package var id: String
        package var merchantCustomerId: String?
        package var description: String?
        package var email: String?
        package var paymentProfiles: [(id: String, card: Card)] = []
    }

    package struct Transaction: Sendable {
        package var id: String
        package var type: String
        package var cents: Int64
        package var status: String
        package var responseCode: Int
        package var reasonCode: Int
        package var reasonText: String
        package var authCode: String
        package var invoiceNumber: String?
        package var userFields: [(String, String)]
        package var paymentProfileId: String?
        package var card: Card
        package var submitted: Date
        package var refTransId: String?
        package var batchId: String?
    }

    package private(set) var profiles: [String: Profile] = [:]
    package private(set) var transactions: [String: Transaction] = [:]
    private var tokens: [String: Card] = [:]
    private var batches: [(id: String, settled: Date)] = []
    private var nextId = 40_000_000_001
    /// Names of the calls received, in order.
    package private(set) var calls: [String] = []
    /// Real Authorize.Net unmasks the expiry when asked; turned off to exercise the fallback.
    var honoursUnmask = true
    let lateAnswer: Duration

    enum FakeError: Error { case noPort, refused(String) }

    init(lateAnswer: Duration = .seconds(3)) {
        self.lateAnswer = lateAnswer
    }

    package func setHonoursUnmask(_ value: Bool) { honoursUnmask = value }

    /// Runs the fake on a free loopback port; `body` gets its endpoint.
    package static func run(lateAnswer: Duration = .seconds(3), _ body: @Sendable (FakeAuthorizeNet, URL) async throws -> Void) async throws {
        let fake = FakeAuthorizeNet(lateAnswer: lateAnswer)
        let router = Router()
        router.post("xml/v1/request.api") { request, _ -> Response in
            var request = request
            let bytes = Array(try await request.collectBody(upTo: 1 << 20).readableBytesView)
            let (answer, delay) = await fake.handle(bytes)
            if let delay { try await Task.sleep(for: delay) }
            return Response(status: .ok, headers: [.contentType: "application/json; charset=utf-8"],
                            body: .init(byteBuffer: ByteBuffer(bytes: [0xEF, 0xBB, 0xBF] + answer.serialized())))
        }
        var logger = Logger(label: "fake-authorizenet")
        logger.logLevel = .error
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)), logger: logger)
        try await app.test(.live) { client in
            guard let port = client.port else { throw FakeError.noPort }
            try await body(fake, URL(string: "http://127.0.0.1:\(port)/xml/v1/request.api")!)
        }
    }

    /// What AcceptUI does in the browser: send the card to Authorize.Net with the public client key
    /// (`securePaymentContainerRequest`) and hand the page the opaque token, plus the expiry it shows
    /// as "MM/YY" (`encryptedCardData.expDate`), which the page splits; `expiry` is "MMYY".
    package static func acceptUIToken(_ endpoint: URL, number: String, expiry: String = "1231") async throws -> [String: String] {
        let body: OrderedJSON = ["securePaymentContainerRequest": [
            "merchantAuthentication": ["name": .string(loginID), "clientKey": .string(clientKey)],
            "refId": "12345",
            "data": ["type": "TOKEN", "id": .string(UUID().uuidString.lowercased()),
                     "token": ["cardNumber": .string(number), "expirationDate": .string(expiry), "cardCode": "123"]],
        ]]
        var request = URLRequest(url: endpoint)
        request.httpMethod = "POST"
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.httpBody = Data(body.serialized())
        let (data, _) = try await URLSession.shared.data(for: request)
        let answer = try OrderedJSON.parse(data)
        guard let opaque = answer["opaqueData"], let descriptor = opaque["dataDescriptor"]?.text, let value = opaque["dataValue"]?.text else {
            throw FakeError.refused(String(decoding: data, as: UTF8.self))
        }
        return ["data_descriptor": descriptor, "data_value": value, "exp_month": String(expiry.prefix(2)), "exp_year": String(expiry.suffix(2))]
    }

    // MARK: Requests

    /// Member order per request, from Authorize.Net's schema (AnetApiSchema.xsd).
    static let sequences: [String: [String]] = [
        "createCustomerProfileRequest": ["merchantAuthentication", "refId", "profile", "validationMode"],
        "getCustomerProfileRequest": ["merchantAuthentication", "refId", "customerProfileId", "merchantCustomerId", "email", "unmaskExpirationDate", "includeIssuerInfo"],
        "createCustomerPaymentProfileRequest": ["merchantAuthentication", "refId", "customerProfileId", "paymentProfile", "validationMode"],
        "getCustomerPaymentProfileRequest": ["merchantAuthentication", "refId", "customerProfileId", "customerPaymentProfileId", "unmaskExpirationDate", "includeIssuerInfo"],
        "deleteCustomerPaymentProfileRequest": ["merchantAuthentication", "refId", "customerProfileId", "customerPaymentProfileId"],
        "createTransactionRequest": ["merchantAuthentication", "refId", "transactionRequest"],
        "getTransactionDetailsRequest": ["merchantAuthentication", "refId", "transId"],
        "getUnsettledTransactionListRequest": ["merchantAuthentication", "refId", "status", "sorting", "paging"],
        "getSettledBatchListRequest": ["merchantAuthentication", "refId", "includeStatistics", "firstSettlementDate", "lastSettlementDate"],
        "getTransactionListRequest": ["merchantAuthentication", "refId", "batchId", "sorting", "paging"],
        "securePaymentContainerRequest": ["merchantAuthentication", "refId", "data"],
        "transactionRequest": ["transactionType", "amount", "currencyCode", "payment", "profile", "solution", "callId", "terminalNumber", "authCode",
                               "refTransId", "splitTenderId", "order", "lineItems", "tax", "duty", "shipping", "taxExempt", "poNumber", "customer",
                               "billTo", "shipTo", "customerIP", "cardholderAuthentication", "retail", "employeeId", "transactionSettings", "userFields"],
        "profile": ["merchantCustomerId", "description", "email", "paymentProfiles", "shipToList", "profileType"],
    ]

    func handle(_ bytes: [UInt8]) -> (OrderedJSON, Duration?) {
        guard let request = try? OrderedJSON.parse(bytes), request.members.count == 1, let root = request.members.first,
              let sequence = Self.sequences[root.key] else {
            return (Self.error("E00003", "The root node does not reference a valid XML namespace."), nil)
        }
        calls.append(root.key)
        let body = root.value
        if let problem = Self.orderProblem(root.key, body, sequence)
            ?? body["transactionRequest"].flatMap({ Self.orderProblem("transactionRequest", $0, Self.sequences["transactionRequest"]!) })
            ?? body["profile"].flatMap({ Self.orderProblem("profile", $0, Self.sequences["profile"]!) }) {
            return (Self.error("E00003", problem), nil)
        }
        let auth = body["merchantAuthentication"]
        let secretOK = root.key == "securePaymentContainerRequest" ? auth?["clientKey"]?.text == Self.clientKey
                                                                   : auth?["transactionKey"]?.text == Self.transactionKey
        guard auth?["name"]?.text == Self.loginID, secretOK else {
            return (Self.error("E00007", "User authentication failed due to invalid authentication values."), nil)
        }
        switch root.key {
        case "securePaymentContainerRequest": return (tokenize(body), nil)
        case "createCustomerProfileRequest": return (createProfile(body), nil)
        case "getCustomerProfileRequest": return (getProfile(body), nil)
        case "createCustomerPaymentProfileRequest": return (createPaymentProfile(body), nil)
        case "getCustomerPaymentProfileRequest": return (getPaymentProfile(body), nil)
        case "deleteCustomerPaymentProfileRequest": return (deletePaymentProfile(body), nil)
        case "createTransactionRequest": return transaction(body)
        case "getTransactionDetailsRequest": return (details(body), nil)
        case "getUnsettledTransactionListRequest":
            return (list(transactions.values.filter { $0.batchId == nil }, template: "getUnsettledTransactionListResponse"), nil)
        case "getSettledBatchListRequest": return (batchList(body), nil)
        default:
            return (list(transactions.values.filter { $0.batchId != nil && $0.batchId == body["batchId"]?.text },
                         template: "getTransactionListResponse"), nil)
        }
    }

    static func orderProblem(_ element: String, _ body: OrderedJSON, _ sequence: [String]) -> String? {
        var last = -1
        for member in body.members {
            guard let position = sequence.firstIndex(of: member.key), position > last else {
                return "The element '\(element)' has invalid child element '\(member.key)' in namespace 'AnetApi/xml/v1/schema/AnetApiSchema.xsd'."
            }
            last = position
        }
        return nil
    }

    // MARK: Accept.js and customer profiles

    /// What Accept.js / AcceptUI sends from the browser: the card, for a single-use opaque token.
    private func tokenize(_ body: OrderedJSON) -> OrderedJSON {
        let token = body["data"]?["token"]
        guard let number = token?["cardNumber"]?.text, let expiry = token?["expirationDate"]?.text, expiry.count >= 4,
              let month = Int(expiry.prefix(2)), let year = Int(expiry.dropFirst(2)) else {
            return Self.error("E00003", "The element 'token' is invalid.")
        }
        let value = (0..<22).map { _ in String(Int.random(in: 0...9)) }.joined()
        tokens[value] = Card(number: number, expMonth: month, expYear: year < 100 ? 2000 + year : year)
        return Self.fixture("securePaymentContainerResponse")
            .setting("refId", body["refId"] ?? .null).setting("opaqueData", ["dataDescriptor": "COMMON.ACCEPT.INAPP.PAYMENT", "dataValue": .string(value)])
    }

    private func createProfile(_ body: OrderedJSON) -> OrderedJSON {
        let profile = body["profile"]
        let candidate = Profile(id: newId(), merchantCustomerId: profile?["merchantCustomerId"]?.text,
                                description: profile?["description"]?.text, email: profile?["email"]?.text)
        if let existing = profiles.values.first(where: {
            $0.merchantCustomerId == candidate.merchantCustomerId && $0.description == candidate.description && $0.email == candidate.email
        }) {
            return Self.error("E00039", "A duplicate record with ID \(existing.id) already exists.")
        }
        profiles[candidate.id] = candidate
        return Self.fixture("createCustomerProfileResponse").setting("customerProfileId", .string(candidate.id))
    }

    private func getProfile(_ body: OrderedJSON) -> OrderedJSON {
        guard let profile = body["customerProfileId"]?.text.flatMap({ profiles[$0] }) else { return Self.error("E00040", "The record cannot be found.") }
        let template = Self.fixture("getCustomerProfileResponse")
        let row = template["profile"]?["paymentProfiles"]?.elements.first ?? [:]
        let rows = profile.paymentProfiles.map { entry in
            row.setting("customerPaymentProfileId", .string(entry.id))
                .setting("payment", ["creditCard": ["cardNumber": .string("XXXX" + entry.card.last4), "expirationDate": "XXXX"]])
        }
        let fields = (template["profile"] ?? [:]).setting("paymentProfiles", .array(rows)).setting("customerProfileId", .string(profile.id))
            .setting("merchantCustomerId", profile.merchantCustomerId.map { .string($0) } ?? .null)
            .setting("email", profile.email.map { .string($0) } ?? .null)
        return template.setting("profile", fields)
    }

    private func createPaymentProfile(_ body: OrderedJSON) -> OrderedJSON {
        guard let profileId = body["customerProfileId"]?.text, var profile = profiles[profileId] else {
            return Self.error("E00040", "The record cannot be found.")
        }
        guard let opaque = body["paymentProfile"]?["payment"]?["opaqueData"], let value = opaque["dataValue"]?.text,
              opaque["dataDescriptor"]?.text == "COMMON.ACCEPT.INAPP.PAYMENT", let card = tokens.removeValue(forKey: value) else {
            return Self.error("E00114", "Invalid OTS Token.")
        }
        if let existing = profile.paymentProfiles.first(where: { $0.card.number == card.number }) {
            return Self.error("E00039", "A duplicate customer payment profile already exists.")
                .setting("customerProfileId", .string(profileId)).setting("customerPaymentProfileId", .string(existing.id))
        }
        let id = newId()
        profile.paymentProfiles.append((id, card))
        profiles[profileId] = profile
        let template = Self.fixture("createCustomerPaymentProfileResponse")
        let validation = (template["validationDirectResponse"]?.text ?? "").replacingOccurrences(of: "XXXX1111,Visa", with: "XXXX\(card.last4),\(card.type)")
        return template.setting("customerProfileId", .string(profileId)).setting("customerPaymentProfileId", .string(id))
            .setting("validationDirectResponse", .string(validation))
    }

    private func getPaymentProfile(_ body: OrderedJSON) -> OrderedJSON {
        guard let profileId = body["customerProfileId"]?.text, let paymentId = body["customerPaymentProfileId"]?.text,
              let entry = profiles[profileId]?.paymentProfiles.first(where: { $0.id == paymentId }) else {
            return Self.error("E00040", "The record cannot be found.")
        }
        let unmasked = honoursUnmask && body["unmaskExpirationDate"] == .bool(true)
        let expiry = unmasked ? String(format: "%04d-%02d", entry.card.expYear, entry.card.expMonth) : "XXXX"
        let template = Self.fixture("getCustomerPaymentProfileResponse")
        let paymentProfile = (template["paymentProfile"] ?? [:])
            .setting("customerProfileId", .string(profileId)).setting("customerPaymentProfileId", .string(paymentId))
            .setting("payment", ["creditCard": ["cardNumber": .string("XXXX" + entry.card.last4), "expirationDate": .string(expiry),
                                                "cardType": .string(entry.card.type), "issuerNumber": .string(String(entry.card.number.prefix(6)))]])
            .removing("billTo")
        return template.setting("paymentProfile", paymentProfile)
    }

    private func deletePaymentProfile(_ body: OrderedJSON) -> OrderedJSON {
        guard let profileId = body["customerProfileId"]?.text, var profile = profiles[profileId],
              let index = profile.paymentProfiles.firstIndex(where: { $0.id == body["customerPaymentProfileId"]?.text }) else {
            return Self.error("E00040", "The record cannot be found.")
        }
        profile.paymentProfiles.remove(at: index)
        profiles[profileId] = profile
        return Self.fixture("ok")
    }

    // MARK: Transactions

    private func transaction(_ body: OrderedJSON) -> (OrderedJSON, Duration?) {
        let request = body["transactionRequest"] ?? [:]
        let refId = body["refId"]
        switch request["transactionType"]?.text {
        case "authCaptureTransaction": return charge(request, refId: refId)
        case "refundTransaction": return (refund(request, refId: refId), nil)
        case "voidTransaction": return (void(request, refId: refId), nil)
        default: return (Self.error("E00003", "The element 'transactionType' is invalid."), nil)
        }
    }

    /// The response reason codes the 4222222222222 card can trigger: (response code, text).
    static let reasons: [Int: (Int, String)] = [
        2: (2, "This transaction has been declined."),
        3: (2, "This transaction has been declined."),
        4: (2, "This transaction has been declined."),
        8: (3, "The credit card has expired."),
        27: (2, "The transaction has been declined because of an AVS mismatch. The address provided does not match billing address of cardholder."),
        44: (2, "This transaction has been declined."),
        45: (2, "This transaction has been declined."),
        65: (2, "This transaction has been declined."),
        252: (4, "Your order has been received. Thank you for your business!"),
        253: (4, "Your order has been received. Thank you for your business!"),
    ]

    private func charge(_ request: OrderedJSON, refId: OrderedJSON?) -> (OrderedJSON, Duration?) {
        guard let profileId = request["profile"]?["customerProfileId"]?.text,
              let paymentId = request["profile"]?["paymentProfile"]?["paymentProfileId"]?.text,
              let card = profiles[profileId]?.paymentProfiles.first(where: { $0.id == paymentId })?.card else {
            return (Self.error("E00040", "Customer Profile ID or Customer Payment Profile ID not found."), nil)
        }
        guard let cents = request["amount"]?.text.flatMap(Self.cents), cents > 0 else {
            return (Self.transactionError(refId: refId, reason: 5, text: "A valid amount is required.", card: card, id: "0"), nil)
        }
        let invoice = request["order"]?["invoiceNumber"]?.text
        let now = Date()
        if transactions.values.contains(where: {
            $0.type == "authCaptureTransaction" && $0.paymentProfileId == paymentId && $0.cents == cents && $0.invoiceNumber == invoice
                && now.timeIntervalSince($0.submitted) < Self.window(request)
        }) {
            return (Self.transactionError(refId: refId, reason: 11, text: "A duplicate transaction has been submitted.", card: card, id: "0", code: 3), nil)
        }
        let (responseCode, text) = card.number == "4222222222222" ? (Self.reasons[Int(cents / 100)] ?? (1, "")) : (1, "")
        let reason = responseCode == 1 ? 1 : Int(cents / 100)
        let status = switch responseCode {
        case 1: "capturedPendingSettlement"
        case 4: "FDSPendingReview"
        case 2: "declined"
        default: "generalError"
        }
        let fields = request["userFields"]?["userField"]?.elements.compactMap { field in
            field["name"]?.text.flatMap { name in field["value"]?.text.map { (name, $0) } }
        } ?? []
        let id = newId()
        let authCode = responseCode == 1 ? String((0..<6).map { _ in "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789".randomElement()! }) : ""
        transactions[id] = Transaction(id: id, type: "authCaptureTransaction", cents: cents, status: status, responseCode: responseCode,
                                       reasonCode: reason, reasonText: responseCode == 1 ? "This transaction has been approved." : text,
                                       authCode: authCode, invoiceNumber: invoice, userFields: fields, paymentProfileId: paymentId, card: card,
                                       submitted: now, refTransId: nil, batchId: nil)
        let delay = card.number == Self.lateCard ? lateAnswer : nil
        if responseCode == 1 || responseCode == 4 {
            return (Self.approved(refId: refId, id: id, authCode: authCode, card: card, responseCode: responseCode, reason: reason,
                                  text: responseCode == 1 ? "This transaction has been approved." : text), delay)
        }
        return (Self.transactionError(refId: refId, reason: reason, text: text, card: card, id: id, code: responseCode), delay)
    }

    /// The request's duplicate window in seconds; Authorize.Net's default is two minutes.
    static func window(_ request: OrderedJSON) -> TimeInterval {
        request["transactionSettings"]?["setting"]?.elements
            .first { $0["settingName"]?.text == "duplicateWindow" }?["settingValue"]?.text.flatMap(Double.init) ?? 120
    }

    private func refund(_ request: OrderedJSON, refId: OrderedJSON?) -> OrderedJSON {
        guard let originalId = request["refTransId"]?.text, let original = transactions[originalId],
              request["payment"]?["creditCard"]?["cardNumber"]?.text == original.card.last4,
              original.status == "settledSuccessfully" else {
            let card = transactions[request["refTransId"]?.text ?? ""]?.card ?? Card(number: "0000", expMonth: 1, expYear: 2000)
            return Self.transactionError(refId: refId, reason: 54, text: "The referenced transaction does not meet the criteria for issuing a credit.",
                                         card: card, id: "0", code: 3)
        }
        guard let cents = request["amount"]?.text.flatMap(Self.cents), cents > 0 else {
            return Self.transactionError(refId: refId, reason: 5, text: "A valid amount is required.", card: original.card, id: "0", code: 3)
        }
        let invoice = request["order"]?["invoiceNumber"]?.text
        let now = Date()
        if transactions.values.contains(where: {
            $0.type == "refundTransaction" && $0.refTransId == originalId && $0.cents == cents && $0.invoiceNumber == invoice
                && now.timeIntervalSince($0.submitted) < Self.window(request)
        }) {
            return Self.transactionError(refId: refId, reason: 11, text: "A duplicate transaction has been submitted.", card: original.card, id: "0", code: 3)
        }
        let refunded = transactions.values.filter { $0.type == "refundTransaction" && $0.refTransId == originalId }.reduce(0) { $0 + $1.cents }
        guard refunded + cents <= original.cents else {
            return Self.transactionError(refId: refId, reason: 55, text: "The sum of credits against the referenced transaction would exceed original debit amount.",
                                         card: original.card, id: "0", code: 3)
        }
        let id = newId()
        transactions[id] = Transaction(id: id, type: "refundTransaction", cents: cents, status: "refundPendingSettlement", responseCode: 1, reasonCode: 1,
                                       reasonText: "This transaction has been approved.", authCode: "", invoiceNumber: invoice,
                                       userFields: [], paymentProfileId: original.paymentProfileId, card: original.card, submitted: now,
                                       refTransId: originalId, batchId: nil)
        return Self.approved(refId: refId, id: id, authCode: "", card: original.card, responseCode: 1, reason: 1, text: "This transaction has been approved.")
    }

    private func void(_ request: OrderedJSON, refId: OrderedJSON?) -> OrderedJSON {
        guard let id = request["refTransId"]?.text, var original = transactions[id] else {
            return Self.transactionError(refId: refId, reason: 16, text: "The transaction cannot be found.",
                                         card: Card(number: "0000", expMonth: 1, expYear: 2000), id: "0", code: 3)
        }
        if original.status == "voided" {
            return Self.approved(refId: refId, id: id, authCode: original.authCode, card: original.card, responseCode: 1, reason: 310,
                                 text: "This transaction has already been voided.")
        }
        guard original.batchId == nil else {
            // What the real gateway answers here was not in the reference material; the adapter
            // treats any refusal it does not know as rejected.
            return Self.transactionError(refId: refId, reason: 0, text: "The fake does not void settled transactions.", card: original.card, id: "0", code: 3)
        }
        original.status = "voided"
        transactions[id] = original
        return Self.approved(refId: refId, id: id, authCode: original.authCode, card: original.card, responseCode: 1, reason: 1,
                             text: "This transaction has been approved.")
    }

    private func details(_ body: OrderedJSON) -> OrderedJSON {
        guard let transaction = body["transId"]?.text.flatMap({ transactions[$0] }) else { return Self.error("E00040", "The record cannot be found.") }
        let template = Self.fixture("getTransactionDetailsResponse")
        var fields = (template["transaction"] ?? [:])
            .setting("transId", .string(transaction.id)).setting("submitTimeUTC", .string(Self.time(transaction.submitted) + "Z"))
            .setting("submitTimeLocal", .string(Self.time(transaction.submitted)))
            .setting("transactionType", .string(transaction.type)).setting("transactionStatus", .string(transaction.status))
            .setting("responseCode", .number(String(transaction.responseCode))).setting("responseReasonCode", .number(String(transaction.reasonCode)))
            .setting("responseReasonDescription", .string(transaction.reasonText)).setting("authCode", .string(transaction.authCode))
            .setting("order", .compact([("invoiceNumber", transaction.invoiceNumber.map { .string($0) }), ("description", "Payment portal")]))
            .setting("authAmount", .number(Self.decimal(transaction.cents)))
            .setting("settleAmount", .number(Self.decimal(transaction.status == "voided" || transaction.status == "declined" ? 0 : transaction.cents)))
            .setting("payment", ["creditCard": ["cardNumber": .string("XXXX" + transaction.card.last4), "expirationDate": "XXXX",
                                                "cardType": .string(transaction.card.type)]])
            .removing("customer")
        fields = transaction.batchId == nil ? fields.removing("batch")
            : fields.setting("batch", (fields["batch"] ?? [:]).setting("batchId", .string(transaction.batchId!)))
        if let original = transaction.refTransId { fields = fields.setting("refTransId", .string(original)) }
        if !transaction.userFields.isEmpty {
            fields = fields.setting("userFields", ["userField": .array(transaction.userFields.map { ["name": .string($0.0), "value": .string($0.1)] })])
        }
        return template.setting("transaction", fields)
    }

    private func list(_ rows: [Transaction], template name: String) -> OrderedJSON {
        let template = Self.fixture(name)
        guard !rows.isEmpty else { return Self.fixture("ok").setting("messages", Self.message("Ok", "I00004", "No records found.")) }
        let row = template["transactions"]?.elements.first ?? [:]
        let items = rows.sorted { $0.submitted > $1.submitted || ($0.submitted == $1.submitted && $0.id > $1.id) }.map { transaction in
            row.setting("transId", .string(transaction.id)).setting("submitTimeUTC", .string(Self.time(transaction.submitted) + "Z"))
                .setting("submitTimeLocal", .string(Self.time(transaction.submitted))).setting("transactionStatus", .string(transaction.status))
                .setting("invoiceNumber", transaction.invoiceNumber.map { .string($0) } ?? .null)
                .removing("firstName").removing("lastName")
                .setting("accountType", .string(transaction.card.type)).setting("accountNumber", .string("XXXX" + transaction.card.last4))
                .setting("settleAmount", .number(Self.decimal(transaction.cents)))
        }
        return template.setting("transactions", .array(items))
    }

    private func batchList(_ body: OrderedJSON) -> OrderedJSON {
        let first = body["firstSettlementDate"]?.text.flatMap(AuthorizeNetTime.parse) ?? .distantPast
        let last = body["lastSettlementDate"]?.text.flatMap(AuthorizeNetTime.parse) ?? .distantFuture
        let chosen = batches.filter { $0.settled >= first && $0.settled <= last.addingTimeInterval(1) }
        guard !chosen.isEmpty else { return Self.fixture("ok").setting("messages", Self.message("Ok", "I00004", "No records found.")) }
        let template = Self.fixture("getSettledBatchListResponse")
        let row = template["batchList"]?.elements.first ?? [:]
        return template.setting("batchList", .array(chosen.map { batch in
            row.setting("batchId", .string(batch.id)).setting("settlementTimeUTC", .string(Self.time(batch.settled) + "Z"))
                .setting("settlementTimeLocal", .string(Self.time(batch.settled)))
        }))
    }

    /// Authorize.Net settles once a day; tests call this to get there sooner.
    package func settle() {
        let batch = newId()
        batches.append((batch, Date()))
        for (id, var transaction) in transactions where transaction.batchId == nil {
            transaction.batchId = batch
            switch transaction.status {
            case "capturedPendingSettlement": transaction.status = "settledSuccessfully"
            case "refundPendingSettlement": transaction.status = "refundSettledSuccessfully"
            default: break
            }
            transactions[id] = transaction
        }
    }

    // MARK: Answers

    package static func fixture(_ name: String) -> OrderedJSON {
        guard let url = Bundle.module.url(forResource: name, withExtension: "json", subdirectory: "Fixtures/authorizenet"),
              let data = try? Data(contentsOf: url), let json = try? OrderedJSON.parse(data) else {
            fatalError("missing fixture \(name).json")
        }
        return json
    }

    static func message(_ result: String, _ code: String, _ text: String) -> OrderedJSON {
        ["resultCode": .string(result), "message": [["code": .string(code), "text": .string(text)]]]
    }

    static func error(_ code: String, _ text: String) -> OrderedJSON {
        fixture("error").setting("messages", message("Error", code, text))
    }

    static func approved(refId: OrderedJSON?, id: String, authCode: String, card: Card, responseCode: Int, reason: Int, text: String) -> OrderedJSON {
        let template = fixture("createTransactionResponse")
        let response = (template["transactionResponse"] ?? [:])
            .setting("responseCode", .string(String(responseCode))).setting("authCode", .string(authCode)).setting("transId", .string(id))
            .setting("accountNumber", .string("XXXX" + card.last4)).setting("accountType", .string(card.type))
            .setting("messages", [["code": .string(String(reason)), "description": .string(text)]])
        return template.setting("transactionResponse", response).setting("refId", refId ?? .null)
    }

    static func transactionError(refId: OrderedJSON?, reason: Int, text: String, card: Card, id: String, code: Int = 3) -> OrderedJSON {
        let template = fixture("createTransactionResponse-declined")
        let response = (template["transactionResponse"] ?? [:])
            .setting("responseCode", .string(String(code))).setting("transId", .string(id))
            .setting("accountNumber", .string("XXXX" + card.last4)).setting("accountType", .string(card.type))
            .setting("errors", [["errorCode": .string(String(reason)), "errorText": .string(text)]])
        return template.setting("transactionResponse", response).setting("refId", refId ?? .null)
    }

    private func newId() -> String {
        nextId += 1
        return String(nextId)
    }

    /// The fake's own reading of "19.99" as 1999 cents (USD), independent of the adapter's.
    static func cents(_ text: String) -> Int64? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count <= 2, let whole = Int64(parts[0]) else { return nil }
        let fraction = parts.count == 2 ? String(parts[1]) : ""
        guard fraction.count <= 2, fraction.allSatisfy(\.isNumber) else { return nil }
        return whole * 100 + (Int64(fraction.padding(toLength: 2, withPad: "0", startingAt: 0)) ?? 0)
    }

    static func decimal(_ cents: Int64) -> String {
        String(format: "%lld.%02lld", cents / 100, cents % 100)
    }

    static func time(_ date: Date) -> String { AuthorizeNetTime.text(date) }
}

extension OrderedJSON {
    /// The same object with `key` set to `value` (in place if present, else appended); `.null` removes it.
    package func setting(_ key: String, _ value: OrderedJSON) -> OrderedJSON {
        guard case .object(var members) = self else { return self }
        if value == .null { return removing(key) }
        if let index = members.firstIndex(where: { $0.key == key }) {
            members[index].value = value
        } else {
            members.append(Member(key: key, value: value))
        }
        return .object(members)
    }

    package func removing(_ key: String) -> OrderedJSON {
        guard case .object(let members) = self else { return self }
        return .object(members.filter { $0.key != key })
    }
}
