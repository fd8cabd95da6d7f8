import ArgumentParser
import Configuration
import CreatioSync
import PortalCore
import ServiceLifecycle

/// `portal creatio-simulator`: the in-repo Creatio simulator alone, for development and tests.
struct CreatioSimulatorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "creatio-simulator",
        abstract: "Run the Creatio simulator alone (forms and OAuth sign-in, OData 4, $batch), optionally with the demo's CRM data.")

    @Option(help: "Address to listen on. Env: PORTAL_CREATIO_SIMULATOR_BIND. Default: 127.0.0.1:8082")
    var bind: String?
    @Flag(name: .customLong("demo-data"), help: "Seed the demo's account, contacts and invoices (and the Usr… payment fields).")
    var demoData = false

    func run() async throws {
        try await runReportingConfiguration {
            let env = ConfigReader(providers: [EnvironmentVariablesProvider()])
            let (host, port) = try PortalConfiguration.parseBind(bind ?? env.string(forKey: "portal.creatio.simulator.bind", default: "127.0.0.1:8082"))
            let simulator = CreatioSimulator()
            if demoData {
                let crm = await simulator.seedDemo()
                print("demo CRM account \(crm.accountId) (\(crm.accountName)); sign in as \(crm.user) / \(crm.password)")
            }
            let logger = makeLogger(level: .info)
            logger.notice("Creatio simulator listening", metadata: ["bind": "\(host):\(port)"])
            try await ServiceGroup(services: [simulator.application(host: host, port: port, logger: logger)],
                                   gracefulShutdownSignals: [.sigterm, .sigint], logger: logger).run()
        }
    }
}


