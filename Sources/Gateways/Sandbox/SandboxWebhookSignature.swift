import Crypto
import Foundation
import PortalCore

/// `<Header>: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>` — Stripe's scheme,
/// which the sandbox copies: the timestamp is signed, so an old event cannot be replayed.
public struct TimestampedSignature: Sendable {
    public let header: String
    let key: SymmetricKey
    public var tolerance: TimeInterval = TimestampedSignature.defaultTolerance
    /// How far an event's signed time may be from ours: Stripe's own default, which every adapter uses.
    public static let defaultTolerance: TimeInterval = 300

    public init(header: String, secret: String) {
        self.header = header
        key = SymmetricKey(data: Array(secret.utf8))
    }
}

/// The sandbox's events carry `Sandbox-Signature`.
public enum SandboxWebhookSignature {
    public static let header = "Sandbox-Signature"
    public static func make(secret: String) -> TimestampedSignature { TimestampedSignature(header: header, secret: secret) }
}

extension TimestampedSignature {

    public func sign(body: [UInt8], at date: Date) -> String {
        let timestamp = Int64(date.timeIntervalSince1970)
        return "t=\(timestamp),v1=\(mac(timestamp: timestamp, body: body))"
    }

    /// Checks the signature on the raw body; refuses a forged or stale one.
    public func verify(header value: String?, body: [UInt8], now: Date) throws {
        guard let value else { throw PaymentGatewayError.invalidWebhookSignature }
        var timestamp: Int64?
        var signatures: [String] = []
        for part in value.split(separator: ",") {
            let kv = part.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard kv.count == 2 else { continue }
            if kv[0] == "t" { timestamp = Int64(kv[1]) }
            if kv[0] == "v1" { signatures.append(kv[1]) }
        }
        guard let timestamp, !signatures.isEmpty else { throw PaymentGatewayError.invalidWebhookSignature }
        let expected = Array(mac(timestamp: timestamp, body: body).utf8)
        guard signatures.contains(where: { constantTimeEquals(Array($0.utf8), expected) }) else {
            throw PaymentGatewayError.invalidWebhookSignature
        }
        guard abs(now.timeIntervalSince1970 - TimeInterval(timestamp)) <= tolerance else { throw PaymentGatewayError.staleWebhook }
    }

    private func mac(timestamp: Int64, body: [UInt8]) -> String {
        Array(HMAC<SHA256>.authenticationCode(for: Array("\(timestamp).".utf8) + body, using: key)).hexString
    }
}
