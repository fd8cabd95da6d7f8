import Crypto
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import PortalCore

/// Authorize.Net's JSON API: one endpoint, every call a `{"<name>Request": {...}}` object whose first
/// member is `merchantAuthentication`, every answer a UTF-8 BOM and then JSON with
/// `messages {resultCode, message[{code, text}]}`. HTTP status is 200 for errors too.
struct AuthorizeNetAPI: Sendable {
    let endpoint: URL
    let loginID: String
    let transactionKey: String
    let transport: GatewayTransport

    /// One answer. `ok` is `messages.resultCode == "Ok"`; `code`/`text` are the first message's.
    struct Answer: Sendable {
        var body: OrderedJSON
        var ok: Bool { body["messages"]?["resultCode"]?.text == "Ok" }
        var code: String { body["messages"]?["message"]?.elements.first?["code"]?.text ?? "" }
        var text: String { body["messages"]?["message"]?.elements.first?["text"]?.text ?? "" }

        subscript(key: String) -> OrderedJSON? { body[key] }

        /// The request was refused as a whole (not a declined transaction, which carries its own codes).
        var failure: PaymentGatewayError {
            switch code {
            // "The record cannot be found."
            case "E00040": .notFound
            default: .rejected(code: code.isEmpty ? "authorizenet_error" : code, message: text.isEmpty ? "Authorize.Net refused the request." : text)
            }
        }
    }

    /// `members` follow `merchantAuthentication`, in the schema's order.
    func call(_ name: String, _ members: [(String, OrderedJSON?)]) async throws -> Answer {
        let authentication: OrderedJSON = ["name": .string(loginID), "transactionKey": .string(transactionKey)]
        let body: OrderedJSON = .object([OrderedJSON.Member(key: name, value: .compact([("merchantAuthentication", authentication)] + members))])
        var request = URLRequest(url: endpoint)
        request.httpMethod = "POST"
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.httpBody = Data(body.serialized())
        let (status, data) = try await transport.send(request)
        guard status == 200 else {
            throw status >= 500 || status == 0 ? PaymentGatewayError.unavailable("Authorize.Net answered \(status)")
                                               : PaymentGatewayError.rejected(code: "http_\(status)", message: "Authorize.Net answered \(status).")
        }
        do {
            return Answer(body: try OrderedJSON.parse(data))
        } catch {
            // Something answered, but not Authorize.Net's JSON: whatever was asked may or may not have happened.
            throw PaymentGatewayError.unavailable("Authorize.Net's answer was not JSON")
        }
    }
}

/// Values Authorize.Net limits that we derive from longer ones of ours.
enum AuthorizeNetReference {
    /// `refId`, `order.invoiceNumber` and `merchantCustomerId` hold at most 20 characters, and our
    /// idempotency keys and account ids are longer. The stand-in is the first 20 base32 characters
    /// (100 bits) of SHA-256 of the value: stable, so a repeat carries the same reference, and far too
    /// wide to collide between two keys of one merchant. The full key also travels in a user field.
    static func make(_ value: String) -> String {
        String(Base32.encode(Array(SHA256.hash(data: Array(value.utf8)))).prefix(20)).lowercased()
    }
}

/// Amounts as Authorize.Net writes them: decimal text in the currency's major unit.
enum AuthorizeNetAmount {
    /// "19.99" from 1999 cents, digit by digit from the integer minor units.
    static func text(_ money: Money) -> String { money.plain }

    /// 1999 cents from "19.99" (or "19.9", "19.990", "20"); nil for anything that is not a plain
    /// decimal in that currency, such as more non-zero decimals than it has.
    static func money(_ literal: String, _ currency: CurrencyCode) -> Money? {
        var text = Substring(literal)
        let negative = text.hasPrefix("-")
        if negative { text = text.dropFirst() }
        let parts = text.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        guard let whole = parts.first, !whole.isEmpty, whole.allSatisfy(\.isASCIIDigitCharacter) else { return nil }
        var fraction = parts.count > 1 ? String(parts[1]) : ""
        guard fraction.allSatisfy(\.isASCIIDigitCharacter) else { return nil }
        let digits = currency.minorDigits
        while fraction.count > digits, fraction.hasSuffix("0") { fraction.removeLast() }
        guard fraction.count <= digits else { return nil }
        fraction += String(repeating: "0", count: digits - fraction.count)
        guard let units = Int64(whole + fraction) else { return nil }
        return Money(negative ? -units : units, currency)
    }
}

private extension Character {
    var isASCIIDigitCharacter: Bool { isASCII && isNumber }
}
