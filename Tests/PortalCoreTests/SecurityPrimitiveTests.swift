import Crypto
import Foundation
import Testing
@testable import PortalCore

@Suite struct SecurityPrimitiveTests {
    @Test func csrfTokensAreBoundToTheirSession() {
        let csrf = CSRFTokens(key: SymmetricKey(size: .bits256))
        let token = csrf.token(for: "session:abc")
        #expect(csrf.isValid(token, for: "session:abc"))
        #expect(!csrf.isValid(token, for: "session:abd"))
        #expect(!csrf.isValid(nil, for: "session:abc"))
        #expect(!csrf.isValid("", for: "session:abc"))
        #expect(!csrf.isValid(String(token.dropLast()) + "A", for: "session:abc") || token.hasSuffix("A"))
        // Another key (another deployment) never accepts it.
        #expect(!CSRFTokens(key: SymmetricKey(size: .bits256)).isValid(token, for: "session:abc"))
    }

    @Test func secretBoxSealsAndDetectsTampering() throws {
        let box = SecretBox(key: SymmetricKey(size: .bits256))
        let sealed = try box.seal(Array("secret".utf8), context: "a")
        #expect(try box.open(sealed, context: "a") == Array("secret".utf8))
        #expect(throws: SecretBoxError.openFailed) { try box.open(sealed, context: "b") }
        var flipped = sealed
        flipped[flipped.count - 1] ^= 1
        #expect(throws: SecretBoxError.openFailed) { try box.open(flipped, context: "a") }
        #expect(throws: SecretBoxError.openFailed) { try SecretBox(key: SymmetricKey(size: .bits256)).open(sealed, context: "a") }
    }

    @Test func keyFilesAreGeneratedPrivateAndValidated() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("keys-\(UUID().uuidString)")
        let path = dir.appendingPathComponent("portal.key").path
        try SecretBox.generateKeyFile(at: path)
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
        let box = try SecretBox(keyFile: path)
        #expect(try box.open(box.seal([1, 2, 3], context: "c"), context: "c") == [1, 2, 3])
        try "short".write(toFile: path, atomically: true, encoding: .utf8)
        #expect(throws: SecretBoxError.keyFileMalformed(path)) { try SecretBox(keyFile: path) }
        #expect(throws: SecretBoxError.keyFileUnreadable(dir.path + "/none")) { try SecretBox(keyFile: dir.path + "/none") }
    }

    @Test func tokensAreRandomAndStoredAsHashes() {
        let a = SecretToken.generate()
        #expect(a.count == 43) // 256 bits, base64url
        #expect(a != SecretToken.generate())
        #expect(SecretToken.hash(a).count == 64 && SecretToken.hash(a) != a)
        #expect(OpaqueID.make("usr").hasPrefix("usr_"))
    }

    @Test(arguments: [
        ("short", PasswordPolicy.Violation.tooShort),
        (String(repeating: "a", count: 129), .tooLong),
        ("password1234", .common),
        ("Password1234", .common),
        ("aaaaaaaaaaaaaaaa", .common),
        ("abcabcabcabcabc", .common),
        ("123456789012345", .common),
        ("qwertyuiopasdf", .common),
    ])
    func passwordPolicyRefuses(password: String, violation: PasswordPolicy.Violation) {
        #expect(PasswordPolicy().check(password) == violation)
    }

    @Test func passwordPolicyAcceptsLongPassphrasesWithoutCompositionRules() {
        let policy = PasswordPolicy()
        #expect(policy.check("correct horse battery") == nil)
        #expect(policy.check("müller łódź ørsted") == nil)
        #expect(policy.check("portal-demo-pass") == nil)
        #expect(policy.check(String(repeating: "ab1", count: 42) + "xy") == nil) // 128 characters
        #expect(policy.check("alice.andersen1", email: "alice.andersen@example.com") == .containsEmail)
    }
}
