import Foundation
import GRDB
import Logging

/// The whole service layer, wired once. The web app and the worker both build it from here, so
/// they share every rule.
public struct PortalServices: Sendable {
    public let database: DatabasePool
    public let clock: PortalClock
    public let links: LinkBuilder
    public let users: UserStore
    public let sessions: SessionService
    public let throttle: ThrottleService
    public let audit: AuditService
    public let mfa: MFAService
    public let auth: AuthService
    public let accountSecurity: AccountSecurityService
    public let invitations: InvitationService
    public let passwordReset: PasswordResetService
    public let directory: DirectoryService
    public let outbox: MailOutbox
    public let secrets: SecretBox
    public let invoices: InvoiceService
    public let ledger: PaymentLedger
    public let paymentMethods: PaymentMethodService
    public let gatewaySettings: GatewaySettingsService
    public let gateway: (any PaymentGateway)?
    public let payments: PaymentService
    public let impersonation: ImpersonationService
    public let autopay: AutopayService
    public let plans: PaymentPlanService
    public let scheduledCharges: ScheduledChargeRunner
    public let reminders: ReminderService
    public let refunds: RefundService
    /// Payment results, refunds and payment links waiting to be pushed to the CRM.
    public let crmOutbox: CRMOutbox
    public let webhooks: WebhookProcessor
    public let staffConsole: StaffConsoleService
    public let staffUsers: StaffUserService
    public let paymentLinks: PaymentLinkService
    public let apiKeys: ApiKeyService
    public let integration: IntegrationService
    public let reconciliation: ReconciliationService
    public let syncAlerts: SyncAlertService

    public struct Dependencies: Sendable {
        public var database: DatabasePool
        public var clock: PortalClock
        public var secrets: SecretBox
        public var hasher: PasswordHasher
        public var mailTemplates: MailTemplates
        public var links: LinkBuilder
        public var sessionPolicy: SessionPolicy
        public var throttlePolicy: ThrottlePolicy
        public var issuer: String
        /// The configured card gateway; nil when card payments are not set up.
        public var gateway: (any PaymentGateway)?
        /// The business's billing inbox, told when a customer removes a card or a payment is disputed.
        public var billingAddress: String?
        public var paymentPolicy: PaymentPolicy
        public var recurringPolicy: RecurringPolicy
        public var impersonationPolicy = ImpersonationPolicy()
        public var paymentLinkPolicy = PaymentLinkPolicy()
        public var apiKeyPolicy = ApiKeyPolicy()
        /// The CRM connection for the integration page; nil when Creatio is not configured.
        public var integration: (any IntegrationControl)?
        public var syncAlertPolicy = SyncAlertPolicy()
        /// Read-only connections for the session lookups that run on the request's own thread, and
        /// lanes for the customer pages' bounded reads (`ReadLanes`). Only a process that serves pages
        /// needs them (`servingPages()`); 0 reads through the pool.
        public var inlineReaders = 0
        public var readLanes = 0

        /// One inline connection and one read lane per core: one per cooperative thread.
        public mutating func servingPages() {
            inlineReaders = ProcessInfo.processInfo.activeProcessorCount
            readLanes = ProcessInfo.processInfo.activeProcessorCount
        }
        /// For background work that records its failures on rows and also logs them (webhooks).
        public var logger: Logger

        public init(database: DatabasePool, clock: PortalClock, secrets: SecretBox, hasher: PasswordHasher,
                    mailTemplates: MailTemplates, links: LinkBuilder, sessionPolicy: SessionPolicy = SessionPolicy(),
                    throttlePolicy: ThrottlePolicy = ThrottlePolicy(), issuer: String = "Payment Portal",
                    gateway: (any PaymentGateway)? = nil, billingAddress: String? = nil,
                    paymentPolicy: PaymentPolicy = PaymentPolicy(), recurringPolicy: RecurringPolicy = RecurringPolicy(),
                    logger: Logger = Logger(label: "portal")) {
            self.logger = logger
            self.paymentPolicy = paymentPolicy
            self.recurringPolicy = recurringPolicy
            self.gateway = gateway
            self.billingAddress = billingAddress
            self.database = database
            self.clock = clock
            self.secrets = secrets
            self.hasher = hasher
            self.mailTemplates = mailTemplates
            self.links = links
            self.sessionPolicy = sessionPolicy
            self.throttlePolicy = throttlePolicy
            self.issuer = issuer
        }
    }

