import Foundation
import Logging

/// Demo and development mailer: writes each message as an `.eml` file and logs its path.
public struct FileMailer: Mailer {
    public let directory: String
    let logger: Logger

    public init(directory: String, logger: Logger) {
        self.directory = directory
        self.logger = logger
    }

    public func send(_ message: MailMessage, from: String) async throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let stamp = Int64(Date().timeIntervalSince1970 * 1000)
        let slug = message.subject.lowercased().map { $0.isLetter || $0.isNumber ? $0 : "-" }.prefix(40)
        let path = URL(fileURLWithPath: directory).appendingPathComponent("\(stamp)-\(String(slug)).eml").path
        let raw = MIMEMessage.render(message, from: from, date: Date(), messageId: "\(stamp).\(RandomBytes.base64URL(count: 6))@portal")
        guard FileManager.default.createFile(atPath: path, contents: Data(raw.utf8)) else {
            throw MailDeliveryError("cannot write \(path)")
        }
        logger.notice("mail written", metadata: ["path": "\(path)"])
    }
}
