import Foundation
import Hummingbird
import Mustache

public struct TemplateError: Error, CustomStringConvertible {
    public var description: String
}

/// Renders pages from `Templates/`. Templates are parsed once at startup, and a missing or broken
/// template stops startup rather than failing on a customer's request.
struct PageRenderer: Sendable {
    let library: MustacheLibrary
    /// The same templates compiled for typed view models (`TemplateObject`), for the hot pages.
    let compiled: CompiledTemplates

    static let requiredTemplates = [
        "layout", "error", "login", "invoices", "invoice", "payment_methods", "payment_method_remove", "login_mfa", "mfa_setup", "recovery_codes", "account", "dashboard",
        "invite", "invite_invalid", "password_forgot", "password_forgot_sent", "password_reset", "password_reset_invalid",
        "pay", "pay_review", "payment", "payments", "autopay", "staff_home", "staff_customer", "staff_payment", "staff_audit",
        "staff_settings", "staff_users",
    ]

    /// Pages rendered from typed view models; each must compile (`CompiledTemplates`).
    static let compiledPages = ["invoices"]

    init(directory: String) async throws {
        let (library, names) = try Self.load(directory: directory)
        self.library = library
        for name in Self.requiredTemplates where library.getTemplate(named: name) == nil {
            throw TemplateError(description: "template \(directory)/\(name).mustache is missing")
        }
        compiled = CompiledTemplates(library: library, names: names)
        for name in Self.compiledPages where !compiled.has(name) {
            throw TemplateError(description: "template \(directory)/\(name).mustache cannot be compiled: \(compiled.failures[name] ?? "missing")")
        }
    }

    /// Loads every page template under `directory` (emails under `email/` belong to `MailTemplates`),
    /// named by relative path without the extension, with the fast HTML escaper; returns their names too.
    static func load(directory: String) throws -> (MustacheLibrary, [String]) {
        MustacheContentTypes.register(PortalHTMLContentType(), named: PortalHTMLContentType.name)
        var library = MustacheLibrary()
        var names: [String] = []
        let root = directory.hasSuffix("/") ? directory : directory + "/"
        guard let enumerator = FileManager.default.enumerator(atPath: root) else {
            throw TemplateError(description: "templates directory \(directory) not found")
        }
        for case let path as String in enumerator where path.hasSuffix(".mustache") && !path.hasPrefix("email/") {
            let text = try String(contentsOfFile: root + path, encoding: .utf8)
            let source = "{{% CONTENT_TYPE: \(PortalHTMLContentType.name)}}" + text
            let name = String(path.dropLast(".mustache".count))
            do {
                try library.register(source, named: name)
            } catch {
                throw TemplateError(description: "template \(path) does not parse: \(error)")
            }
            names.append(name)
        }
        return (library, names.sorted())
    }

    func render(_ name: String, _ context: [String: Any], status: HTTPResponse.Status = .ok) -> Response {
        guard let html = library.render(context, withTemplate: name) else {
            // Checked at startup; reaching this means the template set changed underneath us.
            return Response(status: .internalServerError, body: .init(byteBuffer: ByteBuffer(string: "Internal error")))
        }
        return page(ByteBuffer(string: html), status: status)
    }

    /// A page from a compiled template and a typed view model (same markup as `render` would give).
    func render(_ name: String, view: any TemplateObject, status: HTTPResponse.Status = .ok) -> Response {
        guard let html = compiled.render(name, view) else {
            return Response(status: .internalServerError, body: .init(byteBuffer: ByteBuffer(string: "Internal error")))
        }
        return page(ByteBuffer(bytes: html), status: status)
    }

    private func page(_ body: ByteBuffer, status: HTTPResponse.Status) -> Response {
        var response = Response(status: status, headers: [.contentType: "text/html; charset=utf-8"], body: .init(byteBuffer: body))
        // Pages show personal data: never keep them in shared or browser caches.
        response.headers[.cacheControl] = "no-store"
        return response
    }

    func errorPage(status: HTTPResponse.Status, message: String?, requestId: String) -> Response {
        let (title, defaultMessage) = Self.describe(status)
        var response = render("error", [
            "title": title, "status": status.code, "message": message ?? defaultMessage, "requestId": requestId,
            "showRequestId": status.code >= 500,
        ], status: status)
        if status == .tooManyRequests { response.headers[.retryAfter] = "60" }
        return response
    }

