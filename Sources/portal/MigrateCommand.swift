import ArgumentParser
import PortalCore

struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Apply pending database migrations, or list them with --status.")

    @OptionGroup var options: ConfigOptions

    @Flag(help: "List applied and pending migrations without applying anything.")
    var status = false

    func run() async throws {
        try await runReportingConfiguration {
            let configuration = try options.load(needPublicURL: .optional, needMail: .optional, needKey: .optional)
            let database = try PortalDatabase.open(path: configuration.databasePath)
            let migrator = Migrator(directory: configuration.migrationsDirectory)
            if status {
                try migrator.verify(database)
                let state = try migrator.status(database)
                for applied in state.applied { print("applied  \(applied.name)") }
                for pending in state.pending { print("pending  \(pending)") }
                if state.applied.isEmpty && state.pending.isEmpty { print("no migrations found") }
                return
            }
            let applied = try migrator.migrate(database)
            print(applied.isEmpty ? "database is up to date" : applied.map { "applied  \($0)" }.joined(separator: "\n"))
        }
    }
}
