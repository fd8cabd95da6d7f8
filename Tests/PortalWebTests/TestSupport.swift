import Crypto
import Foundation
import GRDB
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import PortalCore
import PortalWeb
import Synchronization
import Testing

// MARK: - The app under test

/// The repository root, found from this file so tests run from any working directory.
let repositoryRoot: URL = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent()  // PortalWebTests
    .deletingLastPathComponent()  // Tests
    .deletingLastPathComponent()  // repository

/// Cheap argon2id parameters: the tests hash and verify hundreds of passwords.
let fastHasher = PasswordHasher(testingParameters: Argon2Parameters(memoryKiB: 1024, iterations: 1, parallelism: 1), maxConcurrent: 4)

/// One running portal: a fresh SQLite file, the real migrations and templates, a hand-moved clock.
struct Portal: Sendable {
    let services: PortalServices
    let clock: ManualClock
    let publicURL: String

    var database: DatabasePool { services.database }

    /// The current 6-digit code for a secret, by the portal's clock.
    func code(_ secret: [UInt8]) -> String { TOTPGenerator(secret: secret).code(at: clock.date) }

    /// A 6-digit string that matches no step the portal would accept right now.
    func wrongCode(_ secret: [UInt8]) -> String {
        let generator = TOTPGenerator(secret: secret)
        let now = generator.step(at: clock.date)
        let valid = Set((now - 1...now + 1).map { generator.code(step: $0) })
        var candidate = 123_456
        while valid.contains(String(format: "%06d", candidate)) { candidate += 1 }
        return String(format: "%06d", candidate)
    }

    /// Moves to the next TOTP step, since a step once used is refused.
    func nextStep() { clock.advance(by: 30) }

    // MARK: Seeding, through the services as an operator would

    @discardableResult
    func account(_ name: String) async throws -> Account {
        try await services.directory.upsertAccount(name: name)
    }

    /// An active customer with a password and (unless `enrolled` is false) a confirmed authenticator.
    func customer(_ email: String, name: String = "", password: String = defaultPassword,
                  accounts: [Account]? = nil, enrolled: Bool = true) async throws -> Customer {
        let memberships: [Account]
        if let accounts { memberships = accounts } else { memberships = [try await account("Account of \(email)")] }
        let system = AuditEvent(action: "test.seed", actorKind: .system, actorLabel: "tests", clientAddress: "tests")
        _ = try await services.invitations.invite(email: email, name: name, accounts: memberships.map(\.id), invitedBy: system)
        let id = try await services.directory.activateCustomerForDemo(email: email, password: password)
        let secret = TOTPGenerator.newSecret()
        var recoveryCodes: [String] = []
        if enrolled { recoveryCodes = try await services.mfa.enrolKnownSecret(.customer(id), secret: secret) }
        return Customer(id: id, email: email, password: password, secret: secret, recoveryCodes: recoveryCodes, accounts: memberships)
    }

    // MARK: Reading state back

    func audit(_ action: String) async throws -> [AuditEvent] {
        try await services.audit.events(action: action)
    }

    func mail(to address: String) async throws -> [QueuedMail] {
        try await services.outbox.all().filter { $0.message.to == address }
    }

    /// The site path of the first link under `prefix` in the newest message to `address`.
    func linkPath(in mail: QueuedMail, prefix: String) throws -> String {
        let text = mail.message.textBody
        let start = try #require(text.range(of: publicURL + prefix), "no \(prefix) link in: \(text)")
        let end = text[start.upperBound...].firstIndex(where: { $0.isWhitespace }) ?? text.endIndex
        return String(text[start.lowerBound..<end].dropFirst(publicURL.count))
    }

    func sessionCount(of customer: Customer) async throws -> Int {
        try await database.read { db in
            try Int.fetchOne(db, sql: "SELECT count(*) FROM sessions WHERE principal_kind = 'customer' AND principal_id = ?",
                             arguments: [customer.id]) ?? 0
        }
    }

