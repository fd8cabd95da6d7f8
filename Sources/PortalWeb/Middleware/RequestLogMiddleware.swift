import Foundation
import Hummingbird
import Logging

/// One log line per request: id, method, route, status, duration. It logs the matched route
/// pattern (`/invite/{token}`) rather than the raw path, and never a query string, header, cookie
/// or body, so tokens and form data cannot reach a log.
struct RequestLogMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        do {
            let response = try await next(request, context)
            log(request, context: context, status: response.status.code, start: start)
            return response
        } catch {
            let status = (error as? any HTTPResponseError)?.status.code ?? 500
            log(request, context: context, status: status, start: start)
            throw error
        }
    }

    private func log(_ request: Request, context: Context, status: Int, start: ContinuousClock.Instant) {
        let elapsed = ContinuousClock.now - start
        let ms = Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
        context.logger.info("request", metadata: [
            "method": "\(request.method)",
            "route": "\(context.endpointPath ?? Self.safePath(request.uri.path))",
            "status": "\(status)",
            "duration_ms": "\(String(format: "%.2f", ms))",
        ])
    }

    /// For unmatched paths: keep the first segment only, since later ones may carry a token.
    static func safePath(_ path: String) -> String {
        let segments = path.split(separator: "/", maxSplits: 2)
        if segments.count <= 1 { return path.count > 64 ? "/…" : path }
        return "/\(segments[0])/…"
    }
}
