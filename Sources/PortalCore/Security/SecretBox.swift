import Crypto
import Foundation

public enum SecretBoxError: Error, Equatable, CustomStringConvertible {
    case keyFileUnreadable(String)
    case keyFileMalformed(String)
    case unknownKeyVersion
    case openFailed

    public var description: String {
        switch self {
        case .keyFileUnreadable(let path): "cannot read the data-encryption key file \(path)"
        case .keyFileMalformed(let path): "\(path) must hold 32 random bytes, base64-encoded"
        case .unknownKeyVersion: "sealed value has an unknown key version"
        case .openFailed: "sealed value failed authentication (wrong key or tampered data)"
        }
    }
}

/// Encrypts secrets at rest (TOTP secrets, gateway credentials) with AES-256-GCM.
/// The first byte is a key version so the key can be rotated without a flag day.
public struct SecretBox: Sendable {
    private let key: SymmetricKey
    private static let version: UInt8 = 1

    public init(key: SymmetricKey) { self.key = key }

    public init(keyFile path: String) throws {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw SecretBoxError.keyFileUnreadable(path)
        }
        guard let bytes = Data(base64Encoded: text.trimmingCharacters(in: .whitespacesAndNewlines)),
              bytes.count == 32 else {
            throw SecretBoxError.keyFileMalformed(path)
        }
        self.key = SymmetricKey(data: bytes)
    }

    /// Writes a new random key file readable by its owner only.
    public static func generateKeyFile(at path: String) throws {
        let key = SymmetricKey(size: .bits256)
        let text = key.withUnsafeBytes { Data($0).base64EncodedString() } + "\n"
        let url = URL(fileURLWithPath: path)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        guard FileManager.default.createFile(atPath: path, contents: Data(text.utf8), attributes: [.posixPermissions: 0o600]) else {
            throw SecretBoxError.keyFileUnreadable(path)
        }
    }

    public func seal(_ plaintext: [UInt8], context: String) throws -> [UInt8] {
        let box = try AES.GCM.seal(plaintext, using: key, authenticating: Array(context.utf8))
        guard let combined = box.combined else { throw SecretBoxError.openFailed }
        return [Self.version] + Array(combined)
    }

    /// `context` binds a ciphertext to where it belongs (for example the user id), so a sealed
    /// value copied onto another row fails to open.
    public func open(_ sealed: [UInt8], context: String) throws -> [UInt8] {
        guard let first = sealed.first else { throw SecretBoxError.openFailed }
        guard first == Self.version else { throw SecretBoxError.unknownKeyVersion }
        do {
            let box = try AES.GCM.SealedBox(combined: sealed.dropFirst())
            return Array(try AES.GCM.open(box, using: key, authenticating: Array(context.utf8)))
        } catch {
            throw SecretBoxError.openFailed
        }
    }

    /// A key derived for one purpose (CSRF tokens, link signing) so one secret never serves two roles.
    public func derivedKey(purpose: String) -> SymmetricKey {
        HKDF<SHA256>.deriveKey(inputKeyMaterial: key, info: Array(purpose.utf8), outputByteCount: 32)
    }

    public func derivedKeyBytes(purpose: String) -> [UInt8] {
        derivedKey(purpose: purpose).withUnsafeBytes { Array($0) }
    }
}
