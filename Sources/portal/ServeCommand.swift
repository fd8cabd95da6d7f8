import ArgumentParser
import CreatioSync
import Hummingbird
import PortalCore
import PortalWeb

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the web portal (applies pending migrations first; also delivers queued mail).")

    @OptionGroup var options: ConfigOptions
    @OptionGroup var payments: PaymentOptions
    @OptionGroup var creatio: CreatioOptions

    func run() async throws {
        try await runReportingConfiguration {
            var configuration = try options.load()
            try payments.apply(to: &configuration)
            let logger = makeLogger(level: try options.logLevelValue())
            let runtime = try await Runtime.open(configuration, logger: logger, creatio: try creatio.optionalConfiguration(), servesPages: true)
            let app = try await buildApplication(settings: runtime.webSettings(), services: runtime.services, logger: logger,
                                                 backgroundServices: try runtime.backgroundServices())
            logger.notice("portal listening", metadata: ["url": "\(configuration.publicURL)", "bind": "\(configuration.bindHost):\(configuration.bindPort)",
                                                         "gateway": "\(runtime.services.gateway?.name ?? "none")"])
            try await app.runService()
        }
    }
}

struct Worker: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run background jobs: autopay and plan charges with retries, reconciliation of unanswered payments, reminders, mail delivery and clean-up; with PORTAL_CREATIO_URL set, also the Creatio pull and push.")

    @OptionGroup var options: ConfigOptions
    @OptionGroup var payments: PaymentOptions
    @OptionGroup var creatio: CreatioOptions
    @OptionGroup var integration: IntegrationOptions

    @Flag(help: "Run one pass of every job, then exit.")
    var once = false

    func run() async throws {
        try await runReportingConfiguration {
            var configuration = try options.load(needPublicURL: .required)
            try payments.apply(to: &configuration)
            try integration.apply(to: &configuration)
            let logger = makeLogger(level: try options.logLevelValue())
            let creatioSettings = creatio.isConfigured ? try creatio.settings() : nil
            let runtime = try await Runtime.open(configuration, logger: logger)
            let services = runtime.services
            let creatioPass = creatioSettings?.pass(database: services.database, directory: services.directory, invoices: services.invoices,
                                                    outbox: services.crmOutbox, links: services.paymentLinks, logger: logger)
            if once {
                let billing = try await BillingJobs(services: runtime.services, logger: logger).runOnce(worker: Runtime.workerName())
                // Before delivery, so an alert it queues goes out in this pass.
                let alerts = try await runtime.services.syncAlerts.check()
                let delivery = MailDeliveryService(outbox: runtime.services.outbox, mailer: try runtime.mailer(),
                                                   from: configuration.mailFrom, logger: logger)
                let result = try await delivery.runOnce()
                let purged = try await runtime.services.sessions.purgeExpired()
                let charges = billing.charges
                print("charges planned: \(charges.planned), succeeded: \(charges.succeeded), failed: \(charges.failed), "
                      + "awaiting the gateway: \(charges.awaiting), skipped: \(charges.skipped); payments reconciled: \(billing.reconciled) "
                      + "(errors: \(billing.reconcileErrors)); reminders queued: \(billing.reminders)")
                print("mail sent: \(result.sent), mail failed (will retry): \(result.failed), expired sessions removed: \(purged)")
                if let creatioPass { print(await creatioPass.runOnce().description) }
                for (word, kinds) in [("opened", alerts.opened), ("cleared", alerts.cleared)] where !kinds.isEmpty {
                    print("integration alerts \(word): \(kinds.map(\.rawValue).joined(separator: ", "))")
                }
                return
            }
            var jobs = try runtime.workerServices()
            if let creatioPass, let interval = creatioSettings?.interval {
                // The pass logs its own failures; it never throws, so one bad round never stops the loop.
                jobs.append(PeriodicService(name: "creatio", interval: .seconds(interval), logger: logger) { _ = await creatioPass.runOnce() })
                // Creatio keeps no record of deletions: every id is compared, so far less often than the pull,
                // and not at start, where it would compete with the first pull on every restart or deploy.
                jobs.append(PeriodicService(name: "creatio-deletions", interval: .seconds(CreatioPass.deletionScanInterval),
                                            firstRunAfter: .seconds(CreatioPass.deletionScanFirstRunAfter), logger: logger) {
                    _ = await creatioPass.scanDeletions()
                })
            }
            let group = ServiceGroup(services: jobs, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
            try await group.run()
        }
    }
}

import ServiceLifecycle
