import Foundation
import GRDB
import Logging
import Testing
@testable import PortalCore

/// Mail goes outbox → `MailDeliveryService` → `SMTPMailer` (libcurl) → a real SMTP server:
/// `Tests/support/smtp_sink.py` (aiosmtpd) on 127.0.0.1, which saves every message it accepts and
/// runs it through Python's email parser, an independent check of our MIME.
@Suite("Mail delivery over SMTP")
struct MailDeliveryTests {
    static let repoRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()  // Tests/PortalCoreTests
        .deletingLastPathComponent()  // Tests
        .deletingLastPathComponent()  // repository root

    static let nonASCII = "Müller Łódź Ørsted"
    /// Operators configure the sender; a non-ASCII display name must be encoded, not sent raw.
    static let sender = "Zahlungsportal Ørsted & Müller <billing@portal.example.com>"

    /// `smtp://user:password@host` authenticates (AUTH PLAIN/LOGIN) before sending; wrong
    /// credentials leave the message queued with the server's refusal recorded.
    @Test func authenticatesWithTheCredentialsInTheURL() async throws {
        let env = try await TestEnvironment()
        let sink = try SMTPSink.start(port: 0, directory: env.mailDirectory, requireAuth: "mailer:s3cret pass")
        defer { sink.stop() }
        let id = try await env.outbox.enqueue(MailMessage(to: "dana@example.com", subject: "Auth check", textBody: "Hello"))

        let refused = try await env.delivery(port: sink.port, credentials: "mailer:wrong").runOnce()
        #expect(refused.sent == 0 && refused.failed == 1)
        let row = try #require(try await env.outbox.all().first { $0.id == id })
        #expect(row.status == "queued" && row.lastError?.isEmpty == false)

        env.clock.advance(by: 60)
        let accepted = try await env.delivery(port: sink.port, credentials: "mailer:s3cret%20pass").runOnce()
        #expect(accepted.sent == 1)
        let received = try await sink.waitForMessages(count: 1)
        #expect(received.first?.rcptTos == ["dana@example.com"])
    }

    @Test("Queued mail reaches the SMTP server intact, UTF-8 included, and is marked sent")
    func deliversQueuedMail() async throws {
        let env = try await TestEnvironment()
        defer { env.cleanUp() }
        let sink = try SMTPSink.start(port: 0, directory: env.mailDirectory)
        defer { sink.stop() }

        // 1: through a real template (multipart text + HTML).
        let inviteId = try await env.outbox.enqueue(template: "invite", to: "carol.chen@example.com", context: [
            "link": "https://pay.example.com/invite/abc123", "accounts": "Ørsted & Müller Consulting, Łódź Bakery", "hours": "72",
        ])
        // 2: text only, with a non-ASCII subject, a line starting with "." (SMTP's end-of-data
        // marker if not escaped) and a line far longer than SMTP's 998-octet limit.
        let longLine = String(repeating: "Zażółć gęślą jaźń ", count: 80)
        let plainBody = "Hello \(Self.nonASCII),\n.\n. a line starting with a dot\n\(longLine)\nBye."
        // The subject is long enough that it must be split into several encoded-words.
        let subject = "Rechnung für \(Self.nonASCII) — 12,50 € — Zahlungserinnerung für Łódź Bakery Sp. z o.o."
        let plainId = try await env.outbox.enqueue(MailMessage(
            to: "Jörg Müller <joerg@example.com>", subject: subject, textBody: plainBody))

        let result = try await env.delivery(port: sink.port).runOnce()
        #expect(result.sent == 2)
        #expect(result.failed == 0)

        let received = try await sink.waitForMessages(count: 2)
        #expect(received.count == 2)

        let invite = try #require(received.first { $0.rcptTos == ["carol.chen@example.com"] })
        #expect(invite.mailFrom == "billing@portal.example.com")
        invite.expectWellFormed()
        #expect(invite.parsed.subject == "You're invited to the Payment Portal")
        #expect(invite.parsed.to == "carol.chen@example.com")
        #expect(invite.parsed.from == Self.sender)
        #expect(invite.parsed.contentType == "multipart/alternative")
        #expect(invite.parsed.parts == ["multipart/alternative", "text/plain", "text/html"])
        let inviteText = try #require(invite.parsed.text)
        #expect(inviteText.hasPrefix("Hello,"))
        #expect(inviteText.contains("invoices for Ørsted & Müller Consulting, Łódź Bakery in the Payment Portal"))
        #expect(inviteText.contains("https://pay.example.com/invite/abc123"))
        let inviteHTML = try #require(invite.parsed.html)
        #expect(inviteHTML.contains("<strong>Ørsted &amp; Müller Consulting, Łódź Bakery</strong>"))
        #expect(inviteHTML.contains("href=\"https://pay.example.com/invite/abc123\""))

        // The envelope carries the bare address; the header keeps the name, encoded.
        let plain = try #require(received.first { $0.rcptTos == ["joerg@example.com"] })
        plain.expectWellFormed()
        #expect(plain.parsed.subject == subject)
        #expect(plain.parsed.from == Self.sender)
        #expect(plain.parsed.to == "Jörg Müller <joerg@example.com>")
        #expect(plain.parsed.contentType == "text/plain")
        #expect(plain.parsed.text?.replacingOccurrences(of: "\r\n", with: "\n") == plainBody + "\n"
                    || plain.parsed.text?.replacingOccurrences(of: "\r\n", with: "\n") == plainBody)
        #expect(plain.parsed.text?.contains(Self.nonASCII) == true)

