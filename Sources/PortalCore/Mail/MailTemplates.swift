import Foundation
import Mustache

public enum MailTemplateError: Error, CustomStringConvertible {
    case missing(String)
    case unparseable(String)

    public var description: String {
        switch self {
        case .missing(let name): "email template email/\(name).text.mustache or .html.mustache is missing"
        case .unparseable(let detail): "email template \(detail)"
        }
    }
}

/// Email bodies from `Templates/email/NAME.text.mustache` and `NAME.html.mustache`.
/// The first line of the text template, `Subject: …`, is the subject.
public struct MailTemplates: Sendable {
    let library: MustacheLibrary

    /// Every email the services send; each needs a text and an HTML template.
    static let required = ["invite", "password_reset", "password_changed", "mfa_reset", "payment_method_removed", "payment_receipt",
                           "autopay_changed", "plan_changed", "payment_failed", "invoice_reminder", "card_expiring", "payment_disputed",
                           "mfa_reset_by_staff", "staff_invite"]

    /// `directory` is the Templates folder; only its `email/` folder is read. A missing or broken
    /// email template stops startup rather than a send.
    public init(directory: String) async throws {
        do {
            library = try await MustacheLibrary(directory: directory + "/email", withExtension: "mustache")
        } catch let error as MustacheLibrary.ParserError {
            throw MailTemplateError.unparseable("email/\(error.filename) does not parse at line \(error.context.lineNumber)")
        }
        for name in Self.required where library.getTemplate(named: name + ".text") == nil || library.getTemplate(named: name + ".html") == nil {
            throw MailTemplateError.missing(name)
        }
    }

    public init(library: MustacheLibrary) { self.library = library }

    public func render(_ name: String, to: String, context: [String: Any]) throws -> MailMessage {
        guard let text = library.render(context, withTemplate: "\(name).text") else {
            throw MailTemplateError.missing(name)
        }
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        var subject = "Message from the payment portal"
        if let first = lines.first, first.hasPrefix("Subject:") {
            subject = first.dropFirst("Subject:".count).trimmingCharacters(in: .whitespaces)
            lines.removeFirst()
            while lines.first?.isEmpty == true { lines.removeFirst() }
        }
        let html = library.render(context, withTemplate: "\(name).html")
        return MailMessage(to: to, subject: subject, textBody: lines.joined(separator: "\n"), htmlBody: html)
    }
}
