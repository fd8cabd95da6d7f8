import Hummingbird
import PortalCore

/// Parses the form of every POST and refuses it unless its `_csrf` field matches the token bound to
/// this browser's session. Also refuses any field holding what looks like a card number: card
/// details belong in the gateway's hosted fields only. Neither refusal logs the submitted values.
struct CSRFMiddleware: RouterMiddleware {
    typealias Context = PortalRequestContext
    let csrf: CSRFTokens
    let cookies: SessionCookies

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard request.method == .post else {
            if [.put, .patch, .delete].contains(request.method) { throw HTTPError(.methodNotAllowed) }
            return try await next(request, context)
        }
        var request = request
        var context = context
        let contentType = request.headers[.contentType]?.lowercased() ?? ""
        guard contentType.hasPrefix("application/x-www-form-urlencoded") else {
            throw PageError(status: .unsupportedMediaType, message: "This form was sent in a format the portal does not accept.")
        }
        let body: ByteBuffer
        do {
            body = try await request.collectBody(upTo: context.maxUploadSize)
        } catch {
            throw PageError(status: .contentTooLarge, message: "This form is larger than the portal accepts.")
        }
        context.form = FormFields(urlEncoded: String(buffer: body))
        guard csrf.isValid(context.form.raw("_csrf"), for: context.csrfBinding) else {
            if context.sessionEnded {
                // The form belonged to a session that has since ended: say so and start again, rather
                // than show a bare "forbidden". Nothing was changed either way.
                var response = Response.redirect(to: SitePath.login)
                response.setCookie(cookies.flash(.sessionEnded))
                return response
            }
            throw PageError(status: .forbidden, message: "This form has expired or did not come from this site. Go back, reload the page and try again.")
        }
        if context.form.pairs.contains(where: { $0.0 != "_csrf" && CardNumberDetector.looksLikeCardNumber($0.1) }) {
            throw PageError(status: .badRequest, message: "That looks like a card number. For your security, card details are only ever typed into the secure card form from our payment provider — never into other fields. Nothing was saved.")
        }
        return try await next(request, context)
    }

}
