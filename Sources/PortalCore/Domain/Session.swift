/// The sign-in state machine: a password alone never grants access. `password` waits for a
/// second factor, `enrolment` may only enrol one, `complete` is signed in.
public enum SessionStage: String, Sendable, Codable {
    case password
    case enrolment
    case complete
}

public struct SessionRecord: Sendable, Equatable {
    public var idHash: String
    public var publicId: String
    public var principal: PrincipalRef
    public var stage: SessionStage
    public var createdAt: Int64
    public var lastSeenAt: Int64
    public var expiresAt: Int64
    public var clientAddress: String
    public var userAgent: String
    public var activeAccountId: String?
}

public struct SessionPolicy: Sendable {
    public var idleTimeout: Int64
    public var absoluteTimeout: Int64
    /// Unfinished sign-ins (waiting for a code) expire sooner than real sessions.
    public var pendingTimeout: Int64
    /// Enrolment takes longer: installing an authenticator app, finding a safe place for codes.
    public var enrolmentTimeout: Int64

    public init(idleTimeout: Int64 = 30 * 60, absoluteTimeout: Int64 = 12 * 3600, pendingTimeout: Int64 = 10 * 60,
                enrolmentTimeout: Int64 = 60 * 60) {
        self.idleTimeout = idleTimeout
        self.absoluteTimeout = absoluteTimeout
        self.pendingTimeout = pendingTimeout
        self.enrolmentTimeout = enrolmentTimeout
    }

    func limit(for stage: SessionStage, from now: Int64) -> Int64 {
        switch stage {
        case .password: now + pendingTimeout
        case .enrolment: now + enrolmentTimeout
        case .complete: now + absoluteTimeout
        }
    }
}
