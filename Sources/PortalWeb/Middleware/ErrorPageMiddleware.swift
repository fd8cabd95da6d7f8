import Hummingbird
import Logging
import PortalCore

/// Turns every error into a page from `Templates/error.mustache`. Expected errors (404, 403…) show
/// their own message; anything else is logged with the request id and shown as a plain 500 with
/// that id, never a stack trace or internal message.
struct ErrorPageMiddleware<Context: RequestContext>: RouterMiddleware {
    let renderer: PageRenderer

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as PageError {
            return renderer.errorPage(status: error.status, message: error.message, requestId: context.id)
        } catch let error as HTTPError {
            if error.status == .unauthorized {
                return .redirect(to: SitePath.login)
            }
            if error.status.code >= 500 {
                context.logger.error("request failed", metadata: ["error": "\(error)"])
            }
            return renderer.errorPage(status: error.status, message: nil, requestId: context.id)
        } catch {
            context.logger.error("request failed", metadata: ["error": "\(String(reflecting: error))"])
            return renderer.errorPage(status: .internalServerError, message: nil, requestId: context.id)
        }
    }
}

/// An error a controller throws to show an error page with a specific, safe message.
struct PageError: Error {
    var status: HTTPResponse.Status
    var message: String?

    static let notFound = PageError(status: .notFound, message: nil)
    static func badRequest(_ message: String) -> PageError { PageError(status: .badRequest, message: message) }
}