        let rows = try await env.outbox.all()
        #expect(rows.map(\.id) == [inviteId, plainId])
        for row in rows {
            #expect(row.status == "sent")
            #expect(row.attempts == 1)
            #expect(row.lastError == nil)
        }
        // Nothing left for a second pass.
        let again = try await env.delivery(port: sink.port).runOnce()
        #expect(again.sent == 0 && again.failed == 0)
        #expect(try sink.messages().count == 2)
    }

    @Test("An SMTP outage delays mail, loses none, and the retry waits for its delay")
    func retriesAfterOutage() async throws {
        let env = try await TestEnvironment()
        defer { env.cleanUp() }
        let port = try SMTPSink.unusedPort(directory: env.directory + "/probe")
        let id = try await env.outbox.enqueue(MailMessage(
            to: "alice@example.com", subject: "Zahlung erhalten", textBody: "Danke, \(Self.nonASCII)."))
        let delivery = env.delivery(port: port)
        let start = env.clock.date

        // Server down: the attempt fails and the message stays queued for a later retry.
        let first = try await delivery.runOnce()
        #expect(first.sent == 0)
        #expect(first.failed == 1)
        let down = try #require(try await env.row(id))
        #expect(down.status == "queued")
        #expect(down.attempts == 1)
        let lastError = try #require(down.lastError)
        #expect(lastError.contains("127.0.0.1:\(port)"))
        #expect(down.nextAttemptAt > env.clock.clock.nowSeconds())
        #expect(down.nextAttemptAt == Int64(start.timeIntervalSince1970) + env.outbox.policy.delay(afterAttempt: 1))
        #expect(down.leaseUntil == nil)

        // The server comes back, but the retry is not due yet: nothing is sent early.
        let sink = try SMTPSink.start(port: port, directory: env.mailDirectory)
        defer { sink.stop() }
        #expect(sink.port == port)
        let early = try await delivery.runOnce()
        #expect(early.sent == 0 && early.failed == 0)
        #expect(try sink.messages().isEmpty)

        env.clock.advance(by: TimeInterval(env.outbox.policy.delay(afterAttempt: 1) + 1))
        let retry = try await delivery.runOnce()
        #expect(retry.sent == 1)
        #expect(retry.failed == 0)

        let received = try await sink.waitForMessages(count: 1)
        #expect(received.count == 1)
        let message = try #require(received.first)
        message.expectWellFormed()
        #expect(message.rcptTos == ["alice@example.com"])
        #expect(message.parsed.subject == "Zahlung erhalten")
        #expect(message.parsed.text?.contains("Danke, \(Self.nonASCII).") == true)

        let sent = try #require(try await env.row(id))
        #expect(sent.status == "sent")
        #expect(sent.attempts == 2)
        #expect(sent.lastError == nil)
        #expect(sent.sentAt == env.clock.clock.nowSeconds())
        #expect(try await env.outbox.all().count == 1)
    }
}

