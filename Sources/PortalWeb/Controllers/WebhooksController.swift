import Foundation
import Hummingbird
import PortalCore

/// `POST /webhooks/{gateway}`: a gateway's signed events. Registered ahead of the session and CSRF
/// middleware (a gateway has neither); the signature over the raw body is the authentication.
/// Answers as soon as the event is stored, since gateways retry slow answers; the worker applies it.
struct WebhooksController {
    let webhooks: WebhookProcessor

    /// Gateway events are small; Stripe's largest are a few tens of kilobytes.
    static let maxBody = 256 * 1024

    func register(on router: Router<PortalRequestContext>) {
        router.post(RouterPath(stringLiteral: SitePath.webhooks + "/{gateway}"), use: receive)
    }

    @Sendable func receive(_ request: Request, context: PortalRequestContext) async throws -> Response {
        var request = request
        let body = try await request.collectBody(upTo: Self.maxBody)
        var headers: [String: String] = [:]
        for field in request.headers { headers[field.name.canonicalName] = field.value }
        do {
            _ = try await webhooks.receive(gatewayName: context.parameters.get("gateway") ?? "", headers: headers,
                                           body: Array(body.readableBytesView))
            return Self.json(.ok, ["received": true])
        } catch let error as WebhookError {
            // Never the body or headers: they are the sender's, and a forgery's.
            context.logger.warning("webhook refused", metadata: ["reason": "\(error)"])
            return Self.json(error == .unknownGateway ? .notFound : .badRequest, ["error": ErrorMessages.webhook(error)])
        }
    }

    static func json(_ status: HTTPResponse.Status, _ object: [String: Any]) -> Response {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
        return Response(status: status, headers: [.contentType: "application/json", .cacheControl: "no-store"],
                        body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}
