import Foundation
import GRDB
import Testing
@testable import PortalCore

@Suite struct GatewaySettingsServiceTests {
    @Test func credentialsAreSealedAtRestAndShownMasked() async throws {
        let t = try await TestServices()
        #expect(try await t.services.gatewaySettings.active() == nil)
        let settings = GatewaySettings(gateway: "sandbox", publicSettings: ["url": "http://127.0.0.1:8081", "public_key": "pk_sandbox_live"],
                                       secrets: ["secret_key": "sk_sandbox_very_secret_1234", "webhook_secret": "whsec_also_secret_9876"])
        try await t.services.gatewaySettings.configure(settings, actor: AuditEvent(action: "", actorKind: .system, actorLabel: "cli"))
        #expect(try await t.services.gatewaySettings.active() == settings)
        #expect(settings.maskedSecrets == ["secret_key": "sk_s…1234", "webhook_secret": "whse…9876"])
        #expect(GatewaySettings.mask("short") == "••••")

        // Nothing secret in the database files or the audit trail.
        try await t.database.pool.writeWithoutTransaction { try $0.checkpoint(.truncate) }
        for file in ["portal.sqlite", "portal.sqlite-wal"] {
            let path = t.database.directory.appendingPathComponent(file).path
            guard let bytes = FileManager.default.contents(atPath: path) else { continue }
            #expect(bytes.range(of: Data("sk_sandbox_very_secret_1234".utf8)) == nil, "\(file)")
            #expect(bytes.range(of: Data("whsec_also_secret_9876".utf8)) == nil, "\(file)")
        }
        let audit = try await t.services.audit.events(action: "gateway.configure")
        #expect(audit.count == 1 && audit[0].details["secrets"]?.contains("sk_s…1234") == true)

        // Sealed for this gateway's row only: moved to another name, it does not open.
        try await t.database.pool.write { db in
            try db.execute(sql: "UPDATE gateway_settings SET gateway = 'stripe'")
        }
        await #expect(throws: SecretBoxError.openFailed) { try await t.services.gatewaySettings.active() }
    }

    @Test func configuringAnotherGatewayReplacesTheActiveOne() async throws {
        let t = try await TestServices()
        let actor = AuditEvent(action: "", actorKind: .system, actorLabel: "cli")
        try await t.services.gatewaySettings.configure(GatewaySettings(gateway: "sandbox", publicSettings: ["url": "a"], secrets: ["secret_key": "1"]), actor: actor)
        try await t.services.gatewaySettings.configure(GatewaySettings(gateway: "sandbox", publicSettings: ["url": "b"], secrets: ["secret_key": "2"]), actor: actor)
        let active = try await t.services.gatewaySettings.active()
        #expect(active?.publicSettings["url"] == "b" && active?.secrets["secret_key"] == "2")
        let rows = try await t.database.pool.read { try Int.fetchOne($0, sql: "SELECT count(*) FROM gateway_settings WHERE active = 1") }
        #expect(rows == 1)
    }
}
