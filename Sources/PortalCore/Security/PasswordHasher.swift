import CArgon2
import Foundation

/// argon2id cost parameters. They are written into every encoded hash, so raising them later
/// still verifies old hashes and upgrades each on its owner's next sign-in.
public struct Argon2Parameters: Sendable, Equatable {
    /// Memory in KiB.
    public var memoryKiB: UInt32
    public var iterations: UInt32
    public var parallelism: UInt32

    public init(memoryKiB: UInt32, iterations: UInt32, parallelism: UInt32) {
        self.memoryKiB = memoryKiB
        self.iterations = iterations
        self.parallelism = parallelism
    }

    /// OWASP's minimum for argon2id: m=19 MiB, t=2, p=1.
    public static let minimum = Argon2Parameters(memoryKiB: 19 * 1024, iterations: 2, parallelism: 1)

    func isWeaker(than other: Argon2Parameters) -> Bool {
        memoryKiB < other.memoryKiB || iterations < other.iterations || parallelism < other.parallelism
    }
}

public enum PasswordHashError: Error, Equatable {
    case hashingFailed(String)
    case malformedHash
}

/// argon2id through libargon2. Hashing is deliberately slow, so it runs on a bounded pool of
/// threads: a burst of sign-ins waits its turn instead of blocking the server's executors.
public struct PasswordHasher: Sendable {
    public let parameters: Argon2Parameters
    private let pool: BlockingPool

    public init(parameters: Argon2Parameters = .minimum, maxConcurrent: Int = 2) {
        precondition(!parameters.isWeaker(than: .minimum), "argon2id parameters below the minimum")
        self.parameters = parameters
        self.pool = BlockingPool(label: "password-hashing", limit: maxConcurrent)
    }

    /// Tests may use cheaper parameters than production allows.
    public init(testingParameters: Argon2Parameters, maxConcurrent: Int = 2) {
        self.parameters = testingParameters
        self.pool = BlockingPool(label: "password-hashing", limit: maxConcurrent)
    }

    public func hash(_ password: String) async throws -> String {
        let parameters = self.parameters
        return try await pool.run { try Self.hashNow(password, parameters: parameters) }
    }

    /// `true` when the password matches. A malformed stored hash is an error, not a mismatch,
    /// so a corrupted row is noticed rather than silently locking a user out.
    public func verify(_ password: String, against encoded: String) async throws -> Bool {
        guard encoded.hasPrefix("$argon2id$") else { throw PasswordHashError.malformedHash }
        return try await pool.run { try Self.verifyNow(password, encoded: encoded) }
    }

    /// Whether a stored hash was made with weaker parameters than the current ones.
    public func needsRehash(_ encoded: String) -> Bool {
        guard let stored = Self.parameters(of: encoded) else { return true }
        return stored.isWeaker(than: parameters)
    }

    static func hashNow(_ password: String, parameters: Argon2Parameters) throws -> String {
        let salt = RandomBytes.make(count: 16)
        let hashLength = 32
        let encodedLength = argon2_encodedlen(
            parameters.iterations, parameters.memoryKiB, parameters.parallelism,
            UInt32(salt.count), UInt32(hashLength), Argon2_id)
        var encoded = [CChar](repeating: 0, count: encodedLength)
        let passwordBytes = Array(password.utf8)
        let result = passwordBytes.withUnsafeBytes { pwd in
            salt.withUnsafeBytes { saltBytes in
                argon2id_hash_encoded(
                    parameters.iterations, parameters.memoryKiB, parameters.parallelism,
                    pwd.baseAddress, pwd.count, saltBytes.baseAddress, saltBytes.count,
                    hashLength, &encoded, encodedLength)
            }
        }
        guard result == ARGON2_OK.rawValue else {
            throw PasswordHashError.hashingFailed(String(cString: argon2_error_message(result)))
        }
        return String(decoding: encoded.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    static func verifyNow(_ password: String, encoded: String) throws -> Bool {
        let passwordBytes = Array(password.utf8)
        let result = passwordBytes.withUnsafeBytes { pwd in
            argon2id_verify(encoded, pwd.baseAddress, pwd.count)
        }
        switch result {
        case ARGON2_OK.rawValue: return true
        case ARGON2_VERIFY_MISMATCH.rawValue: return false
        default: throw PasswordHashError.malformedHash
        }
    }

    /// Reads `m`, `t`, `p` from `$argon2id$v=19$m=19456,t=2,p=1$salt$hash`.
    public static func parameters(of encoded: String) -> Argon2Parameters? {
        let parts = encoded.split(separator: "$")
        guard parts.count == 5, parts[0] == "argon2id" else { return nil }
        var values: [String: UInt32] = [:]
        for pair in parts[2].split(separator: ",") {
            let kv = pair.split(separator: "=")
            guard kv.count == 2, let v = UInt32(kv[1]) else { return nil }
            values[String(kv[0])] = v
        }
        guard let m = values["m"], let t = values["t"], let p = values["p"] else { return nil }
        return Argon2Parameters(memoryKiB: m, iterations: t, parallelism: p)
    }
}
