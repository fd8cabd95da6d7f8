import Hummingbird
import NIOCore
import PortalCore

/// Every request's context: who is calling (if anyone), the CSRF token for the forms it renders,
/// the parsed form of a POST, and cookies to set on the way out.
public struct PortalRequestContext: RequestContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    public let remoteAddress: SocketAddress?
    public var session: SessionRecord?
    /// The cookie value of `session`, kept only to bind the CSRF token.
    var sessionToken: String?
    public var csrfToken: String = ""
    /// What the CSRF token is bound to: the session cookie, or before sign-in the pre-session cookie.
    var csrfBinding: String = ""
    public var form = FormFields()
    public var userAgent: String = ""
    var cookiesToSet: [Cookie] = []
    var flash: FlashMessage?
    /// The browser sent a session cookie whose session has ended (idle, too old, signed out elsewhere).
    var sessionEnded = false
    /// Set by `RequireCustomerMiddleware` for signed-in customer routes.
    var customer: CustomerIdentity?
    /// The customer and accounts read with the session, for `RequireCustomerMiddleware`.
    var loadedCustomer: (user: CustomerUser, accounts: [Account])?
    /// The staff session (its own cookie), the staff member, and whom they are viewing as.
    public var staffSession: SessionRecord?
    var staff: StaffUser?
    var impersonation: Impersonation?
    var impersonated: (user: CustomerUser, accounts: [Account])?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
    }

    public var client: ClientInfo {
        ClientInfo(address: remoteAddress?.ipAddress ?? "unknown", userAgent: userAgent)
    }

    /// Bodies are forms of a few fields; nothing larger is accepted.
    public var maxUploadSize: Int { 64 * 1024 }
}

/// The signed-in customer and the accounts they may act for.
public struct CustomerIdentity: Sendable {
    public var user: CustomerUser
    public var accounts: [Account]
    public var activeAccount: Account?
}

/// Routes in this context can only be reached by a customer who finished both sign-in steps:
/// its initialiser throws otherwise, so a handler cannot forget the check.
public struct CustomerRequestContext: ChildRequestContext {
    public var coreContext: CoreRequestContextStorage
    public let session: SessionRecord
    public let identity: CustomerIdentity
    public let csrfToken: String
    public let form: FormFields
    public let client: ClientInfo
    let flash: FlashMessage?

    /// Set while a staff member views the portal as this customer; `session` is then theirs.
    public let impersonation: Impersonation?

    public init(context: PortalRequestContext) throws {
        let viewing = context.impersonation.flatMap { context.customer != nil ? $0 : nil }
        guard let identity = context.customer,
              let session = viewing != nil ? context.staffSession : context.session, session.stage == .complete,
              viewing != nil || session.principal.kind == .customer else {
            throw HTTPError(.unauthorized)
        }
        self.impersonation = viewing
        self.coreContext = context.coreContext
        self.session = session
        self.identity = identity
        self.csrfToken = context.csrfToken
        self.form = context.form
        self.client = context.client
        self.flash = context.flash
    }

    public var maxUploadSize: Int { 64 * 1024 }

    /// The signed-in customer as the author of a change, for its audit event; while a staff member
    /// views as them, the event carries both identities.
    var actor: AuditEvent {
        AuditEvent(action: "", actorKind: .customer, actorId: identity.user.id,
                   actorLabel: impersonation.map { "\($0.staff.email) as \(identity.user.email)" } ?? identity.user.email,
                   impersonatorId: impersonation?.staff.id, subject: .customer(identity.user.id), clientAddress: client.address)
    }
}
