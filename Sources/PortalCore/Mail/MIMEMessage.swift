import Foundation

/// Builds an RFC 5322 message (multipart/alternative when there is HTML), UTF-8 throughout.
enum MIMEMessage {
    static func render(_ message: MailMessage, from: String, date: Date, messageId: String) -> String {
        var headers = [
            "From: \(encodeAddress(from))",
            "To: \(encodeAddress(message.to))",
            "Subject: \(encodeHeader(message.subject))",
            "Date: \(rfc2822(date))",
            "Message-ID: <\(messageId)>",
            "MIME-Version: 1.0",
        ]
        var body: String
        if let html = message.htmlBody {
            let boundary = "=_portal_" + RandomBytes.base64URL(count: 12)
            headers.append("Content-Type: multipart/alternative; boundary=\"\(boundary)\"")
            body = "--\(boundary)\r\n" + part("text/plain", message.textBody)
                + "--\(boundary)\r\n" + part("text/html", html)
                + "--\(boundary)--\r\n"
        } else {
            headers.append("Content-Type: text/plain; charset=utf-8")
            headers.append("Content-Transfer-Encoding: base64")
            body = base64Lines(message.textBody)
        }
        return headers.joined(separator: "\r\n") + "\r\n\r\n" + body
    }

    private static func part(_ type: String, _ content: String) -> String {
        "Content-Type: \(type); charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n" + base64Lines(content)
    }

    /// Base64 in 76-character lines keeps any UTF-8 and long lines safe through every relay.
    private static func base64Lines(_ text: String) -> String {
        let encoded = Data(text.utf8).base64EncodedString()
        var lines: [Substring] = []
        var index = encoded.startIndex
        while index < encoded.endIndex {
            let end = encoded.index(index, offsetBy: 76, limitedBy: encoded.endIndex) ?? encoded.endIndex
            lines.append(encoded[index..<end])
            index = end
        }
        return lines.joined(separator: "\r\n") + "\r\n"
    }

    /// Headers must be ASCII (we never negotiate SMTPUTF8): non-ASCII text becomes RFC 2047
    /// encoded-words of at most 75 characters each (45 UTF-8 bytes, never splitting a character),
    /// folded onto continuation lines.
    static func encodeHeader(_ value: String) -> String {
        let clean = value.replacingOccurrences(of: "\r", with: " ").replacingOccurrences(of: "\n", with: " ")
        if clean.allSatisfy({ $0.isASCII }) { return clean }
        var words: [String] = []
        var chunk = ""
        for character in clean {
            if chunk.utf8.count + String(character).utf8.count > 45, !chunk.isEmpty {
                words.append(chunk)
                chunk = ""
            }
            chunk.append(character)
        }
        if !chunk.isEmpty { words.append(chunk) }
        return words.map { "=?UTF-8?B?\(Data($0.utf8).base64EncodedString())?=" }.joined(separator: "\r\n ")
    }

    /// `Name <a@b>` with a non-ASCII name → `=?UTF-8?B?…?= <a@b>`; ASCII values pass unchanged.
    static func encodeAddress(_ value: String) -> String {
        let clean = value.replacingOccurrences(of: "\r", with: " ").replacingOccurrences(of: "\n", with: " ")
        guard !clean.allSatisfy({ $0.isASCII }), let open = clean.lastIndex(of: "<"), clean.hasSuffix(">") else { return clean }
        var name = clean[..<open].trimmingCharacters(in: .whitespaces)
        if name.count >= 2, name.hasPrefix("\""), name.hasSuffix("\"") {
            name = String(name.dropFirst().dropLast()).replacingOccurrences(of: "\\\"", with: "\"")
        }
        let address = String(clean[open...])
        return name.isEmpty ? address : "\(encodeHeader(name)) \(address)"
    }

    private static func rfc2822(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss Z"
        return formatter.string(from: date)
    }
}
