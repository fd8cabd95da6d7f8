import Foundation
import Mustache

public enum MailTemplateError: Error, CustomStringConvertible {
    case missing(String)
    public var description: String {
        switch self {
        case .missing(let name): "email template \(name).text.mustache is missing"
        }
    }
}

/// Email bodies from `Templates/email/NAME.text.mustache` and `NAME.html.mustache`.
/// The first line of the text template, `Subject: …`, is the subject.
public struct MailTemplates: Sendable {
    let library: MustacheLibrary

    public init(directory: String) async throws {
        library = try await MustacheLibrary(directory: directory, withExtension: "mustache")
    }

    public init(library: MustacheLibrary) { self.library = library }

    public func render(_ name: String, to: String, context: [String: Any]) throws -> MailMessage {
        guard let text = library.render(context, withTemplate: "email/\(name).text") else {
            throw MailTemplateError.missing(name)
        }
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        var subject = "Message from the payment portal"
        if let first = lines.first, first.hasPrefix("Subject:") {
            subject = first.dropFirst("Subject:".count).trimmingCharacters(in: .whitespaces)
            lines.removeFirst()
            while lines.first?.isEmpty == true { lines.removeFirst() }
        }
        let html = library.render(context, withTemplate: "email/\(name).html")
        return MailMessage(to: to, subject: subject, textBody: lines.joined(separator: "\n"), htmlBody: html)
    }
}
