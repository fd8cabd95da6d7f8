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
        let event: [String: Any] = [
            "id": "evt_" + RandomBytes.base64URL(count: 12), "type": type, "created": Int(Date().timeIntervalSince1970),
            "data": ["charge": charge.id, "status": charge.status.rawValue, "amount": charge.amount.minorUnits,
                     "currency": charge.amount.currency.code],
        ]
        guard let body = try? JSONSerialization.data(withJSONObject: event, options: [.sortedKeys]) else { return }
        let sender = self
        Task.detached {
            for attempt in 1...4 {
                if await sender.deliver(Array(body)) { return }
                try? await Task.sleep(for: .seconds(attempt * attempt))
            }
            sender.logger.warning("sandbox webhook not delivered", metadata: ["type": "\(type)"])
        }
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
