import ArgumentParser
import Foundation
import PortalCore

struct KeyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "key", abstract: "Manage the data-encryption key.",
                                                    subcommands: [Generate.self])

    struct Generate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Write a new random 256-bit key file (mode 600).")

        @Option(help: "Where to write the key.")
        var out: String

        func run() async throws {
            guard !FileManager.default.fileExists(atPath: out) else {
                printError("\(out) already exists; refusing to overwrite a key (data sealed with it would become unreadable)")
                throw ExitCode.failure
            }
            try SecretBox.generateKeyFile(at: out)
            print("wrote \(out)")
        }
    }
}
