import Foundation
import HTTPTypes
import Hummingbird
import PortalCore

/// `POST /api/v1/payment-links` for Creatio's processes: `{"invoiceId": "…"}` → `{"url": …, "expiresAt": …}`.
/// Registered ahead of the session and CSRF middleware: the bearer API key is the authentication,
/// so no session or cookie is ever made, and every answer (errors too) is JSON.
struct PaymentLinksAPIController {
    let services: PortalServices

    func register(on router: Router<PortalRequestContext>) {
        router.post(RouterPath(stringLiteral: SitePath.apiPaymentLinks), use: create)
    }

    struct CreateRequest: Decodable {
        var invoiceId: String
    }

    struct Created: Encodable {
        var url: String
        var expiresAt: String
        var invoiceId: String
    }

    struct Failure: Encodable {
        struct Detail: Encodable {
            var code: String
            var message: String
        }
        var error: Detail
    }

    @Sendable func create(_ request: Request, context: PortalRequestContext) async throws -> Response {
        do {
            return try await answer(request, context: context)
        } catch {
            // Every answer is JSON, a failure of the portal's own too (it is logged, never shown).
            context.logger.error("payment-link API request failed", metadata: ["error": "\(error)"])
            return Self.internalError
        }
    }

    static var internalError: Response {
        json(.internalServerError, Failure(error: .init(code: "internal_error",
            message: "The portal could not handle this request. Try again; if it keeps failing, tell the portal's operators.")))
    }

    private func answer(_ request: Request, context: PortalRequestContext) async throws -> Response {
        let key: ApiKey
        do {
            key = try await services.apiKeys.authenticate(bearer: Self.bearer(request), scope: ApiKeyService.paymentLinksScope)
        } catch let error as ApiKeyError {
            return Self.failure(error)
        }
        let input: CreateRequest
        var request = request
        do {
            let body = try await request.collectBody(upTo: 16 * 1024)
            input = try JSONDecoder().decode(CreateRequest.self, from: Data(body.readableBytesView))
        } catch {
            return Self.json(.badRequest, Failure(error: .init(code: "bad_request",
                message: "The body must be JSON like {\"invoiceId\": \"<CRM Invoice.Id or portal invoice id>\"}, at most 16 KB.")))
        }
        let invoiceId = input.invoiceId.trimmingCharacters(in: .whitespaces)
        guard !invoiceId.isEmpty, invoiceId.count <= 100 else {
            return Self.json(.badRequest, Failure(error: .init(code: "bad_request", message: "invoiceId must be a non-empty id of at most 100 characters.")))
        }
        let actor = AuditEvent(action: "", actorKind: .system, actorId: key.id, actorLabel: "api key \(key.name)",
                               clientAddress: context.client.address)
        do {
            let link = try await services.paymentLinks.issue(invoiceId: invoiceId, actor: actor)
            return Self.json(link.reused ? .ok : .created, Created(url: link.url, expiresAt: ISOTime.string(link.expiresAt), invoiceId: link.invoiceId))
        } catch let error as PaymentLinkError {
            switch error {
            case .invoiceNotFound:
                return Self.json(.notFound, Failure(error: .init(code: "invoice_not_found", message: ErrorMessages.paymentLinkIssue(error))))
            case .invoiceNotPayable:
                return Self.json(.conflict, Failure(error: .init(code: "invoice_not_payable", message: ErrorMessages.paymentLinkIssue(error))))
            default:
                // The signing key or the caller's rights: the portal's side, not the invoice's.
                throw error
            }
        }
    }

    static func bearer(_ request: Request) -> String? {
        guard let header = request.headers[.authorization], header.count > 7, header.prefix(7).lowercased() == "bearer " else { return nil }
        return String(header.dropFirst(7)).trimmingCharacters(in: .whitespaces)
    }

    static func failure(_ error: ApiKeyError) -> Response {
        let message = ErrorMessages.apiKey(error)
        switch error {
        case .rateLimited(let seconds):
            var response = json(.tooManyRequests, Failure(error: .init(code: "rate_limited", message: message)))
            response.headers[.retryAfter] = String(max(1, seconds))
            return response
        case .wrongScope:
            return json(.forbidden, Failure(error: .init(code: "forbidden", message: message)))
        case .unauthenticated, .invalidName, .invalidScope, .notFound:
            var response = json(.unauthorized, Failure(error: .init(code: "unauthorized", message: message)))
            response.headers[.wwwAuthenticate] = "Bearer"
            return response
        }
    }

    static func json(_ status: HTTPResponse.Status, _ value: some Encodable) -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data = (try? encoder.encode(value)) ?? Data("{}".utf8)
        return Response(status: status, headers: [.contentType: "application/json; charset=utf-8", .cacheControl: "no-store"],
                        body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}
