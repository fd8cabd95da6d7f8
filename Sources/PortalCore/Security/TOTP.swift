import Crypto
import Foundation

/// RFC 6238 TOTP (HMAC-SHA1, 30-second steps, 6 digits).
///
/// Written here rather than taken from HummingbirdOTP because that type keys the HMAC with the
/// UTF-8 bytes of a `String`, which cannot hold an arbitrary 160-bit secret (authenticator keys such
/// as `JBSWY3DPEHPK3PXP` decode to bytes that are not valid UTF-8). The tests check this code
/// against RFC 6238's vectors and against HummingbirdOTP for an ASCII secret.
public struct TOTPGenerator: Sendable {
    public let secret: [UInt8]
    public let digits: Int
    public let period: Int64

    public init(secret: [UInt8], digits: Int = 6, period: Int64 = 30) {
        self.secret = secret
        self.digits = digits
        self.period = period
    }

    public func step(at date: Date) -> Int64 {
        Int64(date.timeIntervalSince1970.rounded(.down)) / period
    }

    public func code(step: Int64) -> String {
        var counter = UInt64(bitPattern: step).bigEndian
        let message = withUnsafeBytes(of: &counter) { Array($0) }
        let mac = Array(HMAC<Insecure.SHA1>.authenticationCode(for: message, using: SymmetricKey(data: secret)))
        let offset = Int(mac[mac.count - 1] & 0x0F)
        let value = (UInt32(mac[offset] & 0x7F) << 24) | (UInt32(mac[offset + 1]) << 16)
            | (UInt32(mac[offset + 2]) << 8) | UInt32(mac[offset + 3])
        var modulus: UInt32 = 1
        for _ in 0..<digits { modulus *= 10 }
        let code = String(value % modulus)
        return String(repeating: "0", count: digits - code.count) + code
    }

    public func code(at date: Date) -> String { code(step: step(at: date)) }

    /// The step a code matches within ±`window` steps of now, but only if it is later than
    /// `lastUsedStep`: a code, once accepted, can never be accepted again.
    public func matchingStep(for candidate: String, at date: Date, lastUsedStep: Int64?, window: Int64 = 1) -> Int64? {
        let candidateBytes = Array(candidate.utf8)
        let now = step(at: date)
        var matched: Int64?
        for s in (now - window)...(now + window) {
            // Check every step in the window so timing does not reveal which one matched.
            if constantTimeEquals(Array(code(step: s).utf8), candidateBytes), matched == nil {
                matched = s
            }
        }
        guard let matched else { return nil }
        if let lastUsedStep, matched <= lastUsedStep { return nil }
        return matched
    }

    /// A fresh 160-bit secret, as RFC 4226 recommends.
    public static func newSecret() -> [UInt8] { RandomBytes.make(count: 20) }

    public static func provisioningURI(secret: [UInt8], account: String, issuer: String) -> String {
        let label = "\(issuer):\(account)".addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(CharacterSet(charactersIn: ":@"))) ?? account
        let issuerQuery = issuer.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? issuer
        return "otpauth://totp/\(label)?secret=\(Base32.encode(secret))&issuer=\(issuerQuery)&algorithm=SHA1&digits=6&period=30"
    }
}
