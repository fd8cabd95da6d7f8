import ArgumentParser
import Foundation
import PortalCore

struct StaffCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "staff", abstract: "Manage staff users.",
                                                    subcommands: [Create.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a staff user. The password is read from standard input; MFA enrolment is required at first sign-in.")

        @OptionGroup var options: ConfigOptions

        @Option(help: "The staff member's email address.")
        var email: String

        @Option(help: "support, finance or admin.")
        var role: String

        @Option(help: "The staff member's name.")
        var name: String = ""

        func run() async throws {
            try await runReportingConfiguration {
                guard let staffRole = StaffRole(rawValue: role) else {
                    printError("--role must be support, finance or admin")
                    throw ExitCode.validationFailure
                }
                let configuration = try options.load(needPublicURL: .optional, needMail: .optional)
                let runtime = try await Runtime.open(configuration, logger: makeLogger(level: try options.logLevelValue()))
                if isatty(STDIN_FILENO) == 1 { print("Password for \(email) (12+ characters): ", terminator: "") }
                let password = readLine(strippingNewline: true) ?? ""
                do {
                    let staff = try await runtime.services.directory.createStaff(
                        email: email, name: name, role: staffRole, password: password,
                        actor: AuditEvent(action: "staff.create", actorKind: .system, actorLabel: "cli", clientAddress: "cli"))
                    print("created \(staff.role.rawValue) \(staff.email) (\(staff.id))")
                } catch let error as DirectoryError {
                    switch error {
                    case .emailTaken(let email): printError("a staff user \(email) already exists")
                    case .invalidEmail: printError("\(email) is not a valid email address")
                    case .weakPassword(let violation): printError("password refused: \(violation.message)")
                    case .unknownAccount: printError("unknown account")
                    }
                    throw ExitCode.failure
                }
            }
        }
    }
}
