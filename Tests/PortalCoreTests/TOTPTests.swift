import Foundation
import HummingbirdOTP
import Testing
@testable import PortalCore

@Suite struct TOTPTests {
    /// RFC 6238 Appendix B, SHA-1, 8 digits, secret "12345678901234567890".
    @Test(arguments: [
        (59, "94287082"), (1_111_111_109, "07081804"), (1_111_111_111, "14050471"),
        (1_234_567_890, "89005924"), (2_000_000_000, "69279037"), (20_000_000_000, "65353130"),
    ])
    func rfc6238Vectors(time: Int, expected: String) {
        let totp = TOTPGenerator(secret: Array("12345678901234567890".utf8), digits: 8)
        #expect(totp.code(at: Date(timeIntervalSince1970: TimeInterval(time))) == expected)
    }

    @Test func agreesWithHummingbirdOTP() {
        let secret = "12345678901234567890"
        let ours = TOTPGenerator(secret: Array(secret.utf8))
        let theirs = TOTP(secret: secret)
        for offset in stride(from: 0, to: 3600 * 24, by: 997) {
            let date = Date(timeIntervalSince1970: TimeInterval(1_700_000_000 + offset))
            let expected = String(format: "%06d", theirs.compute(date: date))
            #expect(ours.code(at: date) == expected)
        }
    }

    @Test func acceptsOneStepEitherSideOnly() {
        let totp = TOTPGenerator(secret: TOTPGenerator.newSecret())
        let now = Date(timeIntervalSince1970: 1_800_000_015)
        let step = totp.step(at: now)
        for delta in -1...1 {
            #expect(totp.matchingStep(for: totp.code(step: step + Int64(delta)), at: now, lastUsedStep: nil) == step + Int64(delta))
        }
        for delta in [-3, -2, 2, 3] {
            let code = totp.code(step: step + Int64(delta))
            // A far code can collide with a near one by chance; only assert when it does not.
            if (-1...1).allSatisfy({ totp.code(step: step + Int64($0)) != code }) {
                #expect(totp.matchingStep(for: code, at: now, lastUsedStep: nil) == nil)
            }
        }
    }

    @Test func refusesAStepAlreadyUsed() {
        let totp = TOTPGenerator(secret: TOTPGenerator.newSecret())
        let now = Date(timeIntervalSince1970: 1_800_000_015)
        let code = totp.code(at: now)
        let step = totp.step(at: now)
        #expect(totp.matchingStep(for: code, at: now, lastUsedStep: step) == nil)
        #expect(totp.matchingStep(for: code, at: now, lastUsedStep: step - 1) == step)
    }

    @Test func base32RoundTripsAndReadsTheDemoKey() {
        let bytes = TOTPGenerator.newSecret()
        #expect(bytes.count == 20)
        #expect(Base32.decode(Base32.encode(bytes)) == bytes)
        #expect(Base32.decode("jbsw y3dp ehpk 3pxp") == Array("Hello!".utf8) + [0xDE, 0xAD, 0xBE, 0xEF])
        #expect(Base32.decode("not base32!") == nil)
    }

    @Test func provisioningURIForAuthenticatorApps() {
        let uri = TOTPGenerator.provisioningURI(secret: Array("Hello!".utf8) + [0xDE, 0xAD, 0xBE, 0xEF], account: "alice@example.com", issuer: "Payment Portal")
        #expect(uri.hasPrefix("otpauth://totp/Payment%20Portal%3Aalice%40example.com?secret=JBSWY3DPEHPK3PXP"))
        #expect(uri.contains("issuer=Payment%20Portal"))
    }

    @Test func qrCodeRendersAsInlineSVG() throws {
        let svg = try QRCodeSVG.render("otpauth://totp/x?secret=JBSWY3DPEHPK3PXP")
        #expect(svg.hasPrefix("<svg"))
        #expect(svg.contains("<path"))
        #expect(!svg.contains("<script"))
    }
}
