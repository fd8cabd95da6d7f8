/// What the integration page shows: the pull per CRM entity, the push per outbox topic, the open
/// sync failures and the outbox rows that need a person.
public struct IntegrationStatus: Sendable, Equatable {
    public struct Pull: Sendable, Equatable {
        public var entity: String
        /// When a page of this entity was last read successfully (nil: never).
        public var lastPullAt: Int64?
        public var pulled: Int
        public var failed: Int
        public var openFailures: Int
        /// Seconds since `lastPullAt`.
        public var lagSeconds: Int64?
    }

    public struct Push: Sendable, Equatable {
        public var topic: String
        public var lastDeliveredAt: Int64?
        public var delivered: Int
        public var pending: Int
        public var dead: Int
        /// Age of the oldest pending row, in seconds.
        public var oldestPendingSeconds: Int64?
    }

    public struct Failure: Sendable, Equatable {
        public var entity: String
        public var crmId: String
        public var error: String
        public var attempts: Int
        public var firstSeenAt: Int64
        public var lastSeenAt: Int64
    }

    public struct OutboxRow: Sendable, Equatable {
        public var id: Int64
        public var topic: String
        public var status: String
        public var invoiceNumber: String
        public var attempts: Int
        public var nextAttemptAt: Int64
        public var createdAt: Int64
        public var lastError: String?
    }

    public var now: Int64
    public var pulls: [Pull]
    public var pushes: [Push]
    public var failures: [Failure]
    public var openFailureCount: Int
    /// Pending and dead rows, dead first.
    public var outbox: [OutboxRow]
    public var pendingCount: Int
    public var deadCount: Int
    public var oldestPendingSeconds: Int64?
    /// Seconds since any entity was last pulled (nil: never pulled).
    public var syncLagSeconds: Int64?
}
