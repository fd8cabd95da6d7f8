import Hummingbird
import PortalCore

/// Routes in this context can only be reached by a staff member who finished both sign-in steps
/// (with MFA, always) and whose account is active.
public struct StaffRequestContext: ChildRequestContext {
    public var coreContext: CoreRequestContextStorage
    public let session: SessionRecord
    public let staff: StaffUser
    public let csrfToken: String
    public let form: FormFields
    public let client: ClientInfo
    let flash: FlashMessage?
    let impersonation: Impersonation?

    public init(context: PortalRequestContext) throws {
        guard let session = context.staffSession, session.stage == .complete, let staff = context.staff, staff.status == .active else {
            throw HTTPError(.unauthorized)
        }
        self.coreContext = context.coreContext
        self.session = session
        self.staff = staff
        self.csrfToken = context.csrfToken
        self.form = context.form
        self.client = context.client
        self.flash = context.flash
        self.impersonation = context.impersonation
    }

    public var maxUploadSize: Int { 64 * 1024 }

    /// The staff member as the author of a change, for its audit event.
    var actor: AuditEvent {
        AuditEvent(action: "", actorKind: .staff, actorId: staff.id, actorLabel: staff.email, clientAddress: client.address)
    }
}

/// Sends a visitor without a finished staff sign-in to the step they are at.
struct RequireStaffMiddleware: RouterMiddleware {
    typealias Context = PortalRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let session = context.staffSession else { return .redirect(to: SitePath.staffLogin) }
        switch session.stage {
        case .password: return .redirect(to: SitePath.staffLoginMFA)
        case .enrolment: return .redirect(to: SitePath.staffMFASetup)
        case .complete:
            guard context.staff?.status == .active else { return .redirect(to: SitePath.staffLogin) }
            return try await next(request, context)
        }
    }
}

/// Refuses a route to staff whose role does not include `needed`, with the reason.
struct RequireRoleMiddleware: RouterMiddleware {
    typealias Context = StaffRequestContext
    let needed: StaffRole

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard context.staff.role.includes(needed) else {
            throw PageError(status: .forbidden, message: "This needs the \(needed.rawValue) role; you are signed in as \(context.staff.role.rawValue).")
        }
        return try await next(request, context)
    }
}
