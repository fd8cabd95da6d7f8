import Foundation
import GRDB
import Logging

public struct OutboxPolicy: Sendable {
    /// Delay before the n-th retry: 30 s doubling to at most an hour.
    public var firstRetry: Int64 = 30
    public var maxRetryDelay: Int64 = 3600
    /// After this many attempts (about three days at the cap) a message is marked failed for a person to see.
    public var maxAttempts: Int = 80
    /// How long a sender owns a claimed message before another process may take it.
    public var lease: Int64 = 120

    public init() {}

    func delay(afterAttempt attempt: Int) -> Int64 {
        let exponent = min(max(attempt - 1, 0), 20)
        return min(firstRetry << Int64(exponent), maxRetryDelay)
    }
}

public struct QueuedMail: Sendable, Equatable {
    public var id: Int64
    public var message: MailMessage
    public var attempts: Int
    public var status: String
    public var lastError: String?
}

/// Every email goes into `outgoing_mail` first; delivery happens later, with retries, so an SMTP
/// outage delays mail but loses none.
public struct MailOutbox: Sendable {
    let db: any DatabaseWriter
    let clock: PortalClock
    let templates: MailTemplates
    public let policy: OutboxPolicy

    public init(db: any DatabaseWriter, clock: PortalClock, templates: MailTemplates, policy: OutboxPolicy = OutboxPolicy()) {
        self.db = db
        self.clock = clock
        self.templates = templates
        self.policy = policy
    }

    /// Renders a template and queues the message.
    @discardableResult
    public func enqueue(template: String, to: String, context: [String: Any]) async throws -> Int64 {
        let message = try templates.render(template, to: to, context: context)
        return try await enqueue(message)
    }

    @discardableResult
    public func enqueue(_ message: MailMessage) async throws -> Int64 {
        let now = clock.nowSeconds()
        return try await db.write { db in try Self.insert(message, now: now, db) }
    }

    /// For services that queue mail in the same transaction as the change it announces.
    public func render(template: String, to: String, context: [String: Any]) throws -> MailMessage {
        try templates.render(template, to: to, context: context)
    }

    @discardableResult
    public static func insert(_ message: MailMessage, now: Int64, _ db: Database) throws -> Int64 {
        try db.execute(sql: """
            INSERT INTO outgoing_mail (to_address, subject, text_body, html_body, status, next_attempt_at, created_at)
            VALUES (?, ?, ?, ?, 'queued', ?, ?)
            """, arguments: [message.to, message.subject, message.textBody, message.htmlBody, now, now])
        return db.lastInsertedRowID
    }

    /// Claims up to `limit` due messages with a lease, so two senders never send the same one.
    public func claimDue(limit: Int = 20) async throws -> [QueuedMail] {
        let now = clock.nowSeconds()
        let lease = policy.lease
        return try await db.write { db in
            let rows = try Row.fetchAll(db, sql: """
                SELECT * FROM outgoing_mail WHERE status = 'queued' AND next_attempt_at <= ?
                AND (lease_until IS NULL OR lease_until <= ?) ORDER BY next_attempt_at, id LIMIT ?
                """, arguments: [now, now, limit])
            for row in rows {
                try db.execute(sql: "UPDATE outgoing_mail SET lease_until = ? WHERE id = ?", arguments: [now + lease, row["id"] as Int64])
            }
            return rows.map(Self.queued(from:))
        }
    }

    public func markSent(_ id: Int64) async throws {
        let now = clock.nowSeconds()
        try await db.write { db in
            try db.execute(sql: "UPDATE outgoing_mail SET status = 'sent', sent_at = ?, attempts = attempts + 1, lease_until = NULL, last_error = NULL WHERE id = ?",
                           arguments: [now, id])
        }
    }

    public func markFailed(_ id: Int64, error: String) async throws {
        let now = clock.nowSeconds()
        let policy = self.policy
        try await db.write { db in
            let attempts = (try Int.fetchOne(db, sql: "SELECT attempts FROM outgoing_mail WHERE id = ?", arguments: [id]) ?? 0) + 1
            let status = attempts >= policy.maxAttempts ? "failed" : "queued"
            try db.execute(sql: """
                UPDATE outgoing_mail SET attempts = ?, status = ?, next_attempt_at = ?, lease_until = NULL, last_error = ?
                WHERE id = ?
                """, arguments: [attempts, status, now + policy.delay(afterAttempt: attempts), String(error.prefix(1000)), id])
        }
    }

    public func all() async throws -> [QueuedMail] {
        try await db.read { db in try Row.fetchAll(db, sql: "SELECT * FROM outgoing_mail ORDER BY id").map(Self.queued(from:)) }
    }

    static func queued(from row: Row) -> QueuedMail {
        QueuedMail(
            id: row["id"],
            message: MailMessage(to: row["to_address"], subject: row["subject"], textBody: row["text_body"], htmlBody: row["html_body"]),
            attempts: row["attempts"], status: row["status"], lastError: row["last_error"])
    }
}

/// Drains the outbox through a `Mailer`. `runOnce` is one pass (tests, CLI); `run` loops until shutdown.
public struct MailDeliveryService: Sendable {
    let outbox: MailOutbox
    let mailer: any Mailer
    let from: String
    let logger: Logger

    public init(outbox: MailOutbox, mailer: any Mailer, from: String, logger: Logger) {
        self.outbox = outbox
        self.mailer = mailer
        self.from = from
        self.logger = logger
    }

    /// Returns how many were sent and how many failed in this pass.
    @discardableResult
    public func runOnce() async throws -> (sent: Int, failed: Int) {
        var sent = 0
        var failed = 0
        for mail in try await outbox.claimDue() {
            do {
                try await mailer.send(mail.message, from: from)
                try await outbox.markSent(mail.id)
                sent += 1
            } catch {
                failed += 1
                logger.warning("mail delivery failed; will retry", metadata: ["mail_id": "\(mail.id)", "error": "\(error)"])
                try await outbox.markFailed(mail.id, error: "\(error)")
            }
        }
        return (sent, failed)
    }

    public func run(every interval: Duration = .seconds(5)) async {
        while !Task.isCancelled {
            do {
                try await runOnce()
            } catch {
                logger.error("mail outbox pass failed", metadata: ["error": "\(error)"])
            }
            try? await Task.sleep(for: interval)
        }
    }
}
