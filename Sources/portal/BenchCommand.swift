import ArgumentParser
import Foundation
import PortalCore
import PortalWeb

/// Tools for `make bench`: build the large data set, and time PDF and page rendering in-process.
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "bench", abstract: "Benchmark helpers (used by `make bench`).",
                                                    subcommands: [Seed.self, PDF.self, Page.self, BenchAutopay.self, BenchCreatioImport.self])

    struct Seed: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a benchmark database: accounts, invoices, lines and a signed-in-able user.")

        @OptionGroup var options: ConfigOptions
        @Option var accounts = 100_000
        @Option var invoices = 1_000_000
        @Option var lines = 5_000_000
        @Option(help: "Email of the benchmark customer (password and TOTP secret as in the demo).")
        var email = "bench@example.com"

        func run() async throws {
            try await runReportingConfiguration {
                let configuration = try options.load(needPublicURL: .optional, needMail: .optional)
                for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: configuration.databasePath + suffix) }
                let runtime = try await Runtime.open(configuration, logger: makeLogger(level: try options.logLevelValue()))
                let started = Date()
                let result = try BenchmarkData(accounts: accounts, invoices: invoices, lines: lines)
                    .generate(into: runtime.services.database, today: CalendarDate(Date())) { printNow($0) }
                let system = AuditEvent(action: "bench.seed", actorKind: .system, actorLabel: "bench")
                _ = try await runtime.services.invitations.invite(email: email, name: "Bench User", accounts: [result.benchAccountId], invitedBy: system)
                let id = try await runtime.services.directory.activateCustomerForDemo(email: email, password: DemoSeed.password)
                _ = try await runtime.services.mfa.enrolKnownSecret(.customer(id), secret: Base32.decode(DemoSeed.totpSecret)!)
                printNow("seeded in \(Int(Date().timeIntervalSince(started))) s; pdf invoice \(result.pdfInvoiceId)")
            }
        }
    }

    struct PDF: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Render one invoice's PDF many times and print the median time.")

        @OptionGroup var options: ConfigOptions
        @Option var invoice: String
        @Option var email = "bench@example.com"
        @Option var runs = 200
        @Option(help: "Write the rendered PDF here, to look at.")
        var out: String?

        func run() async throws {
            try await runReportingConfiguration {
                let configuration = try options.load(needPublicURL: .optional, needMail: .optional)
                let runtime = try await Runtime.open(configuration, logger: makeLogger(level: try options.logLevelValue()))
                guard let user = try await runtime.services.users.credential(email: email, kind: .customer) else {
                    printError("no customer \(email); run `portal bench seed` first")
                    throw ExitCode.failure
                }
                let detail = try await runtime.services.invoices.detail(userId: user.principal.id, invoiceId: invoice)
                let renderer = try InvoicePDFRenderer(settings: configuration.documents)
                var samples: [Double] = []
                var pages = 0
                var last: [UInt8] = []
                for _ in 0..<runs {
                    let start = ContinuousClock.now
                    let bytes = try renderer.render(detail, payURL: configuration.publicURL + "/invoices/" + invoice)
                    let elapsed = ContinuousClock.now - start
                    samples.append(Double(elapsed.components.attoseconds) / 1e15 + Double(elapsed.components.seconds) * 1000)
                    pages = bytes.count
                    last = bytes
                }
                if let out { try Data(last).write(to: URL(fileURLWithPath: out)) }
                samples.sort()
                printNow(String(format: "pdf lines=%d bytes=%d runs=%d median_ms=%.2f p90_ms=%.2f", detail.lines.count, pages, runs,
                             samples[samples.count / 2], samples[samples.count * 9 / 10]))
            }
        }
    }
}

extension BenchCommand {
    struct Page: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Time the invoice list's stages in-process (session lookup, list query, render) and print medians.")

        @OptionGroup var options: ConfigOptions
        @Option var email = "bench@example.com"
        @Option(help: "The list's query string.")
        var query = ""
        @Option var runs = 2_000

        func run() async throws {
            try await runReportingConfiguration {
                let configuration = try options.load(needPublicURL: .optional, needMail: .optional)
                // The page's stages as `portal serve` runs them.
                let runtime = try await Runtime.open(configuration, logger: makeLogger(level: try options.logLevelValue()), servesPages: true)
                let stages = try await PageBench.invoiceList(services: runtime.services, templatesDirectory: configuration.templatesDirectory,
                                                             email: email, query: query, runs: runs)
                for stage in stages {
                    printNow(stage.name.padding(toLength: 48, withPad: " ", startingAt: 0)
                             + String(format: " median_us=%8.1f p90_us=%8.1f", stage.medianMicroseconds, stage.p90Microseconds))
                }
            }
        }
    }
}

/// Progress lines must show while a long job runs, so they bypass print's buffer.
func printNow(_ line: String) { FileHandle.standardOutput.write(Data((line + "\n").utf8)) }
