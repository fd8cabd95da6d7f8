import ArgumentParser
import PortalCore

struct UserCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "user", abstract: "Manage customer users.",
                                                    subcommands: [Invite.self])

    struct Invite: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Invite a customer to one or more accounts; queues the email and prints the invite link.")

        @OptionGroup var options: ConfigOptions

        @Option(help: "The customer's email address.")
        var email: String

        @Option(help: "Account id or Creatio account id; repeat for several accounts.")
        var account: [String]

        @Option(help: "The customer's name.")
        var name: String = ""

        func run() async throws {
            try await runReportingConfiguration {
                let configuration = try options.load(needMail: .optional)
                let runtime = try await Runtime.open(configuration, logger: makeLogger(level: try options.logLevelValue()))
                guard !account.isEmpty else {
                    printError("give at least one --account")
                    throw ExitCode.validationFailure
                }
                do {
                    let invitation = try await runtime.services.invitations.invite(
                        email: email, name: name, accounts: account,
                        invitedBy: AuditEvent(action: "user.invite", actorKind: .system, actorLabel: "cli", clientAddress: "cli"))
                    print(invitation.link)
                } catch InvitationError.unknownAccount(let reference) {
                    printError("no account with id or Creatio id \(reference)")
                    throw ExitCode.failure
                } catch InvitationError.invalidEmail {
                    printError("\(email) is not a valid email address")
                    throw ExitCode.failure
                }
            }
        }
    }
}