    static func describe(_ status: HTTPResponse.Status) -> (String, String) {
        switch status.code {
        case 400: ("Something is wrong with that request", "The request could not be understood. Go back and check what you entered.")
        case 403: ("Not allowed", "You don't have permission to do that.")
        case 404: ("Page not found", "We couldn't find that page. It may have moved, or the link may be wrong.")
        case 405: ("Not allowed", "That action isn't available here.")
        case 429: ("Too many attempts", "Too many attempts. Wait a little and try again.")
        case 500...: ("Something went wrong", "Something went wrong on our side. Nothing was charged or changed. Try again in a moment; if it keeps happening, contact support and quote the reference below.")
        default: ("Request failed", "The request could not be completed.")
        }
    }
}

/// Short messages shown once after a redirect. Only the code travels in the cookie, so nothing a
/// visitor sends can be reflected into the page.
enum FlashMessage: String, Sendable {
    case signedOut = "signed-out"
    case passwordChanged = "password-changed"
    case passwordReset = "password-reset"
    case sessionRevoked = "session-revoked"
    case sessionsRevoked = "sessions-revoked"
    case mfaReset = "mfa-reset"
    case sessionExpired = "session-expired"
    case accountSwitched = "account-switched"
    case sessionEnded = "session-ended"
    case cardSaved = "card-saved"
    case cardRemoved = "card-removed"
    case defaultCardChanged = "default-card"
    case autopayOn = "autopay-on"
    case autopayPaused = "autopay-paused"
    case autopayResumed = "autopay-resumed"
    case autopayCancelled = "autopay-cancelled"
    case planCreated = "plan-created"
    case planCancelled = "plan-cancelled"
    case impersonationExpired = "impersonation-expired"
    case impersonationStopped = "impersonation-stopped"
    case refundRecorded = "refund-recorded"
    case staffActionDone = "staff-action-done"
    case staffInvited = "staff-invited"
    case staffInvitationResent = "staff-invitation-resent"
    case staffRoleChanged = "staff-role-changed"
    case staffDisabled = "staff-disabled"
    case staffEnabled = "staff-enabled"

    var text: String {
        switch self {
        case .signedOut: "You have signed out."
        case .passwordChanged: "Your password was changed. Other devices have been signed out."
        case .passwordReset: "Your password was reset and every session signed out. Sign in with your new password and your authenticator code."
        case .sessionRevoked: "That session was signed out."
        case .sessionsRevoked: "All your other sessions were signed out."
        case .mfaReset: "Your authenticator was removed. Set up a new one to continue."
        case .sessionExpired: "Your sign-in took too long or expired. Please start again."
        case .accountSwitched: "Switched account."
        case .sessionEnded: "Your session ended, so nothing was changed. Sign in again to continue."
        case .cardSaved: "Your card was saved."
        case .cardRemoved: "The card was removed."
        case .defaultCardChanged: "Your default card was changed."
        case .autopayOn: "Autopay is on. We emailed you what you agreed to."
        case .autopayPaused: "Autopay is paused. Nothing will be charged until you resume it."
        case .autopayResumed: "Autopay is back on."
        case .autopayCancelled: "Autopay is off."
        case .planCreated: "Your payment plan is set up. We emailed you what you agreed to."
        case .planCancelled: "The payment plan was cancelled. No further instalments will be charged."
        case .impersonationExpired: "The time limit for viewing as the customer ran out, so you are back in the console."
        case .impersonationStopped: "You stopped viewing as the customer."
        case .staffActionDone: "Done, and recorded in the audit trail."
        case .refundRecorded: "Done. The payment and its invoices are updated, and the reason is in the audit trail."
        case .staffInvited: "Invitation sent. The emailed link works once; the list shows when it expires."
        case .staffInvitationResent: "A new invitation was sent. Earlier links no longer work."
        case .staffRoleChanged: "Role changed. It applies from their next page."
        case .staffDisabled: "Staff user disabled. They can no longer sign in, and their sessions were ended."
        case .staffEnabled: "Staff user enabled. If they never set a password, resend their invitation."
        }
    }
}
