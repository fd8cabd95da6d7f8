import Logging

/// One pass of the worker's billing jobs, in the order that lets each see the last one's results:
/// plan recurring charges, make the due ones, settle payments left without an answer, finish the
/// recurring charges those settled, then send reminders and card notices.
public struct BillingJobs: Sendable {
    let payments: PaymentService
    let charges: ScheduledChargeRunner
    let reminders: ReminderService
    let logger: Logger

    public init(services: PortalServices, logger: Logger) {
        payments = services.payments
        charges = services.scheduledCharges
        reminders = services.reminders
        self.logger = logger
    }

    public struct Report: Sendable, Equatable {
        public var charges = ScheduledChargeRunner.Summary()
        public var reconciled = 0
        public var reconcileErrors = 0
        public var reminders = 0
        public var cardsForgotten = 0
    }

    public func runOnce(worker: String, reconcileOlderThan: Int64? = nil) async throws -> Report {
        var report = Report()
        if payments.isConfigured {
            report.charges.planned = try await charges.plan()
            let made = try await charges.runDue(worker: worker)
            report.charges.succeeded = made.succeeded
            report.charges.failed = made.failed
            report.charges.awaiting = made.awaiting
            report.charges.skipped = made.skipped
            (report.reconciled, report.reconcileErrors) = try await reconcile(olderThan: reconcileOlderThan)
            try await charges.finishAwaiting()
            report.cardsForgotten = try await payments.forgetUnkeptCards()
        }
        report.reminders = try await reminders.runOnce()
        return report
    }

    /// Looks up every payment left without a final answer. One gateway failure doesn't stop the
    /// others; each is logged with the payment and tried again next pass.
    func reconcile(olderThan: Int64?) async throws -> (settled: Int, errors: Int) {
        var settled = 0
        var errors = 0
        for id in try await payments.unsettled(olderThan: olderThan) {
            do {
                try await payments.reconcile(paymentId: id)
                settled += 1
            } catch {
                errors += 1
                logger.error("reconcile failed", metadata: ["payment": "\(id)", "error": "\(error)"])
            }
        }
        return (settled, errors)
    }
}
