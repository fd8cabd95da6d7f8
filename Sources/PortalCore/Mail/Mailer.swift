/// One email ready to send.
public struct MailMessage: Sendable, Equatable {
    public var to: String
    public var subject: String
    public var textBody: String
    public var htmlBody: String?

    public init(to: String, subject: String, textBody: String, htmlBody: String? = nil) {
        self.to = to
        self.subject = subject
        self.textBody = textBody
        self.htmlBody = htmlBody
    }
}

/// Delivers one message or throws. Services never call a mailer directly: they queue mail in the
/// outgoing-mail table and `MailDeliveryService` hands it to the mailer, retrying on failure.
public protocol Mailer: Sendable {
    func send(_ message: MailMessage, from: String) async throws
}

public struct MailDeliveryError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