    /// The public ids of the customer's sessions, as the account page names them.
    func sessionPublicIds(of customer: Customer) async throws -> [String] {
        try await database.read { db in
            try String.fetchAll(db, sql: "SELECT public_id FROM sessions WHERE principal_kind = 'customer' AND principal_id = ? ORDER BY created_at",
                                arguments: [customer.id])
        }
    }

    func passwordHash(of customer: Customer) async throws -> String? {
        try await database.read { db in
            try String.fetchOne(db, sql: "SELECT password_hash FROM customer_users WHERE id = ?", arguments: [customer.id])
        }
    }

    /// Whether `password` is the one stored for the customer now.
    func passwordMatches(_ customer: Customer, _ password: String) async throws -> Bool {
        guard let hash = try await passwordHash(of: customer) else { return false }
        return try await fastHasher.verify(password, against: hash)
    }
}

let defaultPassword = "plum orbit canvas 42"

struct Customer: Sendable {
    let id: String
    let email: String
    let password: String
    let secret: [UInt8]
    let recoveryCodes: [String]
    let accounts: [Account]
}

/// Builds the portal as `portal serve` does (minus TLS, which a proxy terminates) and runs `body`
/// against it over real HTTP on loopback.
func withPortal(publicURL: String = "http://127.0.0.1", hasher: PasswordHasher = fastHasher, logs: LogCapture? = nil,
                gateway: (any PaymentGateway)? = nil, billingAddress: String? = nil,
                integration: (@Sendable (DatabasePool) -> any IntegrationControl)? = nil,
                _ body: @Sendable (Portal, any TestClientProtocol) async throws -> Void) async throws {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("portal-web-tests-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }

    let database = try PortalDatabase.open(path: directory.appendingPathComponent("portal.sqlite").path)
    try Migrator(directory: repositoryRoot.appendingPathComponent("Migrations").path).migrate(database)
    let clock = ManualClock()
    let templates = repositoryRoot.appendingPathComponent("Templates").path
    var dependencies = PortalServices.Dependencies(
        database: database, clock: clock.clock, secrets: SecretBox(key: SymmetricKey(size: .bits256)), hasher: hasher,
        mailTemplates: try await MailTemplates(directory: templates), links: LinkBuilder(publicURL: publicURL),
        gateway: gateway, billingAddress: billingAddress)
    dependencies.integration = integration?(database)
    dependencies.servingPages()
    let services = try await PortalServices(dependencies)
    var logger: Logger
    if let logs {
        logger = Logger(label: "portal-web-tests") { _ in CapturingLogHandler(capture: logs) }
        logger.logLevel = .trace
    } else {
        logger = Logger(label: "portal-web-tests")
        logger.logLevel = .error
    }
    let settings = WebSettings(
        host: "127.0.0.1", port: 0, publicURL: publicURL, templatesDirectory: templates,
        publicDirectory: repositoryRoot.appendingPathComponent("Public").path,
        csrfKey: SymmetricKeyData((0..<32).map { _ in UInt8.random(in: .min ... .max) }))
    let app = try await buildApplication(settings: settings, services: services, logger: logger)
    let portal = Portal(services: services, clock: clock, publicURL: publicURL)
    try await app.test(.live) { client in
        try await body(portal, client)
    }
}

// MARK: - A browser: cookie jar, forms, CSRF

/// One HTTP response, with the helpers the assertions need.
struct Page: Sendable {
    let status: HTTPResponse.Status
    let headers: HTTPFields
    let body: String

    var location: String? { headers[.location] }
    var setCookies: [String] { headers[values: .setCookie] }

    /// The raw `Set-Cookie` line for a cookie name, if this response set it.
    func setCookie(_ name: String) -> String? {
        setCookies.last { $0.hasPrefix(name + "=") }
    }

    /// The body with HTML entities decoded, for comparing against the messages people read.
    var text: String {
        body.replacingOccurrences(of: "&#39;", with: "'")
            .replacingOccurrences(of: "&quot;", with: "\"")
            .replacingOccurrences(of: "&lt;", with: "<")
            .replacingOccurrences(of: "&gt;", with: ">")
            .replacingOccurrences(of: "&amp;", with: "&")
    }

    func contains(_ text: String) -> Bool { self.text.contains(text) }

    /// The `_csrf` hidden field of the page's forms.
    var csrf: String? { hiddenField("_csrf") }

    func hiddenField(_ name: String) -> String? {
        guard let range = body.range(of: "name=\"\(name)\" value=\"") else { return nil }
        let rest = body[range.upperBound...]
        guard let end = rest.firstIndex(of: "\"") else { return nil }
        return String(rest[..<end])
    }

    /// Every value of `attribute="…"` in the body, in order.
    func attributeValues(_ attribute: String) -> [String] {
        var values: [String] = []
        var rest = body[...]
        while let range = rest.range(of: "\(attribute)=\"") {
            let after = rest[range.upperBound...]
            guard let end = after.firstIndex(of: "\"") else { break }
            values.append(String(after[..<end]))
            rest = after[end...]
        }
        return values
    }

    /// The authenticator key shown on the enrolment page.
    func enrolmentSecret() throws -> [UInt8] {
        let text = try #require(attributeValues("data-secret").first, "no authenticator key on the page")
        return try #require(Base32.decode(text), "authenticator key is not base32")
    }

    /// The recovery codes shown on the recovery codes page.
    var recoveryCodes: [String] {
        var codes: [String] = []
        var rest = body[...]
        while let range = rest.range(of: "<li><code>") {
            let after = rest[range.upperBound...]
            guard let end = after.range(of: "</code>") else { break }
            codes.append(String(after[..<end.lowerBound]))
            rest = after[end.upperBound...]
        }
        return codes
    }
}

/// A browser session against the portal: keeps cookies as a browser would, remembers the CSRF
/// token of the last page it saw, and never follows redirects on its own.
final class Browser: Sendable {
    let client: any TestClientProtocol
    let userAgent: String
    private let state = Mutex<(cookies: [String: String], csrf: String?)>(([:], nil))

    init(_ client: any TestClientProtocol, userAgent: String = "TestBrowser/1.0") {
        self.client = client
        self.userAgent = userAgent
    }

    var cookies: [String: String] { state.withLock { $0.cookies } }
    func cookie(_ name: String) -> String? { cookies[name] }
    var sessionCookie: String? { cookie("portal_session") }
    var csrf: String? { state.withLock { $0.csrf } }

    func setCookie(_ name: String, _ value: String?) {
        state.withLock { $0.cookies[name] = value }
    }

    @discardableResult
    func request(_ method: HTTPRequest.Method, _ path: String, headers extra: HTTPFields = [:], body: String? = nil) async throws -> Page {
        var headers = extra
        headers[.userAgent] = userAgent
        let jar = cookies
        if !jar.isEmpty {
            headers[.cookie] = jar.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: "; ")
        }
        let response = try await client.executeRequest(
            uri: path, method: method, headers: headers, body: body.map { ByteBuffer(string: $0) })
        let page = Page(status: response.status, headers: response.headers, body: String(buffer: response.body))
        state.withLock { state in
            for line in page.setCookies { Self.apply(line, to: &state.cookies) }
            if let token = page.csrf { state.csrf = token }
        }
        return page
    }

    @discardableResult
    func get(_ path: String) async throws -> Page { try await request(.get, path) }

    /// POSTs a urlencoded form. The `_csrf` field is the last page's token unless `csrf` says otherwise
    /// (`.none` sends no token, `.token(x)` sends `x`).
    @discardableResult
    func post(_ path: String, _ fields: KeyValuePairs<String, String> = [:], csrf: CSRFChoice = .lastPage) async throws -> Page {
        var pairs = fields.map { ($0.key, $0.value) }
        switch csrf {
        case .lastPage: if let token = self.csrf { pairs.append(("_csrf", token)) }
        case .token(let token): pairs.append(("_csrf", token))
        case .none: break
        }
        return try await request(.post, path, headers: [.contentType: "application/x-www-form-urlencoded"],
                                 body: Self.urlEncode(pairs))
    }

    /// Loads the page with the form (as a person would), then submits it.
    @discardableResult
    func submit(_ formPage: String, to action: String? = nil, _ fields: KeyValuePairs<String, String>) async throws -> Page {
        let page = try await get(formPage)
        try #require(page.status == .ok, "form page \(formPage) answered \(page.status)")
        try #require(page.csrf != nil, "form page \(formPage) has no _csrf field")
        return try await post(action ?? formPage, fields)
    }

    /// Follows one redirect.
    @discardableResult
    func follow(_ page: Page) async throws -> Page {
        let location = try #require(page.location, "expected a redirect, got \(page.status)")
        return try await get(location)
    }

    enum CSRFChoice: Sendable {
        case lastPage
        case token(String)
        case none
    }

    static func urlEncode(_ pairs: [(String, String)]) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return pairs.map { key, value in
            "\(key.addingPercentEncoding(withAllowedCharacters: allowed) ?? "")=\(value.addingPercentEncoding(withAllowedCharacters: allowed) ?? "")"
        }.joined(separator: "&")
    }

    private static func apply(_ line: String, to jar: inout [String: String]) {
        let parts = line.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
        guard let first = parts.first, let equals = first.firstIndex(of: "=") else { return }
        let name = String(first[..<equals])
        let value = String(first[first.index(after: equals)...])
        let expired = parts.dropFirst().contains { $0.lowercased() == "max-age=0" }
        if expired || value.isEmpty { jar[name] = nil } else { jar[name] = value }
    }
}

