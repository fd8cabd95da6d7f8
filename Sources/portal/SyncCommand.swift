import ArgumentParser
import CreatioSync
import Foundation
import GRDB
import PortalCore

struct SyncCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sync",
        abstract: "Pull accounts, invoices and invoice lines from Creatio (incrementally by ModifiedOn), then push payment results, refunds and payment links to it.")

    @OptionGroup var options: ConfigOptions
    @OptionGroup var creatio: CreatioOptions

    @Flag(help: "Run one pull and push, print what they did, and exit (status 1 if any entity stopped early or any push failed).")
    var once = false

    @Flag(help: "Also look for records deleted in Creatio (reads every id; the worker does this every 6 hours).")
    var deletions = false

    func run() async throws {
        try await runReportingConfiguration {
            let configuration = try options.load(needPublicURL: .optional, needMail: .optional, needKey: .optional)
            let settings = try creatio.settings()
            let logger = makeLogger(level: try options.logLevelValue())
            let sync: CreatioPass
            if configuration.keyFile.isEmpty {
                // Without the key there are no payment links to issue; the pull and push still run.
                let database = try Runtime.openDatabase(configuration, logger: logger)
                print("PORTAL_KEY_FILE is not set: payment links are not issued by this pass")
                sync = settings.pass(database: database, directory: DirectoryService(db: database, hasher: PasswordHasher(), clock: .system),
                                     invoices: InvoiceService(db: database, clock: .system), outbox: CRMOutbox(db: database, clock: .system),
                                     links: nil, logger: logger)
            } else {
                let services = try await Runtime.open(configuration, logger: logger).services
                sync = settings.pass(database: services.database, directory: services.directory, invoices: services.invoices,
                                     outbox: services.crmOutbox, links: services.paymentLinks, logger: logger)
            }
            while true {
                let report = await sync.runOnce()
                print(report.description)
                var succeeded = report.succeeded
                if deletions {
                    let scan = await sync.scanDeletions()
                    print("deletion scan:\n\(scan.description)")
                    succeeded = succeeded && scan.succeeded
                }
                if once {
                    if !succeeded { throw ExitCode(1) }
                    return
                }
                try await Task.sleep(for: .seconds(settings.interval))
            }
        }
    }
}
