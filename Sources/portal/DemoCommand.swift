import ArgumentParser
import Foundation
import Hummingbird
import PortalCore
import PortalWeb

/// `portal demo`: a fresh database under var/demo, seeded with fixed logins, mail written to
/// var/mail as .eml files, then the portal served. Nothing here exists outside the demo.
struct Demo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Create a fresh demo database with seeded data and fixed logins, then serve it.")

    @OptionGroup var options: ConfigOptions

    @Flag(help: "Seed and print the logins, then exit without serving.")
    var seedOnly = false

    func run() async throws {
        try await runReportingConfiguration {
            let cwd = FileManager.default.currentDirectoryPath
            let demoDirectory = cwd + "/var/demo"
            try FileManager.default.createDirectory(atPath: demoDirectory, withIntermediateDirectories: true)
            let keyFile = demoDirectory + "/portal.key"
            if !FileManager.default.fileExists(atPath: keyFile) { try SecretBox.generateKeyFile(at: keyFile) }
            var options = self.options
            if options.database == nil { options.database = demoDirectory + "/portal.sqlite" }
            let configuration = try options.load(
                needPublicURL: .optional, needMail: .optional, defaultKeyFile: keyFile,
                defaultSMTP: "file://" + cwd + "/var/mail", defaultMailFrom: "Payment Portal Demo <billing@demo.example.com>",
                defaultCompany: ("Northwind Industrial Supplies GmbH", "Industriestraße 5\n70565 Stuttgart\nGermany"))
            for suffix in ["", "-wal", "-shm"] {
                try? FileManager.default.removeItem(atPath: configuration.databasePath + suffix)
            }
            let logger = makeLogger(level: try options.logLevelValue())
            let runtime = try await Runtime.open(configuration, logger: logger)
            let seeded = try await DemoSeed(services: runtime.services).run()

            // Written unbuffered: the server runs on and the logins must show at once.
            FileHandle.standardOutput.write(Data("""

            Payment Portal demo
            ===================
            Open:      \(configuration.publicURL)/login
            Customers: alice@example.com, bob@example.com   password: \(DemoSeed.password)
                       TOTP secret for every enrolled demo user: \(DemoSeed.totpSecret)
                       (add it to an authenticator app, or: oathtool --totp -b \(DemoSeed.totpSecret))
            Invited:   carol@example.com — accept at \(seeded.carolInviteLink)
            Staff:     admin@example.com   password: \(DemoSeed.password)  (staff console arrives with a later release)
            Mail:      written to \(cwd)/var/mail/*.eml
            Database:  \(configuration.databasePath)


            """.utf8))
            if seedOnly { return }
            let app = try await buildApplication(settings: runtime.webSettings(), services: runtime.services, logger: logger,
                                                 backgroundServices: try runtime.backgroundServices())
            try await app.runService()
        }
    }
}
