import Crypto
import Foundation
import GRDB

public enum MigrationError: Error, Equatable, CustomStringConvertible {
    case directoryMissing(String)
    case badFileName(String)
    case checksumChanged(String)
    case appliedFileMissing(String)
    case failed(String, String)

    public var description: String {
        switch self {
        case .directoryMissing(let path):
            "migrations directory \(path) not found"
        case .badFileName(let name):
            "migration file \(name) must be named NNNN_description.sql"
        case .checksumChanged(let name):
            "migration \(name) was changed after it was applied; a shipped migration is never edited — add a new file instead"
        case .appliedFileMissing(let name):
            "migration \(name) is recorded as applied but its file is missing"
        case .failed(let name, let message):
            "migration \(name) failed: \(message)"
        }
    }
}

public struct MigrationFile: Sendable, Equatable {
    public let name: String
    public let sql: String
    public let checksum: String
}

public struct MigrationStatus: Sendable, Equatable {
    public var applied: [(name: String, appliedAt: Int64)]
    public var pending: [String]

    public static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.applied.map(\.name) == rhs.applied.map(\.name) && lhs.pending == rhs.pending
    }
}

/// Applies the plain `.sql` files in `Migrations/` in name order, each in its own transaction,
/// recording a SHA-256 of each so an edited, already-applied file stops startup by name.
public struct Migrator: Sendable {
    public let directory: String

    public init(directory: String) { self.directory = directory }

    public func files() throws -> [MigrationFile] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw MigrationError.directoryMissing(directory)
        }
        let names = try FileManager.default.contentsOfDirectory(atPath: directory)
            .filter { $0.hasSuffix(".sql") }
            .sorted()
        return try names.map { name in
            guard name.prefix(4).allSatisfy(\.isNumber), name.dropFirst(4).first == "_" else {
                throw MigrationError.badFileName(name)
            }
            let data = try Data(contentsOf: URL(fileURLWithPath: directory).appendingPathComponent(name))
            let sql = String(decoding: data, as: UTF8.self)
            return MigrationFile(name: name, sql: sql, checksum: SHA256.hash(data: data).hexString)
        }
    }

    /// Applies what is pending and returns the names applied.
    @discardableResult
    public func migrate(_ writer: any DatabaseWriter) throws -> [String] {
        let files = try files()
        try writer.write { db in try Self.createLedger(db) }
        let applied = try verify(writer, files: files)
        var newlyApplied: [String] = []
        for file in files where applied[file.name] == nil {
            do {
                try writer.writeWithoutTransaction { db in
                    try db.inTransaction(.immediate) {
                        // Another process may have applied it while we waited for the lock.
                        if try Bool.fetchOne(db, sql: "SELECT 1 FROM schema_migrations WHERE name = ?", arguments: [file.name]) == true {
                            return .commit
                        }
                        try db.execute(sql: file.sql)
                        try db.execute(
                            sql: "INSERT INTO schema_migrations (name, checksum, applied_at) VALUES (?, ?, ?)",
                            arguments: [file.name, file.checksum, Int64(Date().timeIntervalSince1970)])
                        return .commit
                    }
                }
            } catch let error as DatabaseError {
                throw MigrationError.failed(file.name, error.message ?? "\(error)")
            }
            newlyApplied.append(file.name)
        }
        return newlyApplied
    }

    /// Refuses to run against a database whose applied migrations differ from the files.
    public func verify(_ reader: any DatabaseReader) throws {
        _ = try verify(reader, files: try files())
    }

    public func status(_ writer: any DatabaseWriter) throws -> MigrationStatus {
        let files = try files()
        try writer.write { db in try Self.createLedger(db) }
        let rows = try writer.read { db in
            try Row.fetchAll(db, sql: "SELECT name, applied_at FROM schema_migrations ORDER BY name")
        }
        let applied = rows.map { (name: $0["name"] as String, appliedAt: $0["applied_at"] as Int64) }
        let appliedNames = Set(applied.map(\.name))
        return MigrationStatus(applied: applied, pending: files.map(\.name).filter { !appliedNames.contains($0) })
    }

    private func verify(_ reader: any DatabaseReader, files: [MigrationFile]) throws -> [String: String] {
        let applied: [String: String] = try reader.read { db in
            guard try db.tableExists("schema_migrations") else { return [:] }
            let rows = try Row.fetchAll(db, sql: "SELECT name, checksum FROM schema_migrations")
            return Dictionary(uniqueKeysWithValues: rows.map { ($0["name"] as String, $0["checksum"] as String) })
        }
        let byName = Dictionary(uniqueKeysWithValues: files.map { ($0.name, $0) })
        for (name, checksum) in applied.sorted(by: { $0.key < $1.key }) {
            guard let file = byName[name] else { throw MigrationError.appliedFileMissing(name) }
            if file.checksum != checksum { throw MigrationError.checksumChanged(name) }
        }
        return applied
    }

    private static func createLedger(_ db: Database) throws {
        try db.execute(sql: """
            CREATE TABLE IF NOT EXISTS schema_migrations (
                name TEXT PRIMARY KEY,
                checksum TEXT NOT NULL,
                applied_at INTEGER NOT NULL
            )
            """)
    }
}
