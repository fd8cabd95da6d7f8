import ArgumentParser
import Foundation
import PortalCore
import PortalWeb

/// `portal payment-links …`: the keys links are signed with, and issuing a link by hand.
struct PaymentLinksCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "payment-links", abstract: "Manage payment links and their signing keys.",
                                                    subcommands: [RotateKey.self, RetireKey.self, Keys.self, Issue.self])

    struct RotateKey: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rotate-key",
            abstract: "Make a new signing key. New links use it; links signed with older keys keep working until they expire or their key is retired.")

        @OptionGroup var options: ConfigOptions

        func run() async throws {
            try await withPaymentLinks(options) { links in
                print("new signing key \(try await links.keys.rotate()); new links are signed with it")
            }
        }
    }

    struct RetireKey: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "retire-key",
                                                        abstract: "Retire a signing key: every link signed with it stops working at once.")

        @OptionGroup var options: ConfigOptions

        @Argument(help: "The key's id (from `portal payment-links keys`).")
        var id: Int64

        func run() async throws {
            try await withPaymentLinks(options) { links in
                try await links.keys.retire(id: id)
                print("retired signing key \(id)")
            }
        }
    }

    struct Keys: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List signing keys (ids and dates, never the keys).")

        @OptionGroup var options: ConfigOptions

        func run() async throws {
            try await withPaymentLinks(options) { links in
                for key in try await links.keys.list() {
                    let state = key.isCurrent ? "current" : key.retiredAt.map { "retired \(ISOTime.string($0))" } ?? "verifies older links"
                    print("\(key.id)\tcreated \(ISOTime.string(key.createdAt))\t\(state)")
                }
            }
        }
    }

    struct Issue: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print an invoice's payment link (its current one, or a new one).")

        @OptionGroup var options: ConfigOptions

        @Argument(help: "The portal's invoice id or the CRM's Invoice.Id.")
        var invoice: String

        func run() async throws {
            try await withPaymentLinks(options, needPublicURL: true) { links in
                let link = try await links.issue(invoiceId: invoice, actor: AuditEvent(action: "", actorKind: .system, actorLabel: "cli",
                                                                                       clientAddress: "cli"))
                print(link.url)
                print("expires \(ISOTime.string(link.expiresAt))")
            }
        }
    }
}

private func withPaymentLinks(_ options: ConfigOptions, needPublicURL: Bool = false,
                              _ body: (PaymentLinkService) async throws -> Void) async throws {
    try await withServices(options, needPublicURL: needPublicURL) { try await body($0.paymentLinks) }
}