// MARK: - Flows

extension Portal {
    /// Password then code; returns the final response (a redirect to `/`).
    @discardableResult
    func signIn(_ browser: Browser, _ customer: Customer) async throws -> Page {
        let first = try await browser.submit("/login", ["email": customer.email, "password": customer.password])
        try #require(first.status == .seeOther && first.location == "/login/mfa", "password step answered \(first.status) \(first.location ?? "")")
        nextStep()
        let second = try await browser.submit("/login/mfa", ["code": code(customer.secret)])
        try #require(second.status == .seeOther && second.location == "/", "code step answered \(second.status) \(second.location ?? "")")
        return second
    }

    /// A new browser, signed in as `customer`.
    @discardableResult
    func signedIn(_ client: any TestClientProtocol, _ customer: Customer, userAgent: String = "TestBrowser/1.0") async throws -> Browser {
        let browser = Browser(client, userAgent: userAgent)
        try await signIn(browser, customer)
        return browser
    }
}

/// The cookie attributes, lower-cased, of a `Set-Cookie` line.
func cookieAttributes(_ line: String) -> Set<String> {
    Set(line.split(separator: ";").dropFirst().map { $0.trimmingCharacters(in: .whitespaces).lowercased() })
}

/// Text that must never reach a page: internals of the server.
let internalsMarkers = [".swift", "HTTPError", "PageError", "Fatal error", "Stack", "at line", "SQLITE", "GRDB", "PortalCore"]

// MARK: - Logs

/// Every log line the app writes, message and metadata flattened to text.
final class LogCapture: Sendable {
    private let lines = Mutex<[String]>([])
    func append(_ line: String) { lines.withLock { $0.append(line) } }
    var all: [String] { lines.withLock { $0 } }
    var text: String { all.joined(separator: "\n") }
}

struct CapturingLogHandler: LogHandler {
    let capture: LogCapture
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let merged = metadata.merging(event.metadata ?? [:]) { _, new in new }
        let fields = merged.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        capture.append("\(event.level) \(event.message) \(fields)")
    }
}
