import CCurl
import Foundation

/// Where and how to reach the SMTP server, from `PORTAL_SMTP_URL`:
/// `smtp://user:pass@host:587` (STARTTLS when offered; `?starttls=required` insists, `?starttls=off` never),
/// or `smtps://user:pass@host:465` (TLS from the first byte).
public struct SMTPSettings: Sendable, Equatable {
    public enum TLS: String, Sendable { case implicit, required, opportunistic, off }

    public var host: String
    public var port: Int
    public var username: String?
    public var password: String?
    public var tls: TLS
    public var timeoutSeconds: Int = 30

    public init?(url: String) {
        guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased(),
              let host = components.host, !host.isEmpty else { return nil }
        self.host = host
        self.username = components.percentEncodedUser?.removingPercentEncoding
        self.password = components.percentEncodedPassword?.removingPercentEncoding
        let starttls = components.queryItems?.first { $0.name == "starttls" }?.value ?? "opportunistic"
        switch scheme {
        case "smtps":
            tls = .implicit
            port = components.port ?? 465
        case "smtp":
            guard let mode = TLS(rawValue: starttls), mode != .implicit else { return nil }
            tls = mode
            port = components.port ?? 587
        default:
            return nil
        }
    }
}

/// Sends mail through libcurl's SMTP client. Each send is one blocking transfer, run on its own
/// small thread pool; failures are thrown with curl's message so the outbox records why.
public struct SMTPMailer: Mailer {
    public let settings: SMTPSettings
    private let pool = BlockingPool(label: "smtp", limit: 2)

    public init(settings: SMTPSettings) {
        self.settings = settings
        _ = Self.globalInit
    }

    private static let globalInit: Void = { curl_global_init(Int(CURL_GLOBAL_DEFAULT)) }()

    public func send(_ message: MailMessage, from: String) async throws {
        let domain = from.split(separator: "@").last.map(String.init) ?? "portal"
        let raw = MIMEMessage.render(message, from: from, date: Date(),
                                     messageId: "\(RandomBytes.base64URL(count: 12))@\(domain)")
        let settings = self.settings
        try await pool.run { try Self.transfer(raw: raw, from: from, to: message.to, settings: settings) }
    }

    private final class Payload {
        let bytes: [UInt8]
        var offset = 0
        init(_ bytes: [UInt8]) { self.bytes = bytes }
    }

    private static func transfer(raw: String, from: String, to: String, settings: SMTPSettings) throws {
        guard let handle = curl_easy_init() else { throw MailDeliveryError("curl_easy_init failed") }
        defer { curl_easy_cleanup(handle) }
        var recipients: UnsafeMutablePointer<curl_slist>? = nil
        recipients = curl_slist_append(recipients, "<\(bareAddress(to))>")
        defer { curl_slist_free_all(recipients) }

        let scheme = settings.tls == .implicit ? "smtps" : "smtp"
        let url = "\(scheme)://\(settings.host):\(settings.port)"
        let payload = Payload(Array(raw.utf8))
        let unmanaged = Unmanaged.passRetained(payload)
        defer { unmanaged.release() }

        var errorBuffer = [CChar](repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
        let code: CURLcode = errorBuffer.withUnsafeMutableBufferPointer { errorPointer in
            _ = portal_curl_setopt_string(handle, CURLOPT_URL, url)
            _ = portal_curl_setopt_string(handle, CURLOPT_MAIL_FROM, "<\(bareAddress(from))>")
            _ = portal_curl_setopt_slist(handle, CURLOPT_MAIL_RCPT, recipients)
            _ = portal_curl_setopt_long(handle, CURLOPT_UPLOAD, 1)
            _ = portal_curl_setopt_long(handle, CURLOPT_CONNECTTIMEOUT, 10)
            _ = portal_curl_setopt_long(handle, CURLOPT_TIMEOUT, settings.timeoutSeconds)
            _ = portal_curl_setopt_long(handle, CURLOPT_NOSIGNAL, 1)
            _ = portal_curl_setopt_pointer(handle, CURLOPT_ERRORBUFFER, errorPointer.baseAddress)
            switch settings.tls {
            case .implicit, .required: _ = portal_curl_setopt_long(handle, CURLOPT_USE_SSL, Int(CURLUSESSL_ALL.rawValue))
            case .opportunistic: _ = portal_curl_setopt_long(handle, CURLOPT_USE_SSL, Int(CURLUSESSL_TRY.rawValue))
            case .off: _ = portal_curl_setopt_long(handle, CURLOPT_USE_SSL, Int(CURLUSESSL_NONE.rawValue))
            }
            if let user = settings.username {
                _ = portal_curl_setopt_string(handle, CURLOPT_USERNAME, user)
                _ = portal_curl_setopt_string(handle, CURLOPT_PASSWORD, settings.password ?? "")
            }
            _ = portal_curl_setopt_pointer(handle, CURLOPT_READDATA, unmanaged.toOpaque())
            _ = portal_curl_setopt_read_function(handle) { buffer, size, count, userdata in
                guard let buffer, let userdata else { return 0 }
                let payload = Unmanaged<Payload>.fromOpaque(userdata).takeUnretainedValue()
                let room = size * count
                let remaining = payload.bytes.count - payload.offset
                let n = min(room, remaining)
                if n > 0 {
                    payload.bytes.withUnsafeBufferPointer { source in
                        UnsafeMutableRawPointer(buffer).copyMemory(from: source.baseAddress! + payload.offset, byteCount: n)
                    }
                    payload.offset += n
                }
                return n
            }
            return curl_easy_perform(handle)
        }
        guard code == CURLE_OK else {
            let detail = String(decoding: errorBuffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            let message = detail.isEmpty ? String(cString: curl_easy_strerror(code)) : detail
            throw MailDeliveryError("SMTP \(settings.host):\(settings.port): \(message)")
        }
    }

    /// `Name <a@b>` → `a@b`, so the envelope always carries the bare address.
    static func bareAddress(_ address: String) -> String {
        if let open = address.lastIndex(of: "<"), let close = address.lastIndex(of: ">"), open < close {
            return String(address[address.index(after: open)..<close])
        }
        return address.trimmingCharacters(in: .whitespaces)
    }
}
