import Foundation
import GRDB
@testable import PortalCore

/// A fresh, migrated SQLite file per test, in its own temporary directory.
struct TestDatabase {
    let directory: URL
    let pool: DatabasePool

    static var repositoryRoot: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    static var migrationsDirectory: String { repositoryRoot.appendingPathComponent("Migrations").path }
    static var templatesDirectory: String { repositoryRoot.appendingPathComponent("Templates").path }

    init(migrate: Bool = true) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("portal-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        pool = try PortalDatabase.open(path: directory.appendingPathComponent("portal.sqlite").path)
        if migrate { try Migrator(directory: Self.migrationsDirectory).migrate(pool) }
    }
}

/// The whole service layer over a test database, with a hand-moved clock and cheap hashing.
struct TestServices {
    let database: TestDatabase
    let clock: ManualClock
    let services: PortalServices

    static let cheapHashing = Argon2Parameters(memoryKiB: 1024, iterations: 1, parallelism: 1)

    init() async throws {
        database = try TestDatabase()
        clock = ManualClock()
        var dependencies = PortalServices.Dependencies(
            database: database.pool, clock: clock.clock,
            secrets: SecretBox(key: .init(size: .bits256)),
            hasher: PasswordHasher(testingParameters: Self.cheapHashing),
            mailTemplates: try await MailTemplates(directory: TestDatabase.templatesDirectory),
            links: LinkBuilder(publicURL: "https://portal.test"))
        // The session and invoice reads as `portal serve` makes them.
        dependencies.servingPages()
        services = try await PortalServices(dependencies)
    }

    /// An active customer with a password and a confirmed authenticator; returns id and secret.
    func activeCustomer(_ email: String = "alice@example.com", password: String = "correct horse battery") async throws -> (id: String, secret: [UInt8]) {
        let account = try await services.directory.upsertAccount(name: "Acme \(email)", externalId: "ext-\(email)")
        _ = try await services.invitations.invite(email: email, accounts: [account.id], invitedBy: AuditEvent(action: "t", actorKind: .system))
        let id = try await services.directory.activateCustomerForDemo(email: email, password: password)
        let secret = TOTPGenerator.newSecret()
        _ = try await services.mfa.enrolKnownSecret(.customer(id), secret: secret)
        return (id, secret)
    }

    func code(_ secret: [UInt8]) -> String { TOTPGenerator(secret: secret).code(at: clock.date) }
}

import Crypto
