import Foundation
import Mustache

public enum MailTemplateError: Error, CustomStringConvertible {
    case missing(String)
    case unparseable(String)

    public var description: String {
        switch self {
        case .missing(let name): "email template \(name).text.mustache is missing"
        case .unparseable(let detail): "email template \(detail)"
        }
    }
}

/// Email bodies from `Templates/email/NAME.text.mustache` and `NAME.html.mustache`.
/// The first line of the text template, `Subject: …`, is the subject.
public struct MailTemplates: Sendable {
    let library: MustacheLibrary

    /// `directory` is the Templates folder; only its `email/` folder is read.
    public init(directory: String) async throws {
        do {
            library = try await MustacheLibrary(directory: directory + "/email", withExtension: "mustache")
        } catch let error as MustacheLibrary.ParserError {
            throw MailTemplateError.unparseable("email/\(error.filename) does not parse at line \(error.context.lineNumber)")
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
