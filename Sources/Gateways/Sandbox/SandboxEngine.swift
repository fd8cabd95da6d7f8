import Crypto
import Foundation
import GRDB
import PortalCore

/// Card details as typed into the sandbox's hosted fields. Exists only inside the sandbox while a
/// token is made; never stored, never logged.
public struct SandboxCardInput: Sendable {
    public var number: String
    public var expMonth: Int
    public var expYear: Int
    public var cvc: String
    public var postalCode: String?

    public init(number: String, expMonth: Int, expYear: Int, cvc: String, postalCode: String? = nil) {
        self.number = number
        self.expMonth = expMonth
        self.expYear = expYear
        self.cvc = cvc
        self.postalCode = postalCode
    }
}

/// Why the hosted fields refused a card, in the words a real gateway uses.
public enum SandboxCardError: Error, Equatable, Sendable {
    case invalidNumber
    case invalidExpiry
    case expired
    case invalidCVC

    public var message: String {
        switch self {
        case .invalidNumber: "Your card number is invalid."
        case .invalidExpiry: "Your card's expiration date is invalid."
        case .expired: "Your card's expiration date is in the past."
        case .invalidCVC: "Your card's security code is invalid."
        }
    }
}

public struct SandboxCharge: Sendable, Equatable {
    public var id: String
    public var status: GatewayTransactionStatus
    public var amount: Money
    public var declineCode: String?
    public var message: String?
    public var retryable: Bool
    public var authorizationCode: String?
    public var clientSecret: String?
    public var amountRefunded: Int64
    /// The caller's key the charge was made with; the sandbox's events name it.
    public var idempotencyKey: String
}

/// The sandbox gateway's behaviour, independent of HTTP: tokenising cards typed into its hosted
/// fields, customers, vaulted methods, idempotent charges, refunds, voids and lookups. Its HTTP
/// server and the portal's adapter sit on top of this.
public struct SandboxEngine: Sendable {
    let db: any DatabaseWriter
    let clock: PortalClock
    /// Keys the card fingerprint, so equal numbers match without the number being kept.
    let fingerprintKey: SymmetricKey

    public init(db: any DatabaseWriter, clock: PortalClock, fingerprintSecret: String) throws {
        self.db = db
        self.clock = clock
        self.fingerprintKey = SymmetricKey(data: Array(fingerprintSecret.utf8))
        try db.write { try SandboxSchema.create($0) }
    }

    // MARK: Hosted fields

