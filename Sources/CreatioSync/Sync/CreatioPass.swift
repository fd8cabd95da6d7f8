import Logging
import PortalCore

/// One round with Creatio: pull (accounts, invoices, lines), then push the CRM outbox. The push
/// runs whatever the pull did, since a pull stopped by one entity has no bearing on what the
/// portal owes the CRM. Every failure is logged here and kept in the report.
public struct CreatioPass: Sendable {
    let sync: CreatioSyncService
    let push: CreatioPushService
    /// Issues the links of newly pulled invoices (their URLs go out with the push); nil where the
    /// portal's public address or key is not configured.
    let links: PaymentLinkService?
    let logger: Logger
    /// Links issued per pass: the first import of a large CRM spreads its links over a few passes.
    static let linksPerPass = 5_000
    /// Seconds between deletion scans in `portal worker`.
    public static let deletionScanInterval = 6 * 3_600
    /// Seconds after the worker starts before its first deletion scan.
    public static let deletionScanFirstRunAfter = 15 * 60

    public init(sync: CreatioSyncService, push: CreatioPushService, links: PaymentLinkService? = nil, logger: Logger) {
        self.sync = sync
        self.push = push
        self.links = links
        self.logger = logger
    }

    public struct Report: Sendable, CustomStringConvertible {
        public var pull: SyncReport
        public var push: PushReport
        public var linksIssued = 0
        public var linkError: String?
        public var succeeded: Bool { pull.succeeded && push.succeeded && linkError == nil }
        public var description: String {
            "\(pull)\npayment links issued: \(linksIssued)" + (linkError.map { " — stopped: \($0)" } ?? "") + "\n\(push)"
        }
    }

    public func runOnce() async -> Report {
        let pulled = await sync.runOnce()
        for entity in pulled.entities {
            if let error = entity.error { logger.error("Creatio pull stopped", metadata: ["entity": "\(entity.entity)", "error": "\(error)"]) }
            if entity.failed > 0 { logger.warning("Creatio records not imported", metadata: ["entity": "\(entity.entity)", "count": "\(entity.failed)"]) }
        }
        var linksIssued = 0
        var linkError: String?
        if let links {
            do {
                linksIssued = try await links.issueMissingForCRMInvoices(
                    limit: Self.linksPerPass, actor: AuditEvent(action: "", actorKind: .system, actorLabel: "CRM sync"))
            } catch {
                linkError = "\(error)"
                logger.error("payment links not issued", metadata: ["error": "\(error)"])
            }
        }
        return Report(pull: pulled, push: await push.runOnce(), linksIssued: linksIssued, linkError: linkError)
    }

    /// The deletion scan (every id in Creatio against the portal's), logged like a pass.
    public func scanDeletions() async -> SyncReport {
        let report = await sync.scanDeletions()
        for entity in report.entities {
            if let error = entity.error { logger.error("Creatio deletion scan stopped", metadata: ["entity": "\(entity.entity)", "error": "\(error)"]) }
        }
        return report
    }
}
