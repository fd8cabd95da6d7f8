import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Gateways

/// Talks to one Creatio instance over OData 4. Signs in lazily, and when an answer shows the session
/// has lapsed (a 401, or the HTML login page after a redirect) signs in again once and retries, so a
/// long sync survives Creatio's idle timeout without looping on bad credentials.
///
/// Records travel as `OrderedJSON` (package-visible) because it keeps number tokens as written: money
/// reaches `Money` from the decimal text, never through a `Double`.
public actor CreatioClient {
    public let configuration: CreatioConfiguration
    let session: URLSession
    var cookies: [(name: String, value: String)] = []
    var bearer: String?
    var signedIn = false
    /// Sign-ins made so far; the tests use it to check "once".
    public private(set) var signInCount = 0

    public init(_ configuration: CreatioConfiguration) {
        self.configuration = configuration
        let sessionConfiguration = URLSessionConfiguration.ephemeral
        sessionConfiguration.timeoutIntervalForRequest = configuration.timeout
        sessionConfiguration.timeoutIntervalForResource = configuration.timeout * 2
        // Cookies are kept here, per client, so two clients (or a re-login) never share a jar.
        sessionConfiguration.httpShouldSetCookies = false
        sessionConfiguration.httpCookieAcceptPolicy = .never
        sessionConfiguration.httpCookieStorage = nil
        sessionConfiguration.urlCache = nil
        session = URLSession(configuration: sessionConfiguration)
    }

    // MARK: OData

    /// One page of a collection. Parsed off the actor, so reads made at once are parsed at once.
    package nonisolated func list(_ collection: String, _ query: ODataQuery) async throws -> [OrderedJSON] {
        let (_, data) = try await send("GET", collectionURL(collection, query), body: nil)
        let answer = try Self.parse(data)
        guard case .array(let records)? = answer["value"] else { throw CreatioError.invalidResponse("no \"value\" array in the collection") }
        return records
    }

    package func patch(_ collection: String, id: String, _ body: OrderedJSON) async throws {
        _ = try await send("PATCH", odataURL("\(collection)(\(id))"), body: body.serialized())
    }

    /// Creates a record; returns it as Creatio stored it.
    @discardableResult
    package func post(_ collection: String, _ body: OrderedJSON) async throws -> OrderedJSON {
        let (_, data) = try await send("POST", odataURL(collection), body: body.serialized())
        return data.isEmpty ? .null : try Self.parse(data)
    }

    /// The address of one collection read, as sent.
    nonisolated func collectionURL(_ collection: String, _ query: ODataQuery) -> URL {
        var components = URLComponents(url: odataURL(collection), resolvingAgainstBaseURL: false)!
        components.queryItems = query.items
        // URLComponents leaves "+" alone, which a server may read as a space.
        components.percentEncodedQuery = components.percentEncodedQuery?.replacingOccurrences(of: "+", with: "%2B")
        return components.url!
    }

    nonisolated func odataURL(_ path: String) -> URL {
        configuration.baseURL.appendingPathComponent(configuration.odataPath).appendingPathComponent(path)
    }

    // MARK: Sending

    func send(_ method: String, _ url: URL, body: [UInt8]?, headers: [String: String] = [:]) async throws -> (HTTPURLResponse, Data) {
        if !signedIn { try await signIn() }
        var (response, data) = try await perform(method, url, body: body, headers: headers)
        if Self.sessionLapsed(response, data) {
            signedIn = false
            try await signIn()
            (response, data) = try await perform(method, url, body: body, headers: headers)
            if Self.sessionLapsed(response, data) { throw CreatioError.sessionRejected }
        }
        guard (200..<300).contains(response.statusCode) else { throw Self.error(status: response.statusCode, data) }
        return (response, data)
    }

    func perform(_ method: String, _ url: URL, body: [UInt8]?, headers: [String: String] = [:]) async throws -> (HTTPURLResponse, Data) {
        var request = URLRequest(url: url)
        request.httpMethod = method
        request.setValue("application/json", forHTTPHeaderField: "Accept")
        request.setValue("true", forHTTPHeaderField: "ForceUseSession")
        if let body {
            request.httpBody = Data(body)
            request.setValue("application/json; charset=utf-8; IEEE754Compatible=true", forHTTPHeaderField: "Content-Type")
        }
        if let bearer {
            request.setValue("Bearer \(bearer)", forHTTPHeaderField: "Authorization")
        } else if !cookies.isEmpty {
            request.setValue(cookies.map { "\($0.name)=\($0.value)" }.joined(separator: "; "), forHTTPHeaderField: "Cookie")
            if let csrf = cookies.first(where: { $0.name == "BPMCSRF" })?.value { request.setValue(csrf, forHTTPHeaderField: "BPMCSRF") }
        }
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        return try await transfer(request)
    }

    func transfer(_ request: URLRequest) async throws -> (HTTPURLResponse, Data) {
        do {
            let (data, response) = try await session.data(for: request)
            guard let http = response as? HTTPURLResponse else { throw CreatioError.invalidResponse("not HTTP") }
            return (http, data)
        } catch let error as URLError {
            throw CreatioError.unavailable(error.code == .timedOut ? "no answer within \(Int(configuration.timeout)) s" : "\(error.code)")
        }
    }

    /// A 401, a redirect to the login page that was not followed, or the login page itself after one
    /// that was (.NET Framework sends /Login/NuiLogin.aspx, .NET Core /Login/Login.html).
    static func sessionLapsed(_ response: HTTPURLResponse, _ data: Data) -> Bool {
        if response.statusCode == 401 { return true }
        if (300..<400).contains(response.statusCode),
           let location = response.value(forHTTPHeaderField: "Location"), location.contains("/Login/") { return true }
        if response.url?.path.contains("/Login/") == true { return true }
        guard let first = data.first(where: { !($0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09) }), first == UInt8(ascii: "<") else { return false }
        let text = String(decoding: data.prefix(64 * 1024), as: UTF8.self)
        return text.contains("/Login/") || text.contains("bootstrap.login")
    }

    static func error(status: Int, _ data: Data) -> CreatioError {
        if let answer = try? OrderedJSON.parse(data), let error = answer["error"] {
            let inner = error["innererror"]?["internalexception"]?["message"]?.text
            return .odata(status: status, code: error["code"]?.text ?? "", message: error["message"]?.text ?? inner ?? "")
        }
        return .http(status: status, body: String(decoding: data.prefix(500), as: UTF8.self))
    }

    static func parse(_ data: Data) throws -> OrderedJSON {
        do { return try OrderedJSON.parse(data) } catch { throw CreatioError.invalidResponse("body is not JSON") }
    }

    // MARK: Signing in

    public func signIn() async throws {
        signInCount += 1
        switch configuration.auth {
        case .forms(let user, let password): try await formsSignIn(user: user, password: password)
        case .oauth(let tokenURL, let clientId, let secret): try await oauthSignIn(tokenURL: tokenURL, clientId: clientId, secret: secret)
        }
        signedIn = true
    }

    func formsSignIn(user: String, password: String) async throws {
        let url = configuration.baseURL.appendingPathComponent("ServiceModel/AuthService.svc/Login")
        var request = URLRequest(url: url)
        request.httpMethod = "POST"
        request.setValue("application/json; charset=utf-8", forHTTPHeaderField: "Content-Type")
        request.setValue("true", forHTTPHeaderField: "ForceUseSession")
        let body: OrderedJSON = ["UserName": .string(user), "UserPassword": .string(password)]
        request.httpBody = Data(body.serialized())
        let (response, data) = try await transfer(request)
        let answer = try? OrderedJSON.parse(data)
        // Success is `Code` 0 in the body, whatever the status; a refusal is reported as 200 with `Code` 1.
        guard response.statusCode == 200, let answer, answer["Code"]?.text == "0" else {
            let message = answer?["Message"]?.text.flatMap { $0.isEmpty ? nil : $0 }
                ?? answer?["Exception"]?["Message"]?.text ?? "status \(response.statusCode)"
            throw CreatioError.signInFailed(message)
        }
        let fields = response.allHeaderFields.reduce(into: [String: String]()) { fields, field in
            if let name = field.key as? String, let value = field.value as? String { fields[name] = value }
        }
        let received = HTTPCookie.cookies(withResponseHeaderFields: fields, for: url)
        guard !received.isEmpty else { throw CreatioError.signInFailed("no session cookies in the answer") }
        cookies = received.map { ($0.name, $0.value) }
        bearer = nil
    }

    func oauthSignIn(tokenURL: URL, clientId: String, secret: String) async throws {
        var request = URLRequest(url: tokenURL)
        request.httpMethod = "POST"
        request.setValue("application/x-www-form-urlencoded", forHTTPHeaderField: "Content-Type")
        var form = URLComponents()
        form.queryItems = [URLQueryItem(name: "grant_type", value: "client_credentials"),
                           URLQueryItem(name: "client_id", value: clientId), URLQueryItem(name: "client_secret", value: secret)]
        let encoded = (form.percentEncodedQuery ?? "").replacingOccurrences(of: "+", with: "%2B")
        request.httpBody = Data(encoded.utf8)
        let (response, data) = try await transfer(request)
        let answer = try? OrderedJSON.parse(data)
        guard response.statusCode == 200, let token = answer?["access_token"]?.text, !token.isEmpty else {
            throw CreatioError.signInFailed(answer?["error_description"]?.text ?? answer?["error"]?.text ?? "token endpoint answered \(response.statusCode)")
        }
        bearer = token
        cookies = []
    }
}