// MARK: - Test environment

/// A fresh SQLite file with the real migrations, the real email templates and a manual clock.
private struct TestEnvironment {
    let directory: String
    let mailDirectory: String
    let db: DatabasePool
    let clock = ManualClock()
    let outbox: MailOutbox
    let logger: Logger

    init() async throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("mail-delivery-\(UUID().uuidString)").path
        mailDirectory = directory + "/received"
        try FileManager.default.createDirectory(atPath: mailDirectory, withIntermediateDirectories: true)
        db = try PortalDatabase.open(path: directory + "/portal.sqlite")
        try Migrator(directory: MailDeliveryTests.repoRoot.appendingPathComponent("Migrations").path).migrate(db)
        let templates = try await MailTemplates(directory: MailDeliveryTests.repoRoot.appendingPathComponent("Templates").path)
        outbox = MailOutbox(db: db, clock: clock.clock, templates: templates)
        var logger = Logger(label: "mail-delivery-tests")
        logger.logLevel = .error
        self.logger = logger
    }

    func delivery(port: Int, credentials: String? = nil) -> MailDeliveryService {
        let userInfo = credentials.map { $0 + "@" } ?? ""
        let settings = SMTPSettings(url: "smtp://\(userInfo)127.0.0.1:\(port)?starttls=off")!
        return MailDeliveryService(outbox: outbox, mailer: SMTPMailer(settings: settings), from: MailDeliveryTests.sender, logger: logger)
    }

    struct OutboxRow {
        var status: String
        var attempts: Int
        var lastError: String?
        var nextAttemptAt: Int64
        var leaseUntil: Int64?
        var sentAt: Int64?
    }

    func row(_ id: Int64) async throws -> OutboxRow? {
        try await db.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM outgoing_mail WHERE id = ?", arguments: [id]).map {
                OutboxRow(status: $0["status"], attempts: $0["attempts"], lastError: $0["last_error"],
                          nextAttemptAt: $0["next_attempt_at"], leaseUntil: $0["lease_until"], sentAt: $0["sent_at"])
            }
        }
    }

    func cleanUp() {
        try? db.close()
        try? FileManager.default.removeItem(atPath: directory)
    }
}

// MARK: - SMTP sink

/// One message as `smtp_sink.py` saved it.
private struct ReceivedMail: Decodable {
    struct Parsed: Decodable {
        var error: String?
        var subject: String?
        var from: String?
        var to: String?
        var contentType: String?
        var parts: [String]?
        var text: String?
        var html: String?
        var defects: [String]?

        enum CodingKeys: String, CodingKey {
            case error, subject, from, to, parts, text, html, defects
            case contentType = "content_type"
        }
    }

    var mailFrom: String
    var rcptTos: [String]
    var rawBase64: String
    var parsed: Parsed

    enum CodingKeys: String, CodingKey {
        case mailFrom = "mail_from", rcptTos = "rcpt_tos", rawBase64 = "raw_base64", parsed
    }

    var rawBytes: [UInt8] { Data(base64Encoded: rawBase64).map { Array($0) } ?? [] }