    /// Validates a card as a real gateway's fields would and returns a single-use token.
    public func tokenize(_ card: SandboxCardInput) throws -> (token: String, brand: String, last4: String) {
        let digits = card.number.compactMap { $0.wholeNumberValue }
        let cleaned = card.number.filter { $0 != " " && $0 != "-" }
        guard cleaned.allSatisfy(\.isNumber), (13...19).contains(digits.count), SandboxTestCards.luhnValid(digits) else {
            throw SandboxCardError.invalidNumber
        }
        guard (1...12).contains(card.expMonth), (2000...2100).contains(card.expYear) else { throw SandboxCardError.invalidExpiry }
        let today = CalendarDate(clock.now()).iso.split(separator: "-").compactMap { Int($0) }
        if card.expYear < today[0] || (card.expYear == today[0] && card.expMonth < today[1]) { throw SandboxCardError.expired }
        let brand = SandboxTestCards.brand(for: cleaned)
        let cvcLength = brand == "amex" ? 4 : 3
        guard card.cvc.count == cvcLength, card.cvc.allSatisfy(\.isNumber) else { throw SandboxCardError.invalidCVC }

        let token = "tok_" + RandomBytes.base64URL(count: 18)
        let last4 = String(cleaned.suffix(4))
        let fingerprint = Array(HMAC<SHA256>.authenticationCode(for: Array(cleaned.utf8), using: fingerprintKey)).hexString.prefix(32)
        let now = clock.nowSeconds()
        try db.write { db in
            try db.execute(sql: """
                INSERT INTO tokens (id, brand, last4, exp_month, exp_year, fingerprint, scenario, postal_code, created_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [token, brand, last4, card.expMonth, card.expYear, String(fingerprint),
                                 SandboxTestCards.scenario(for: cleaned).rawValue, card.postalCode, now])
        }
        return (token, brand, last4)
    }

    // MARK: Server API

    public func createCustomer(reference: String, email: String?, name: String) throws -> String {
        let id = "cus_" + RandomBytes.base64URL(count: 12)
        try db.write { db in
            try db.execute(sql: "INSERT INTO customers (id, reference, email, name, created_at) VALUES (?, ?, ?, ?, ?)",
                           arguments: [id, reference, email, name, clock.nowSeconds()])
        }
        return id
    }

    public func customerExists(_ id: String) throws -> Bool {
        try db.read { try Bool.fetchOne($0, sql: "SELECT 1 FROM customers WHERE id = ?", arguments: [id]) ?? false }
    }

    /// Vaults a single-use token on a customer. Tokens expire after 15 minutes and work once.
    public func attach(token: String, to customerId: String) throws -> SavedMethodDetails {
        let now = clock.nowSeconds()
        return try db.write { db in
            guard try Bool.fetchOne(db, sql: "SELECT 1 FROM customers WHERE id = ?", arguments: [customerId]) == true else {
                throw PaymentGatewayError.rejected(code: "resource_missing", message: "No such customer.")
            }
            guard let row = try Row.fetchOne(db, sql: "SELECT * FROM tokens WHERE id = ? AND used_at IS NULL AND created_at > ?",
                                             arguments: [token, now - 900]) else {
                throw PaymentGatewayError.rejected(code: "token_invalid", message: "The card token is invalid, expired or already used.")
            }
            try db.execute(sql: "UPDATE tokens SET used_at = ? WHERE id = ?", arguments: [now, token])
            let method = "pm_" + RandomBytes.base64URL(count: 12)
            try db.execute(sql: """
                INSERT INTO methods (id, customer_id, brand, last4, exp_month, exp_year, fingerprint, scenario, created_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [method, customerId, row["brand"] as String, row["last4"] as String, row["exp_month"] as Int,
                                 row["exp_year"] as Int, row["fingerprint"] as String, row["scenario"] as String, now])
            return SavedMethodDetails(gatewayMethodId: method, brand: row["brand"], last4: row["last4"], expMonth: row["exp_month"],
                                      expYear: row["exp_year"], fingerprint: row["fingerprint"])
        }
    }

    public func detach(methodId: String, customerId: String) throws {
        try db.write { db in
            try db.execute(sql: "UPDATE methods SET detached_at = ? WHERE id = ? AND customer_id = ? AND detached_at IS NULL",
                           arguments: [clock.nowSeconds(), methodId, customerId])
            guard db.changesCount == 1 else { throw PaymentGatewayError.notFound }
        }
    }

    /// Charges a vaulted method. The same idempotency key with the same parameters returns the first
    /// result; with other parameters it is refused. `respondLate` tells the HTTP layer to answer
    /// after the caller's timeout (the `timeout` test card): the charge happened, the reply is lost.
    public func charge(_ request: GatewayChargeRequest) throws -> (charge: SandboxCharge, respondLate: Bool) {
        guard request.amount.minorUnits > 0 else {
            throw PaymentGatewayError.rejected(code: "amount_invalid", message: "Amount must be a positive integer of minor units.")
        }
        let hash = Self.requestHash(request)
        let now = clock.nowSeconds()
        return try db.write { db in
            if let existing = try Row.fetchOne(db, sql: "SELECT * FROM charges WHERE idempotency_key = ?", arguments: [request.idempotencyKey]) {
                guard (existing["request_hash"] as String) == hash else { throw PaymentGatewayError.idempotencyConflict }
                return (Self.charge(from: existing), false)
            }
            guard let method = try Row.fetchOne(db, sql: """
                SELECT * FROM methods WHERE id = ? AND customer_id = ? AND detached_at IS NULL
                """, arguments: [request.methodId, request.customerId]) else {
                throw PaymentGatewayError.rejected(code: "resource_missing", message: "No such payment method for this customer.")
            }
            let scenario = SandboxScenario(rawValue: method["scenario"]) ?? .success
            let id = "ch_" + RandomBytes.base64URL(count: 12)
            var status = GatewayTransactionStatus.succeeded
            var decline: (code: String, message: String, retryable: Bool)?
            var authCode: String?
            var clientSecret: String?
            switch scenario {
            case .success, .timeout:
                authCode = Self.authorizationCode()
            case .authenticationRequired:
                status = .requiresAction
                clientSecret = id + "_secret_" + RandomBytes.base64URL(count: 12)
            default:
                status = .declined
                decline = scenario.decline
            }
            let metadata = String(decoding: (try? JSONSerialization.data(withJSONObject: request.metadata, options: [.sortedKeys])) ?? Data("{}".utf8), as: UTF8.self)
            try db.execute(sql: """
                INSERT INTO charges (id, idempotency_key, request_hash, customer_id, method_id, amount, currency, status, decline_code,
                    message, retryable, authorization_code, client_secret, metadata, created_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [id, request.idempotencyKey, hash, request.customerId, request.methodId, request.amount.minorUnits,
                                 request.amount.currency.code, status.rawValue, decline?.code, decline?.message, decline?.retryable ?? false,
                                 authCode, clientSecret, metadata, now])
            let row = try Row.fetchOne(db, sql: "SELECT * FROM charges WHERE id = ?", arguments: [id])!
            return (Self.charge(from: row), scenario == .timeout)
        }
    }

    /// The customer finished 3-D Secure in the browser.
    public func confirmAuthentication(chargeId: String, clientSecret: String) throws -> SandboxCharge {
        try db.write { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT * FROM charges WHERE id = ?", arguments: [chargeId]),
                  let secret = row["client_secret"] as String?, constantTimeEquals(Array(secret.utf8), Array(clientSecret.utf8)) else {
                throw PaymentGatewayError.notFound
            }
            if (row["status"] as String) == GatewayTransactionStatus.requiresAction.rawValue {
                let auth = Self.authorizationCode()
                try db.execute(sql: "UPDATE charges SET status = 'succeeded', authorization_code = ? WHERE id = ?", arguments: [auth, chargeId])
            }
            return Self.charge(from: try Row.fetchOne(db, sql: "SELECT * FROM charges WHERE id = ?", arguments: [chargeId])!)
        }
    }

    public func refund(chargeId: String, amount: Int64, idempotencyKey: String) throws -> GatewayRefund {
        let now = clock.nowSeconds()
        return try db.write { db in
            if let existing = try Row.fetchOne(db, sql: "SELECT * FROM refunds WHERE idempotency_key = ?", arguments: [idempotencyKey]) {
                guard (existing["charge_id"] as String) == chargeId, (existing["amount"] as Int64) == amount else {
                    throw PaymentGatewayError.idempotencyConflict
                }
                let currency: String = try String.fetchOne(db, sql: "SELECT currency FROM charges WHERE id = ?", arguments: [chargeId]) ?? "XXX"
                return GatewayRefund(refundId: existing["id"], amount: Money(amount, CurrencyCode(currency)!))
            }
            guard let charge = try Row.fetchOne(db, sql: "SELECT * FROM charges WHERE id = ?", arguments: [chargeId]) else {
                throw PaymentGatewayError.notFound
            }
            let status: String = charge["status"]
            let remaining = (charge["amount"] as Int64) - (charge["amount_refunded"] as Int64)
            guard ["succeeded", "partially_refunded"].contains(status) else {
                throw PaymentGatewayError.rejected(code: "charge_not_refundable", message: "This charge cannot be refunded (\(status)).")
            }
            guard amount > 0, amount <= remaining else {
                throw PaymentGatewayError.rejected(code: "amount_too_large", message: "Refund amount exceeds what remains on the charge.")
            }
            let id = "re_" + RandomBytes.base64URL(count: 12)
            try db.execute(sql: "INSERT INTO refunds (id, charge_id, amount, idempotency_key, created_at) VALUES (?, ?, ?, ?, ?)",
                           arguments: [id, chargeId, amount, idempotencyKey, now])
            let newStatus = amount == remaining ? "refunded" : "partially_refunded"
            try db.execute(sql: "UPDATE charges SET amount_refunded = amount_refunded + ?, status = ? WHERE id = ?",
                           arguments: [amount, newStatus, chargeId])
            return GatewayRefund(refundId: id, amount: Money(amount, CurrencyCode(charge["currency"])!))
        }
    }

    /// Cancels a charge that has not been refunded; repeating it is harmless.
    public func void(chargeId: String, idempotencyKey: String) throws {
        try db.write { db in
            guard let charge = try Row.fetchOne(db, sql: "SELECT * FROM charges WHERE id = ?", arguments: [chargeId]) else {
                throw PaymentGatewayError.notFound
            }
            let status: String = charge["status"]
            if status == "voided" { return }
            guard status == "succeeded" || status == "requires_action" else {
                throw PaymentGatewayError.rejected(code: "charge_not_voidable", message: "This charge cannot be voided (\(status)).")
            }
            try db.execute(sql: "INSERT INTO voids (charge_id, idempotency_key, created_at) VALUES (?, ?, ?)",
                           arguments: [chargeId, idempotencyKey, clock.nowSeconds()])
            try db.execute(sql: "UPDATE charges SET status = 'voided' WHERE id = ?", arguments: [chargeId])
        }
    }

    public func charge(id: String) throws -> SandboxCharge? {
        try db.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM charges WHERE id = ?", arguments: [id]).map(Self.charge(from:))
        }
    }

    public func charge(idempotencyKey: String) throws -> SandboxCharge? {
        try db.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM charges WHERE idempotency_key = ?", arguments: [idempotencyKey]).map(Self.charge(from:))
        }
    }

    /// Six upper-case letters and digits, like an issuer's approval code.
    static func authorizationCode() -> String {
        let alphabet = Array("ABCDEFGHJKLMNPQRSTUVWXYZ23456789")
        var generator = SystemRandomNumberGenerator()
        return String((0..<6).map { _ in alphabet[Int.random(in: 0..<alphabet.count, using: &generator)] })
    }

    static func charge(from row: Row) -> SandboxCharge {
        SandboxCharge(id: row["id"], status: GatewayTransactionStatus(rawValue: row["status"]) ?? .processing,
                      amount: Money(row["amount"], CurrencyCode(row["currency"])!), declineCode: row["decline_code"],
                      message: row["message"], retryable: row["retryable"], authorizationCode: row["authorization_code"],
                      clientSecret: row["client_secret"], amountRefunded: row["amount_refunded"], idempotencyKey: row["idempotency_key"])
    }

    /// What makes two charge requests "the same" for idempotency.
    static func requestHash(_ r: GatewayChargeRequest) -> String {
        let text = [r.customerId, r.methodId, String(r.amount.minorUnits), r.amount.currency.code].joined(separator: "|")
        return SHA256.hash(data: Array(text.utf8)).hexString
    }
}
