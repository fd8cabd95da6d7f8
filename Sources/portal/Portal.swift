import ArgumentParser
import PortalCore
import PortalWeb

@main
struct Portal: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "portal",
        abstract: "Customer self-service payment portal for Creatio.",
        discussion: """
        Every setting can be given as an option or as the environment variable named in its help;
        options win over the environment. Run `portal demo` to try it with seeded data.
        """,
        subcommands: [Serve.self, Worker.self, Migrate.self, Demo.self, UserCommand.self, StaffCommand.self, KeyCommand.self, ApiKeyCommand.self, PaymentLinksCommand.self, BenchCommand.self, SandboxGatewayCommand.self, CreatioSimulatorCommand.self, GatewayCommand.self, SyncCommand.self]
    )
}

/// Runs a command body and turns configuration problems into one clear line and exit code 78 (EX_CONFIG).
func runReportingConfiguration(_ body: () async throws -> Void) async throws {
    do {
        try await body()
    } catch let error as ConfigurationError {
        printError(error.description)
        throw ExitCode(78)
    } catch let error as MigrationError {
        printError("database error: \(error.description)")
        throw ExitCode(78)
    } catch let error as MailTemplateError {
        printError(error.description)
        throw ExitCode(78)
    } catch let error as TemplateError {
        printError(error.description)
        throw ExitCode(78)
    } catch let error as InvoicePDFError {
        printError("PORTAL_PDF_FONT: \(error.description)")
        throw ExitCode(78)
    }
}

func printError(_ line: String) {
    var stderr = StandardError()
    print(line, to: &stderr)
}

struct StandardError: TextOutputStream {
    mutating func write(_ string: String) {
        FileHandle.standardError.write(Data(string.utf8))
    }
}

import Foundation