    /// Parses cleanly, and is plain 7-bit ASCII in lines SMTP accepts (we never ask for SMTPUTF8 or 8BITMIME).
    func expectWellFormed(sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(parsed.error == nil, sourceLocation: sourceLocation)
        #expect(parsed.defects == [], sourceLocation: sourceLocation)
        let raw = rawBytes
        #expect(!raw.isEmpty, sourceLocation: sourceLocation)
        #expect(raw.allSatisfy { $0 < 0x80 }, "message is not 7-bit ASCII", sourceLocation: sourceLocation)
        let lines = raw.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        #expect(lines.allSatisfy { $0.count <= 999 }, "a line is longer than 998 octets", sourceLocation: sourceLocation)
        let headers = String(decoding: raw, as: UTF8.self).components(separatedBy: "\r\n\r\n").first ?? ""
        // RFC 2047: an encoded-word is at most 75 characters.
        for match in headers.matches(of: /=\?[^?\s]+\?[BbQq]\?[^?\s]*\?=/) {
            #expect(match.output.count <= 75, "encoded-word too long: \(match.output)", sourceLocation: sourceLocation)
        }
        for name in ["From:", "To:", "Subject:", "Date:", "Message-ID:", "MIME-Version: 1.0"] {
            #expect(headers.contains("\r\n\(name)") || headers.hasPrefix(name), "missing header \(name)", sourceLocation: sourceLocation)
        }
    }
}

/// `python3 Tests/support/smtp_sink.py PORT DIR`, stopped when the test ends.
private final class SMTPSink: Sendable {
    let process: Process
    let port: Int
    let directory: String

    private init(process: Process, port: Int, directory: String) {
        self.process = process
        self.port = port
        self.directory = directory
    }

    static let script = MailDeliveryTests.repoRoot.appendingPathComponent("Tests/support/smtp_sink.py").path

    /// Starts the sink and waits until it answers (it prints its port once it does).
    static func start(port: Int, directory: String, requireAuth credentials: String? = nil) throws -> SMTPSink {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", script, String(port), directory]
        if let credentials {
            var environment = ProcessInfo.processInfo.environment
            environment["SMTP_SINK_AUTH"] = credentials
            process.environment = environment
        }
        let output = Pipe()
        process.standardOutput = output
        let errors = Pipe()
        process.standardError = errors
        try process.run()

        // Read the first line; EOF (the script died) or 30 s without it is a failure.
        let watchdog = DispatchWorkItem { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }
        DispatchQueue.global().asyncAfter(deadline: .now() + 30, execute: watchdog)
        var buffer = Data()
        while !buffer.contains(UInt8(ascii: "\n")) {
            let chunk = output.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            buffer.append(chunk)
        }
        watchdog.cancel()
        let line = String(decoding: buffer, as: UTF8.self).split(separator: "\n").first.map(String.init) ?? ""
        guard let actual = Int(line.trimmingCharacters(in: .whitespaces)), actual > 0 else {
            stop(process)
            let stderr = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            throw SinkError("smtp_sink.py did not start (stdout: \(line.debugDescription)); stderr:\n\(stderr)")
        }
        return SMTPSink(process: process, port: actual, directory: directory)
    }

    /// A port on 127.0.0.1 that nothing listens on: let the sink pick a free one, then stop it.
    static func unusedPort(directory: String) throws -> Int {
        let probe = try start(port: 0, directory: directory)
        probe.stop()
        return probe.port
    }

    /// SIGTERM, then SIGKILL after 5 s: a child can inherit a mask that blocks SIGTERM, and a
    /// test must never hang on its helper.
    func stop() {
        Self.stop(process)
    }

    static func stop(_ process: Process) {
        guard process.isRunning else { return }
        process.terminate()
        let deadline = Date().addingTimeInterval(5)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    func messages() throws -> [ReceivedMail] {
        let names = try FileManager.default.contentsOfDirectory(atPath: directory)
            .filter { $0.hasPrefix("msg-") && $0.hasSuffix(".json") }
            .sorted()
        return try names.map { name in
            let data = try Data(contentsOf: URL(fileURLWithPath: directory).appendingPathComponent(name))
            return try JSONDecoder().decode(ReceivedMail.self, from: data)
        }
    }

    /// The server answers DATA only after saving, so the files are normally there already.
    func waitForMessages(count: Int, timeout: Duration = .seconds(10)) async throws -> [ReceivedMail] {
        let deadline = ContinuousClock.now + timeout
        while true {
            let found = try messages()
            if found.count >= count || ContinuousClock.now >= deadline { return found }
            try await Task.sleep(for: .milliseconds(50))
        }
    }
}

private struct SinkError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
