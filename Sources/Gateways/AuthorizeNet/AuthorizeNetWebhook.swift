import Crypto
import Foundation
import PortalCore

/// `X-ANET-Signature: sha512=<HEX>`, the HMAC-SHA512 of the raw body keyed by the merchant's
/// Signature Key. The key is used as the text it is shown as (its ASCII bytes), not hex-decoded:
/// Authorize.Net's documentation does not say which, and the published vector that settles it (the
/// 2017 developer-community thread "HMAC SHA-512 hash not matching in webhook callback") verifies
/// only with the text; the test suite carries that vector. Hex digits compare case-insensitively,
/// since Authorize.Net sends upper case.
///
/// The body is not timestamped in a header, so staleness is judged by the signed `eventDate`,
/// with the tolerance the other adapters use.
struct AuthorizeNetWebhookSignature: Sendable {
    static let header = "X-ANET-Signature"
    let key: SymmetricKey
    var tolerance: TimeInterval = TimestampedSignature.defaultTolerance

    init(signatureKey: String) {
        key = SymmetricKey(data: Array(signatureKey.utf8))
    }

    func sign(body: [UInt8]) -> String {
        "sha512=" + Array(HMAC<SHA512>.authenticationCode(for: body, using: key)).hexString.uppercased()
    }

    func event(headers: [String: String], body: [UInt8], now: Date) throws -> GatewayWebhookEvent {
        let value = headers.first { $0.key.lowercased() == Self.header.lowercased() }?.value ?? ""
        guard value.lowercased().hasPrefix("sha512=") else { throw PaymentGatewayError.invalidWebhookSignature }
        let sent = Array(value.dropFirst("sha512=".count).trimmingCharacters(in: .whitespaces).uppercased().utf8)
        guard constantTimeEquals(sent, Array(sign(body: body).dropFirst("sha512=".count).utf8)) else {
            throw PaymentGatewayError.invalidWebhookSignature
        }
        guard let event = try? OrderedJSON.parse(body), let id = event["notificationId"]?.text,
              let type = event["eventType"]?.text, let date = event["eventDate"]?.text.flatMap(AuthorizeNetTime.parse) else {
            throw PaymentGatewayError.rejected(code: "webhook_malformed", message: "Webhook body is not an Authorize.Net notification.")
        }
        guard abs(now.timeIntervalSince(date)) <= tolerance else { throw PaymentGatewayError.staleWebhook }
        let payload = event["payload"]
        return GatewayWebhookEvent(id: id, kind: Self.kind(type, responseCode: payload?["responseCode"]?.text),
                                   transactionId: payload?["entityName"]?.text == "transaction" ? payload?["id"]?.text : nil,
                                   occurredAt: date)
    }

    /// Payment events in the portal's terms. Authorize.Net also notifies declined charges as
    /// `authcapture.created` (with responseCode 2), so the payload's code decides success.
    static func kind(_ type: String, responseCode: String?) -> GatewayWebhookEvent.Kind {
        switch type {
        case "net.authorize.payment.authcapture.created", "net.authorize.payment.capture.created",
             "net.authorize.payment.priorAuthCapture.created":
            responseCode == nil || responseCode == "1" ? .chargeSucceeded : .chargeFailed
        case "net.authorize.payment.fraud.approved": .chargeSucceeded
        case "net.authorize.payment.fraud.declined": .chargeFailed
        case "net.authorize.payment.refund.created": .chargeRefunded
        // void.created, fraud.held, authorization.created and customer/subscription events: the
        // portal re-reads the transaction rather than acting on them.
        default: .other
        }
    }
}

/// Authorize.Net's timestamps: `2017-03-29T20:48:02.0080095Z` in events (any number of fractional
/// digits, which ISO8601DateFormatter does not take) and `2015-01-01T08:15:30` (UTC) in requests.
package enum AuthorizeNetTime {
    package static func parse(_ text: String) -> Date? {
        let scalars = Array(text.utf8)
        guard scalars.count >= 19 else { return nil }
        func number(_ range: Range<Int>) -> Int? { Int(String(decoding: scalars[range], as: UTF8.self)) }
        guard let year = number(0..<4), let month = number(5..<7), let day = number(8..<10),
              let hour = number(11..<13), let minute = number(14..<16), let second = number(17..<19) else { return nil }
        var rest = scalars[19...]
        if rest.first == UInt8(ascii: ".") {
            rest = rest.dropFirst().drop(while: { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) })
        }
        var offset = 0
        switch rest.first {
        case nil, UInt8(ascii: "Z"): guard rest.count <= 1 else { return nil }
        case UInt8(ascii: "+"), UInt8(ascii: "-"):
            let zone = Array(rest)
            guard zone.count == 6, let hours = Int(String(decoding: zone[1..<3], as: UTF8.self)),
                  let minutes = Int(String(decoding: zone[4..<6], as: UTF8.self)) else { return nil }
            offset = (hours * 3600 + minutes * 60) * (zone[0] == UInt8(ascii: "-") ? -1 : 1)
        default: return nil
        }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        guard let date = calendar.date(from: DateComponents(year: year, month: month, day: day, hour: hour, minute: minute, second: second)) else {
            return nil
        }
        return date.addingTimeInterval(TimeInterval(-offset))
    }

    package static func text(_ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        return String(format: "%04d-%02d-%02dT%02d:%02d:%02d", c.year ?? 0, c.month ?? 0, c.day ?? 0, c.hour ?? 0, c.minute ?? 0, c.second ?? 0)
    }
}
