import Foundation

/// Where a Creatio instance is and how to sign in to it.
public struct CreatioConfiguration: Sendable, Equatable {
    public enum Auth: Sendable, Equatable {
        /// Cookie sign-in through AuthService.svc; every later call carries the cookies and `BPMCSRF`.
        case forms(user: String, password: String)
        /// Identity Service client credentials; calls carry a bearer token and no cookies.
        case oauth(tokenURL: URL, clientId: String, secret: String)
    }

    public var baseURL: URL
    /// "0/odata" on .NET Framework instances, "odata" on .NET Core/.NET 8 ones.
    public var odataPath: String
    public var auth: Auth
    /// Seconds to wait for one answer before the call counts as unanswered.
    public var timeout: TimeInterval

    public init(baseURL: URL, odataPath: String = "0/odata", auth: Auth, timeout: TimeInterval = 30) {
        self.baseURL = baseURL
        self.odataPath = odataPath.trimmingCharacters(in: CharacterSet(charactersIn: "/"))
        self.auth = auth
        self.timeout = timeout
    }
}

public enum CreatioError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The instance refused the credentials (login `Code` not 0, or the token endpoint said no).
    case signInFailed(String)
    /// An OData error envelope, with Creatio's own message.
    case odata(status: Int, code: String, message: String)
    /// Any other unsuccessful answer (an IIS HTML page, a bare 403, ...).
    case http(status: Int, body: String)
    /// Still not signed in after signing in again once.
    case sessionRejected
    /// No answer in time, or no connection.
    case unavailable(String)
    case invalidResponse(String)

    public var description: String {
        switch self {
        case .signInFailed(let message): "Creatio sign-in failed: \(message)"
        case .odata(let status, let code, let message): "Creatio answered \(status) (\(code)): \(message)"
        case .http(let status, let body): "Creatio answered \(status): \(body.prefix(200))"
        case .sessionRejected: "Creatio rejected the session even after signing in again"
        case .unavailable(let reason): "Creatio unavailable: \(reason)"
        case .invalidResponse(let reason): "unexpected answer from Creatio: \(reason)"
        }
    }
}
