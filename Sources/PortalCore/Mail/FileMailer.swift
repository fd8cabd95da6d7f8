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
        // A readable, sortable name ("20261128-065301-482-…"): a bare millisecond count would be a
        // 13-digit number in the logs, which card-number scans would have to tell apart.
        let now = Date()
        var seconds = time_t(now.timeIntervalSince1970)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        let millis = Int(now.timeIntervalSince1970 * 1000) % 1000
        let stamp = String(format: "%04d%02d%02d-%02d%02d%02d-%03d", parts.tm_year + 1900, parts.tm_mon + 1, parts.tm_mday,
                           parts.tm_hour, parts.tm_min, parts.tm_sec, millis)
        let slug = message.subject.lowercased().map { $0.isLetter || $0.isNumber ? $0 : "-" }.prefix(40)
        let path = URL(fileURLWithPath: directory).appendingPathComponent("\(stamp)-\(RandomBytes.base64URL(count: 3))-\(String(slug)).eml").path
        let raw = MIMEMessage.render(message, from: from, date: now, messageId: "\(stamp).\(RandomBytes.base64URL(count: 6))@portal")
        guard FileManager.default.createFile(atPath: path, contents: Data(raw.utf8)) else {
            throw MailDeliveryError("cannot write \(path)")
        }
        logger.notice("mail written", metadata: ["path": "\(path)"])
    }
}
