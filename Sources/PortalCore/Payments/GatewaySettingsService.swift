import Foundation
import GRDB

/// A gateway's settings as stored: public values in the clear, secrets sealed.
public struct GatewaySettings: Sendable, Equatable {
    public var gateway: String
    public var publicSettings: [String: String]
    public var secrets: [String: String]

    public init(gateway: String, publicSettings: [String: String], secrets: [String: String]) {
        self.gateway = gateway
        self.publicSettings = publicSettings
        self.secrets = secrets
    }

    /// Secrets as they may be shown back: never in full.
    public var maskedSecrets: [String: String] {
        secrets.mapValues(Self.mask)
    }

    /// "sk_sandbox_demo" → "sk_s…demo"; short values show nothing.
    public static func mask(_ value: String) -> String {
        guard value.count >= 12 else { return "••••" }
        return String(value.prefix(4)) + "…" + String(value.suffix(4))
    }
}

/// Stores which gateway the portal uses and its credentials, encrypted at rest.
public struct GatewaySettingsService: Sendable {
    let db: any DatabaseWriter
    let secretBox: SecretBox
    let clock: PortalClock

    public init(db: any DatabaseWriter, secretBox: SecretBox, clock: PortalClock) {
        self.db = db
        self.secretBox = secretBox
        self.clock = clock
    }

    /// Saves and activates a gateway's settings (the previous active one is deactivated).
    public func configure(_ settings: GatewaySettings, actor: AuditEvent) async throws {
        let now = clock.nowSeconds()
        let publicJSON = String(decoding: try JSONEncoder.sorted.encode(settings.publicSettings), as: UTF8.self)
        let sealed = try secretBox.seal(Array(try JSONEncoder.sorted.encode(settings.secrets)), context: "gateway:\(settings.gateway)")
        try await db.write { db in
            try db.execute(sql: "UPDATE gateway_settings SET active = 0 WHERE active = 1")
            try db.execute(sql: """
                INSERT INTO gateway_settings (gateway, active, public_settings, secrets_sealed, updated_at, updated_by)
                VALUES (?, 1, ?, ?, ?, ?)
                ON CONFLICT(gateway) DO UPDATE SET active = 1, public_settings = excluded.public_settings,
                    secrets_sealed = excluded.secrets_sealed, updated_at = excluded.updated_at, updated_by = excluded.updated_by
                """, arguments: [settings.gateway, publicJSON, Data(sealed), now, actor.actorLabel])
            var event = actor
            event.action = "gateway.configure"
            event.details["gateway"] = settings.gateway
            event.details["secrets"] = settings.maskedSecrets.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
            try AuditService.insert(event, now: now, db)
        }
    }

    /// The active gateway's settings, secrets opened; nil when none is configured.
    public func active() async throws -> GatewaySettings? {
        let row: (String, String, Data)? = try await db.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM gateway_settings WHERE active = 1").map {
                ($0["gateway"], $0["public_settings"], $0["secrets_sealed"])
            }
        }
        guard let (gateway, publicJSON, sealed) = row else { return nil }
        let secrets = try secretBox.open(Array(sealed), context: "gateway:\(gateway)")
        return GatewaySettings(
            gateway: gateway,
            publicSettings: (try? JSONDecoder().decode([String: String].self, from: Data(publicJSON.utf8))) ?? [:],
            secrets: try JSONDecoder().decode([String: String].self, from: Data(secrets)))
    }
}
