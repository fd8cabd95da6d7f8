import Crypto
import Foundation

/// Bearer secrets (session ids, email links): 256 random bits handed out once; only their SHA-256 is stored,
/// so a copy of the database cannot be replayed.
public enum SecretToken {
    public static func generate() -> String { RandomBytes.base64URL(count: 32) }

    /// Shaped like `generate()`'s output: what a form may send back as a key.
    public static func isWellFormed(_ token: String) -> Bool {
        token.utf8.count == 43 && token.utf8.allSatisfy { $0 == 45 || $0 == 95 || (48...57).contains($0) || (65...90).contains($0) || (97...122).contains($0) }
    }

    public static func hash(_ token: String) -> String {
        SHA256.hash(data: Array(token.utf8)).hexString
    }
}

extension Sequence where Element == UInt8 {
    /// Lower-case hex, two digits a byte. Written by hand: `String(format:)` per byte was a few
    /// percent of every signed-in request (the session lookup hashes the cookie).
    public var hexString: String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(underestimatedCount * 2)
        for byte in self {
            bytes.append(hexDigits[Int(byte >> 4)])
            bytes.append(hexDigits[Int(byte & 0x0F)])
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

private let hexDigits = Array("0123456789abcdef".utf8)

extension Digest {
    public var hexString: String { Array(self).hexString }
}

/// Constant-time comparison for secrets, so timing reveals nothing about how much matched.
public func constantTimeEquals(_ a: [UInt8], _ b: [UInt8]) -> Bool {
    guard a.count == b.count else { return false }
    var difference: UInt8 = 0
    for i in 0..<a.count { difference |= a[i] ^ b[i] }
    return difference == 0
}
