import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Logging
import PortalCore

/// Sends the sandbox's events (`charge.succeeded`, `charge.failed`, `charge.refunded`) to the
/// configured URL, signed like Stripe's, retrying a few times as real gateways do.
public struct SandboxWebhookSender: Sendable {
    let url: URL
    let signature: TimestampedSignature
    let logger: Logger
    let session: URLSession

    public init(url: URL, secret: String, logger: Logger) {
        self.url = url
        self.signature = SandboxWebhookSignature.make(secret: secret)
        self.logger = logger
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = 10
        session = URLSession(configuration: configuration)
    }

    /// Queues the event and returns at once; delivery happens in the background.
    func send(type: String, charge: SandboxCharge) {
        let body = Self.event(type: type, charge: charge, created: Date())
        let sender = self
        Task.detached {
            for attempt in 1...4 {
                if await sender.deliver(body) { return }
                try? await Task.sleep(for: .seconds(attempt * attempt))
            }
            sender.logger.warning("sandbox webhook not delivered", metadata: ["type": "\(type)"])
        }
    }

    /// An event's body: the charge as it stands after the change, with the key it was made with and
    /// its refunded total, so a receiver can find the payment and apply events in any order.
    public static func event(type: String, charge: SandboxCharge, id: String = "evt_" + RandomBytes.base64URL(count: 12),
                             created: Date) -> [UInt8] {
        let event: [String: Any] = [
            "id": id, "type": type, "created": Int(created.timeIntervalSince1970),
            "data": ["charge": charge.id, "status": charge.status.rawValue, "amount": charge.amount.minorUnits,
                     "currency": charge.amount.currency.code, "amount_refunded": charge.amountRefunded,
                     "idempotency_key": charge.idempotencyKey],
        ]
        // Plain strings and integers always serialise.
        return Array((try? JSONSerialization.data(withJSONObject: event, options: [.sortedKeys])) ?? Data())
    }

    private func deliver(_ body: [UInt8]) async -> Bool {
        var request = URLRequest(url: url)
        request.httpMethod = "POST"
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.setValue(signature.sign(body: body, at: Date()), forHTTPHeaderField: SandboxWebhookSignature.header)
        request.httpBody = Data(body)
        guard let (_, response) = try? await session.data(for: request) else { return false }
        return ((response as? HTTPURLResponse)?.statusCode ?? 0) / 100 == 2
    }
}
