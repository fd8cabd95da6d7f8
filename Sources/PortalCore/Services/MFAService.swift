import Foundation
import GRDB

public enum MFAError: Error, Equatable, Sendable {
    case alreadyEnrolled
    case notEnrolled
    case noPendingEnrolment
    case invalidCode
}

public struct MFAStatus: Sendable, Equatable {
    public var enrolled: Bool
    public var recoveryCodesRemaining: Int
}

/// What the enrolment page shows: the key as text and as a QR code.
public struct EnrolmentPrompt: Sendable, Equatable {
    public var secretBase32: String
    public var provisioningURI: String
    public var qrSVG: String

    /// Groups of four, as authenticator apps show keys and people copy them.
    public var secretGrouped: String {
        stride(from: 0, to: secretBase32.count, by: 4).map { offset in
            let start = secretBase32.index(secretBase32.startIndex, offsetBy: offset)
            let end = secretBase32.index(start, offsetBy: 4, limitedBy: secretBase32.endIndex) ?? secretBase32.endIndex
            return String(secretBase32[start..<end])
        }.joined(separator: " ")
    }
}

public enum SecondFactorMethod: String, Sendable {
    case totp
    case recoveryCode = "recovery_code"
}

/// TOTP enrolment and verification, and recovery codes. Secrets are sealed with the data key and
/// bound to their owner; a time step, once used, is refused.
public struct MFAService: Sendable {
    let db: any DatabaseWriter
    let clock: PortalClock
    let secrets: SecretBox
    public let issuer: String

    public init(db: any DatabaseWriter, clock: PortalClock, secrets: SecretBox, issuer: String) {
        self.db = db
        self.clock = clock
        self.secrets = secrets
        self.issuer = issuer
    }

    private static func sealContext(_ principal: PrincipalRef) -> String { "totp:\(principal.kind.rawValue):\(principal.id)" }

    public func status(_ principal: PrincipalRef) async throws -> MFAStatus {
        try await db.read { db in
            let confirmed = try Bool.fetchOne(db, sql: """
                SELECT confirmed_at IS NOT NULL FROM mfa_credentials WHERE principal_kind = ? AND principal_id = ?
                """, arguments: [principal.kind.rawValue, principal.id]) ?? false
            let remaining = try Int.fetchOne(db, sql: """
                SELECT count(*) FROM recovery_codes WHERE principal_kind = ? AND principal_id = ? AND used_at IS NULL
                """, arguments: [principal.kind.rawValue, principal.id]) ?? 0
            return MFAStatus(enrolled: confirmed, recoveryCodesRemaining: remaining)
        }
    }

    /// The pending key for enrolment, made on first request and kept until confirmed, so reloading
    /// the page does not invalidate a key already scanned.
    public func enrolmentPrompt(for principal: PrincipalRef, accountLabel: String) async throws -> EnrolmentPrompt {
        let now = clock.nowSeconds()
        let context = Self.sealContext(principal)
        let secret: [UInt8] = try await db.write { [secrets] db in
            let row = try Row.fetchOne(db, sql: "SELECT * FROM mfa_credentials WHERE principal_kind = ? AND principal_id = ?",
                                       arguments: [principal.kind.rawValue, principal.id])
            if let row {
                if (row["confirmed_at"] as Int64?) != nil { throw MFAError.alreadyEnrolled }
                return try secrets.open(Array(row["secret_sealed"] as Data), context: context)
            }
            let fresh = TOTPGenerator.newSecret()
            try db.execute(sql: """
                INSERT INTO mfa_credentials (principal_kind, principal_id, secret_sealed, created_at) VALUES (?, ?, ?, ?)
                """, arguments: [principal.kind.rawValue, principal.id, Data(try secrets.seal(fresh, context: context)), now])
            return fresh
        }
        let uri = TOTPGenerator.provisioningURI(secret: secret, account: accountLabel, issuer: issuer)
        return EnrolmentPrompt(secretBase32: Base32.encode(secret), provisioningURI: uri, qrSVG: try QRCodeSVG.render(uri))
    }

    /// Confirms the pending key with a code from the app and returns fresh recovery codes (shown once).
    public func confirmEnrolment(for principal: PrincipalRef, code: String) async throws -> [String] {
        let date = clock.now()
        let now = clock.nowSeconds()
        let context = Self.sealContext(principal)
        let codes = RecoveryCodes.generate()
        try await db.write { [secrets] db in
            guard let row = try Row.fetchOne(db, sql: "SELECT * FROM mfa_credentials WHERE principal_kind = ? AND principal_id = ?",
                                             arguments: [principal.kind.rawValue, principal.id]) else {
                throw MFAError.noPendingEnrolment
            }
            if (row["confirmed_at"] as Int64?) != nil { throw MFAError.alreadyEnrolled }
            let secret = try secrets.open(Array(row["secret_sealed"] as Data), context: context)
            guard let step = TOTPGenerator(secret: secret).matchingStep(for: Self.digits(code), at: date, lastUsedStep: nil) else {
                throw MFAError.invalidCode
            }
            try db.execute(sql: "UPDATE mfa_credentials SET confirmed_at = ?, last_used_step = ? WHERE principal_kind = ? AND principal_id = ?",
                           arguments: [now, step, principal.kind.rawValue, principal.id])
            try Self.replaceRecoveryCodes(codes, for: principal, now: now, db)
        }
        return codes
    }

