import Foundation
import Hummingbird
import ServiceLifecycle
import Logging
import PortalCore

/// What the web app needs beyond the services.
public struct WebSettings: Sendable {
    public var host: String
    public var port: Int
    public var publicURL: String
    public var templatesDirectory: String
    public var publicDirectory: String
    public var csrfKey: SymmetricKeyData
    public var documents: InvoiceDocumentSettings

    public init(host: String, port: Int, publicURL: String, templatesDirectory: String, publicDirectory: String, csrfKey: SymmetricKeyData,
                documents: InvoiceDocumentSettings = InvoiceDocumentSettings(companyName: "Payment Portal")) {
        self.documents = documents
        self.host = host
        self.port = port
        self.publicURL = publicURL
        self.templatesDirectory = templatesDirectory
        self.publicDirectory = publicDirectory
        self.csrfKey = csrfKey
    }

    var isHTTPS: Bool { publicURL.lowercased().hasPrefix("https://") }
}

/// Key bytes wrapped so PortalWeb's public API does not leak swift-crypto's types.
public struct SymmetricKeyData: Sendable {
    public let bytes: [UInt8]
    public init(_ bytes: [UInt8]) { self.bytes = bytes }
}

/// The one place the web app is assembled: `portal serve`, `portal demo` and the tests all call it.
public func buildApplication(settings: WebSettings, services: PortalServices, logger: Logger,
                             backgroundServices: [any Service] = []) async throws -> some ApplicationProtocol {
    let router = try await buildRouter(settings: settings, services: services, logger: logger)
    var app = Application(
        router: router,
        configuration: .init(address: .hostname(settings.host, port: settings.port), serverName: nil),
        logger: logger)
    for service in backgroundServices { app.addServices(service) }
    return app
}

public func buildRouter(settings: WebSettings, services: PortalServices, logger: Logger) async throws -> Router<PortalRequestContext> {
    let renderer = try await PageRenderer(directory: settings.templatesDirectory)
    let cookies = SessionCookies(secure: settings.isHTTPS)
    let csrf = CSRFTokens(key: .init(data: settings.csrfKey.bytes))
    let pdf = try InvoicePDFRenderer(settings: settings.documents)
    // PDF rendering is CPU work: two at a time, off the request executors.
    let pdfPool = BlockingPool(label: "pdf", limit: 2)

    let router = Router(context: PortalRequestContext.self)
    router.addMiddleware {
        RequestLogMiddleware()
        SecurityHeadersMiddleware(hsts: settings.isHTTPS)
        ErrorPageMiddleware(renderer: renderer)
    }
    // Registered before the session middleware, so the health check (the load balancer's probe and
    // the benchmark's baseline) does no session work. Middleware added below applies to the routes
    // after it and to unmatched paths.
    HealthController(database: services.database).register(on: router)
    // Likewise webhooks: a gateway has no session or CSRF token; its signature is checked instead.
    WebhooksController(webhooks: services.webhooks).register(on: router)
    // And the JSON API: its bearer key is its authentication; it must not make sessions.
    PaymentLinksAPIController(services: services).register(on: router)
    router.addMiddleware {
        StaticFilesMiddleware(directory: settings.publicDirectory, logger: logger)
        SessionMiddleware(sessions: services.sessions, csrf: csrf, cookies: cookies)
        CSRFMiddleware(csrf: csrf, cookies: cookies)
    }
    AuthController(services: services, renderer: renderer, cookies: cookies).register(on: router)
    MFASetupController(services: services, renderer: renderer, cookies: cookies).register(on: router)
    InvitationController(services: services, renderer: renderer, cookies: cookies).register(on: router)
    PasswordResetController(services: services, renderer: renderer, cookies: cookies).register(on: router)

    AuthController(services: services, renderer: renderer, cookies: cookies, audience: .staff).register(on: router)
    MFASetupController(services: services, renderer: renderer, cookies: cookies, audience: .staff).register(on: router)
    InvitationController(services: services, renderer: renderer, cookies: cookies, audience: .staff).register(on: router)

    // Payment links need no sign-in: registered outside the customer group (`/pay` itself is in it).
    PaymentLinkController(services: services, renderer: renderer, pdf: pdf, pdfPool: pdfPool).register(on: router)

    let staff = router.group()
        .add(middleware: RequireStaffMiddleware())
        .group(context: StaffRequestContext.self)
    let staffConsole = StaffConsoleController(services: services, renderer: renderer, cookies: cookies)
    staffConsole.register(on: staff)
    ImpersonationController(services: services, cookies: cookies) { context, id, message in
        try await staffConsole.renderCustomer(context, id: id, error: message)
    }.register(on: staff)
    StaffPaymentsController(services: services, renderer: renderer, cookies: cookies).register(on: staff)
    StaffPaymentLinksController(services: services, cookies: cookies) { context, id, message, link in
        try await staffConsole.renderCustomer(context, id: id, error: message, issuedLink: link)
    }.register(on: staff)
    StaffAuditController(services: services, renderer: renderer).register(on: staff)
    StaffSettingsController(services: services, renderer: renderer).register(on: staff)
    StaffIntegrationController(services: services, renderer: renderer).register(on: staff)
    StaffUsersController(services: services, renderer: renderer, cookies: cookies).register(on: staff)

    let customer = router.group()
        .add(middleware: RequireCustomerMiddleware(impersonation: services.impersonation, cookies: cookies))
        .group(context: CustomerRequestContext.self)
        .add(middleware: ImpersonationGuardMiddleware())
    DashboardController(services: services, renderer: renderer).register(on: customer)
    InvoicesController(services: services, renderer: renderer, pdf: pdf, pdfPool: pdfPool, links: services.links).register(on: customer)
    AccountController(services: services, renderer: renderer, cookies: cookies).register(on: customer)
    PaymentMethodsController(services: services, renderer: renderer, cookies: cookies).register(on: customer)
    PaymentsController(services: services, renderer: renderer).register(on: customer)
    AutopayController(services: services, renderer: renderer, cookies: cookies).register(on: customer)
    return router
}
