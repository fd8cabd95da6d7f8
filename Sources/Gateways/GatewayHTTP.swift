import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import PortalCore

/// The HTTP plumbing the bearer-key adapters (sandbox, Stripe) share: a bearer key, an optional
/// `Idempotency-Key`, JSON answers, and one mapping of error statuses to `PaymentGatewayError`,
/// over the transport every adapter uses.
struct GatewayHTTP: Sendable {
    enum Body {
        case json([String: Any])
        case form([(String, String)])
    }

    let apiBase: URL
    let secretKey: String
    let transport: GatewayTransport

    init(apiBase: URL, secretKey: String, timeout: TimeInterval) {
        self.apiBase = apiBase
        self.secretKey = secretKey
        transport = GatewayTransport(timeout: timeout)
    }

    /// `path` is relative to `{apiBase}/v1/` and may carry a query string.
    func call(_ method: String, _ path: String, _ body: Body? = nil, idempotencyKey: String? = nil) async throws -> (Int, [String: Any]) {
        guard let url = URL(string: "v1/" + path, relativeTo: apiBase) else {
            throw PaymentGatewayError.rejected(code: "bad_path", message: path)
        }
        var request = URLRequest(url: url)
        request.httpMethod = method
        request.setValue("Bearer \(secretKey)", forHTTPHeaderField: "Authorization")
        if let idempotencyKey { request.setValue(idempotencyKey, forHTTPHeaderField: "Idempotency-Key") }
        switch body {
        case .json(let object):
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
            request.httpBody = try JSONSerialization.data(withJSONObject: object)
        case .form(let fields):
            request.setValue("application/x-www-form-urlencoded", forHTTPHeaderField: "Content-Type")
            request.httpBody = Data(fields.map { "\(Self.encode($0.0))=\(Self.encode($0.1))" }.joined(separator: "&").utf8)
        case nil:
            break
        }
        let (status, data) = try await transport.send(request)
        return (status, (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] ?? [:])
    }

    /// `{"error": {"code", "message"}}`, the shape both the sandbox and Stripe use.
    static func failure(_ status: Int, _ body: [String: Any], gateway: String) -> PaymentGatewayError {
        let error = body["error"] as? [String: Any]
        let code = error?["code"] as? String ?? "http_\(status)"
        let message = error?["message"] as? String ?? "\(gateway) answered \(status)."
        switch status {
        case 404: return .notFound
        case 409: return .idempotencyConflict
        case 500...: return .unavailable(message)
        default: return .rejected(code: code, message: message)
        }
    }

    /// An amount in minor units and a currency code as JSON gives them; nil unless both are there.
    static func money(_ minorUnits: Any?, currency: Any?) -> Money? {
        guard let amount = minorUnits as? NSNumber, let code = (currency as? String).flatMap(CurrencyCode.init) else { return nil }
        return Money(amount.int64Value, code)
    }

    static func encode(_ value: String) -> String {
        value.addingPercentEncoding(withAllowedCharacters: unreserved) ?? ""
    }

    /// RFC 3986 unreserved characters, ASCII only.
    private static let unreserved = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
}

/// One bounded, cookie-less session per adapter. A transport failure (timeout, refused or dropped
/// connection) is `unavailable`: the request may have arrived, so it is never read as a decline.
struct GatewayTransport: Sendable {
    let session: URLSession

    init(timeout: TimeInterval) {
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = timeout
        configuration.timeoutIntervalForResource = timeout
        configuration.httpCookieStorage = nil
        session = URLSession(configuration: configuration)
    }

    func send(_ request: URLRequest) async throws -> (status: Int, body: Data) {
        do {
            let (data, response) = try await session.data(for: request)
            return ((response as? HTTPURLResponse)?.statusCode ?? 0, data)
        } catch {
            throw PaymentGatewayError.unavailable(error.localizedDescription)
        }
    }
}