    /// Checks a TOTP code or a recovery code, consuming it. Safe against two requests racing with the
    /// same code: the update only succeeds for the first.
    public func verify(_ principal: PrincipalRef, code input: String) async throws -> SecondFactorMethod {
        let date = clock.now()
        let now = clock.nowSeconds()
        let context = Self.sealContext(principal)
        let trimmed = input.trimmingCharacters(in: .whitespaces)
        return try await db.write { [secrets] db in
            guard let row = try Row.fetchOne(db, sql: """
                SELECT * FROM mfa_credentials WHERE principal_kind = ? AND principal_id = ? AND confirmed_at IS NOT NULL
                """, arguments: [principal.kind.rawValue, principal.id]) else {
                throw MFAError.notEnrolled
            }
            let digits = Self.digits(trimmed)
            if digits.count == 6 && digits.allSatisfy(\.isNumber) {
                let secret = try secrets.open(Array(row["secret_sealed"] as Data), context: context)
                let lastUsed: Int64? = row["last_used_step"]
                guard let step = TOTPGenerator(secret: secret).matchingStep(for: digits, at: date, lastUsedStep: lastUsed) else {
                    throw MFAError.invalidCode
                }
                try db.execute(sql: """
                    UPDATE mfa_credentials SET last_used_step = ? WHERE principal_kind = ? AND principal_id = ?
                    AND (last_used_step IS NULL OR last_used_step < ?)
                    """, arguments: [step, principal.kind.rawValue, principal.id, step])
                guard db.changesCount == 1 else { throw MFAError.invalidCode }
                return .totp
            }
            guard RecoveryCodes.looksLikeRecoveryCode(trimmed) else { throw MFAError.invalidCode }
            try db.execute(sql: """
                UPDATE recovery_codes SET used_at = ? WHERE principal_kind = ? AND principal_id = ? AND code_hash = ? AND used_at IS NULL
                """, arguments: [now, principal.kind.rawValue, principal.id, RecoveryCodes.hash(trimmed)])
            guard db.changesCount == 1 else { throw MFAError.invalidCode }
            return .recoveryCode
        }
    }

    public func regenerateRecoveryCodes(for principal: PrincipalRef) async throws -> [String] {
        let now = clock.nowSeconds()
        let codes = RecoveryCodes.generate()
        try await db.write { db in
            guard try Bool.fetchOne(db, sql: """
                SELECT 1 FROM mfa_credentials WHERE principal_kind = ? AND principal_id = ? AND confirmed_at IS NOT NULL
                """, arguments: [principal.kind.rawValue, principal.id]) == true else { throw MFAError.notEnrolled }
            try Self.replaceRecoveryCodes(codes, for: principal, now: now, db)
        }
        return codes
    }

    /// Removes the authenticator and recovery codes; the next sign-in must enrol again.
    public func reset(_ principal: PrincipalRef) async throws {
        try await db.write { db in try Self.reset(principal, db) }
    }

    static func reset(_ principal: PrincipalRef, _ db: Database) throws {
        try db.execute(sql: "DELETE FROM mfa_credentials WHERE principal_kind = ? AND principal_id = ?",
                       arguments: [principal.kind.rawValue, principal.id])
        try db.execute(sql: "DELETE FROM recovery_codes WHERE principal_kind = ? AND principal_id = ?",
                       arguments: [principal.kind.rawValue, principal.id])
    }

    /// Enrols a known secret directly: used by `portal demo` only.
    public func enrolKnownSecret(_ principal: PrincipalRef, secret: [UInt8]) async throws -> [String] {
        let now = clock.nowSeconds()
        let codes = RecoveryCodes.generate()
        let sealed = Data(try secrets.seal(secret, context: Self.sealContext(principal)))
        try await db.write { db in
            try Self.reset(principal, db)
            try db.execute(sql: """
                INSERT INTO mfa_credentials (principal_kind, principal_id, secret_sealed, confirmed_at, created_at) VALUES (?, ?, ?, ?, ?)
                """, arguments: [principal.kind.rawValue, principal.id, sealed, now, now])
            try Self.replaceRecoveryCodes(codes, for: principal, now: now, db)
        }
        return codes
    }

    private static func replaceRecoveryCodes(_ codes: [String], for principal: PrincipalRef, now: Int64, _ db: Database) throws {
        try db.execute(sql: "DELETE FROM recovery_codes WHERE principal_kind = ? AND principal_id = ?",
                       arguments: [principal.kind.rawValue, principal.id])
        for code in codes {
            try db.execute(sql: "INSERT INTO recovery_codes (principal_kind, principal_id, code_hash, created_at) VALUES (?, ?, ?, ?)",
                           arguments: [principal.kind.rawValue, principal.id, RecoveryCodes.hash(code), now])
        }
    }

    /// People type "123 456"; apps show it that way.
    private static func digits(_ input: String) -> String {
        input.filter { !$0.isWhitespace }
    }
}
