import Crypto
import Foundation

/// Synchroniser tokens without storage: the token is an HMAC of the value that identifies the
/// browser (the session cookie, or before sign-in a random pre-session cookie). A new session id
/// therefore means a new token, and no attacker page can compute one.
public struct CSRFTokens: Sendable {
    private let key: SymmetricKey

    public init(key: SymmetricKey) { self.key = key }

    public func token(for binding: String) -> String {
        Base64URL.encode(Array(HMAC<SHA256>.authenticationCode(for: Array(("csrf:" + binding).utf8), using: key)))
    }

    public func isValid(_ candidate: String?, for binding: String) -> Bool {
        guard let candidate, !candidate.isEmpty else { return false }
        return constantTimeEquals(Array(candidate.utf8), Array(token(for: binding).utf8))
    }
}
