/// NIST SP 800-63B: length 12–128, any characters, no composition rules, and refuse passwords
/// that are known to be common or that merely repeat the user's own email or the product name.
public struct PasswordPolicy: Sendable {
    public static let minimumLength = 12
    public static let maximumLength = 128

    public enum Violation: Error, Equatable, Sendable {
        case tooShort
        case tooLong
        case common
        case containsEmail

        public var message: String {
            switch self {
            case .tooShort: "Use at least \(PasswordPolicy.minimumLength) characters."
            case .tooLong: "Use at most \(PasswordPolicy.maximumLength) characters."
            case .common: "That password is too common. Choose something harder to guess — a few unrelated words work well."
            case .containsEmail: "Don't use your email address in your password."
            }
        }
    }

    public init() {}

    public func check(_ password: String, email: String? = nil) -> Violation? {
        // Count characters as people see them, so "Ørsted" is 6, not 7.
        let length = password.count
        if length < Self.minimumLength { return .tooShort }
        if length > Self.maximumLength { return .tooLong }
        let lowered = password.lowercased()
        if CommonPasswords.set.contains(lowered) || Self.isTrivialPattern(lowered) { return .common }
        if let email {
            let local = email.lowercased().split(separator: "@").first.map(String.init) ?? ""
            if local.count >= 4 && lowered.contains(local) && lowered.count - local.count < 6 { return .containsEmail }
        }
        return nil
    }

    /// One repeated character, a run of one short unit ("abcabcabcabc"), or a keyboard/number sequence.
    static func isTrivialPattern(_ password: String) -> Bool {
        let chars = Array(password)
        for unit in 1...4 where chars.count % unit == 0 || unit == 1 {
            let head = Array(chars.prefix(unit))
            var repeats = true
            for (i, c) in chars.enumerated() where c != head[i % unit] {
                repeats = false
                break
            }
            if repeats { return true }
        }
        let sequences = ["0123456789012345678901234567890", "9876543210987654321098765432109",
                         "abcdefghijklmnopqrstuvwxyz", "qwertyuiopasdfghjklzxcvbnm", "1qaz2wsx3edc4rfv5tgb6yhn"]
        return sequences.contains { $0.contains(password) }
    }
}
