import Foundation
import GRDB

/// Opens the SQLite database the way every process (server, worker, CLI) must: WAL through a
/// pool, foreign keys enforced, and a busy timeout so a writer waits briefly instead of failing.
public enum PortalDatabase {
    public static func open(path: String, readers: Int = 8) throws -> DatabasePool {
        let url = URL(fileURLWithPath: path)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        var configuration = Configuration()
        configuration.foreignKeysEnabled = true
        configuration.busyMode = .timeout(5)
        configuration.maximumReaderCount = readers
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
            // The one writer gets a 64 MiB page cache (SQLite's default is 2 MiB): a CRM import's page
            // touches thousands of index pages spread by random ids, and a small cache spilled and
            // re-read them within every transaction. The cache fills only as far as it is used.
            // Its checkpoints run every 10,000 WAL pages (not 1,000): a page of such an import writes
            // thousands, so the default copied them into the database after every commit, again and again.
            if !db.configuration.readonly { try db.execute(sql: "PRAGMA cache_size = -65536; PRAGMA wal_autocheckpoint = 10000") }
        }
        // DatabasePool always runs in WAL mode.
        return try DatabasePool(path: path, configuration: configuration)
    }

    public static func isHealthy(_ reader: any DatabaseReader) async -> Bool {
        do {
            return try await reader.read { db in try Int.fetchOne(db, sql: "SELECT 1") == 1 }
        } catch {
            return false
        }
    }
}
