import Crypto

/// Single-use recovery codes: 10 codes of 10 characters from an alphabet without look-alikes
/// (about 50 bits each), shown once and stored only as SHA-256 hashes.
public enum RecoveryCodes {
    public static let count = 10
    private static let alphabet = Array("abcdefghjkmnpqrstuvwxyz23456789")

    public static func generate() -> [String] {
        (0..<count).map { _ in
            var generator = SystemRandomNumberGenerator()
            let chars = (0..<10).map { _ in alphabet[Int.random(in: 0..<alphabet.count, using: &generator)] }
            return String(chars[0..<5]) + "-" + String(chars[5..<10])
        }
    }

    /// Case, spaces and the dash are ignored, so a code typed by hand still matches.
    public static func normalize(_ code: String) -> String {
        code.lowercased().filter { $0 != "-" && $0 != " " }
    }

    public static func hash(_ code: String) -> String {
        SHA256.hash(data: Array(("recovery:" + normalize(code)).utf8)).hexString
    }

    /// Recovery codes look like `xxxxx-xxxxx`; TOTP codes are six digits.
    public static func looksLikeRecoveryCode(_ input: String) -> Bool {
        normalize(input).count == 10
    }
}