    public init(_ d: Dependencies) async throws {
        let db = d.database
        database = db
        clock = d.clock
        links = d.links
        secrets = d.secrets
        users = UserStore(db: db)
        let inline = try InlineReader(pool: db, connections: d.inlineReaders)
        sessions = SessionService(db: db, clock: d.clock, policy: d.sessionPolicy, inline: inline)
        throttle = ThrottleService(db: db, clock: d.clock, policy: d.throttlePolicy)
        audit = AuditService(db: db, clock: d.clock)
        mfa = MFAService(db: db, clock: d.clock, secrets: d.secrets, issuer: d.issuer)
        outbox = MailOutbox(db: db, clock: d.clock, templates: d.mailTemplates)
        auth = try await AuthService(users: users, sessions: sessions, mfa: mfa, throttle: throttle, audit: audit,
                                     hasher: d.hasher, clock: d.clock)
        accountSecurity = AccountSecurityService(users: users, sessions: sessions, mfa: mfa, audit: audit, hasher: d.hasher,
                                                 outbox: outbox, links: d.links, clock: d.clock)
        let tokens = EmailTokenStore(clock: d.clock)
        invitations = InvitationService(db: db, tokens: tokens, outbox: outbox, audit: audit, sessions: sessions,
                                        hasher: d.hasher, links: d.links, clock: d.clock)
        passwordReset = PasswordResetService(db: db, tokens: tokens, outbox: outbox, throttle: throttle, hasher: d.hasher,
                                             links: d.links, clock: d.clock)
        directory = DirectoryService(db: db, hasher: d.hasher, clock: d.clock)
        invoices = InvoiceService(db: db, clock: d.clock, lanes: d.readLanes > 0 ? try ReadLanes(pool: db, lanes: d.readLanes) : nil)
        ledger = PaymentLedger(db: db, clock: d.clock)
        gateway = d.gateway
        gatewaySettings = GatewaySettingsService(db: db, secretBox: d.secrets, clock: d.clock)
        paymentMethods = PaymentMethodService(db: db, gateway: d.gateway, audit: audit, outbox: outbox, clock: d.clock,
                                              billingAddress: d.billingAddress)
        let settlement = PaymentSettlement(outbox: outbox, links: d.links)
        payments = PaymentService(db: db, gateway: d.gateway, methods: paymentMethods, settlement: settlement, clock: d.clock,
                                  policy: d.paymentPolicy, logger: d.logger)
        refunds = RefundService(db: db, gateway: d.gateway, clock: d.clock)
        crmOutbox = CRMOutbox(db: db, clock: d.clock)
        webhooks = WebhookProcessor(db: db, gateway: d.gateway, settlement: settlement, refunds: refunds, outbox: outbox, clock: d.clock,
                                    billingAddress: d.billingAddress, logger: d.logger)
        impersonation = ImpersonationService(db: db, clock: d.clock, policy: d.impersonationPolicy)
        autopay = AutopayService(db: db, outbox: outbox, clock: d.clock)
        plans = PaymentPlanService(db: db, outbox: outbox, clock: d.clock, policy: d.paymentPolicy)
        scheduledCharges = ScheduledChargeRunner(db: db, payments: payments, outbox: outbox, links: d.links, clock: d.clock,
                                                 policy: d.recurringPolicy)
        reminders = ReminderService(db: db, outbox: outbox, links: d.links, clock: d.clock, policy: d.recurringPolicy)
        staffConsole = StaffConsoleService(db: db, invitations: invitations, outbox: outbox, sessions: sessions, links: d.links,
                                           clock: d.clock)
        staffUsers = StaffUserService(db: db, invitations: invitations, outbox: outbox, links: d.links, clock: d.clock)
        paymentLinks = PaymentLinkService(db: db, secrets: d.secrets, links: d.links, clock: d.clock, policy: d.paymentLinkPolicy)
        apiKeys = ApiKeyService(db: db, clock: d.clock, policy: d.apiKeyPolicy)
        integration = IntegrationService(db: db, clock: d.clock, control: d.integration)
        reconciliation = ReconciliationService(db: db, gateway: d.gateway, control: d.integration)
        syncAlerts = SyncAlertService(db: db, clock: d.clock, outbox: outbox, links: d.links, policy: d.syncAlertPolicy)
    }
}
