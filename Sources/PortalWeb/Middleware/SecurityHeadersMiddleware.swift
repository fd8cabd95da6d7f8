import HTTPTypes
import Hummingbird

/// Headers every response carries, error pages included.
struct SecurityHeadersMiddleware<Context: RequestContext>: RouterMiddleware {
    let contentSecurityPolicy: String
    static var referrerPolicy: HTTPField.Name { HTTPField.Name("Referrer-Policy")! }
    static var xFrameOptions: HTTPField.Name { HTTPField.Name("X-Frame-Options")! }
    let hsts: Bool

    /// Same-origin only; pages that embed a gateway's hosted fields set their own policy with
    /// `SecurityHeadersMiddleware.policy(extraOrigins:)`, which this middleware leaves in place.
    init(hsts: Bool) {
        contentSecurityPolicy = Self.policy(extraOrigins: [])
        self.hsts = hsts
    }

    static func policy(extraOrigins: [String]) -> String {
        let extra = extraOrigins.isEmpty ? "" : " " + extraOrigins.joined(separator: " ")
        return [
            "default-src 'self'",
            "script-src 'self'\(extra)",
            "style-src 'self'",
            "img-src 'self' data:",
            "font-src 'self'",
            "connect-src 'self'\(extra)",
            "frame-src 'self'\(extra)",
            "frame-ancestors 'none'",
            "form-action 'self'",
            "base-uri 'none'",
            "object-src 'none'",
        ].joined(separator: "; ")
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response = try await next(request, context)
        if response.headers[.contentSecurityPolicy] == nil { response.headers[.contentSecurityPolicy] = contentSecurityPolicy }
        response.headers[.xContentTypeOptions] = "nosniff"
        response.headers[Self.referrerPolicy] = "same-origin"
        response.headers[Self.xFrameOptions] = "DENY"
        if hsts { response.headers[.strictTransportSecurity] = "max-age=31536000; includeSubDomains" }
        return response
    }
}
