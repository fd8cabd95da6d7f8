import Logging

/// One round with Creatio: pull (accounts, invoices, lines), then push the CRM outbox. The push
/// runs whatever the pull did, since a pull stopped by one entity has no bearing on what the
/// portal owes the CRM. Every failure is logged here and kept in the report.
public struct CreatioPass: Sendable {
    let sync: CreatioSyncService
    let push: CreatioPushService
    let logger: Logger

    public init(sync: CreatioSyncService, push: CreatioPushService, logger: Logger) {
        self.sync = sync
        self.push = push
        self.logger = logger
    }

    public struct Report: Sendable, CustomStringConvertible {
        public var pull: SyncReport
        public var push: PushReport
        public var succeeded: Bool { pull.succeeded && push.succeeded }
        public var description: String { "\(pull)\n\(push)" }
    }

    public func runOnce() async -> Report {
        let pulled = await sync.runOnce()
        for entity in pulled.entities {
            if let error = entity.error { logger.error("Creatio pull stopped", metadata: ["entity": "\(entity.entity)", "error": "\(error)"]) }
            if entity.failed > 0 { logger.warning("Creatio records not imported", metadata: ["entity": "\(entity.entity)", "count": "\(entity.failed)"]) }
        }
        return Report(pull: pulled, push: await push.runOnce())
    }
}
