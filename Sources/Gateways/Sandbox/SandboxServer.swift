import Foundation
import Hummingbird
import Logging
import PortalCore

/// The sandbox gateway as a running service: its own listener, its own SQLite file.
public enum SandboxServer {
    public static func application(host: String, port: Int, databasePath: String, settings: SandboxSettings,
                                   fingerprintSecret: String, logger: Logger) throws -> some ApplicationProtocol {
        let engine = try SandboxEngine(db: try PortalDatabase.open(path: databasePath, readers: 2), clock: .system,
                                       fingerprintSecret: fingerprintSecret)
        return Application(router: SandboxAPI.router(engine: engine, settings: settings),
                           configuration: .init(address: .hostname(host, port: port), serverName: nil), logger: logger)
    }
}
