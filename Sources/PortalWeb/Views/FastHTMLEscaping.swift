import Mustache

/// HTML escaping for page templates. Profiling the invoice list showed swift-mustache's escaper
/// (a dictionary lookup per `Character`) at an eighth of the request; this one scans UTF-8 bytes,
/// returns the string untouched when nothing needs escaping, and escapes the same five characters.
struct PortalHTMLContentType: MustacheContentType {
    static let name = "PORTAL_HTML"

    func escapeText(_ text: String) -> String {
        Self.escape(text)
    }

    static func escape(_ text: String) -> String {
        var text = text
        return text.withUTF8 { bytes -> String in
            guard bytes.contains(where: needsEscaping) else {
                return String(decoding: bytes, as: UTF8.self)
            }
            var output = [UInt8]()
            output.reserveCapacity(bytes.count + 16)
            escape(bytes, into: &output)
            return String(decoding: output, as: UTF8.self)
        }
    }

    /// Appends `text` escaped to `output` (the compiled templates' path: no intermediate string).
    static func escape(_ text: String, into output: inout [UInt8]) {
        var text = text
        text.withUTF8 { escape($0, into: &output) }
    }

    private static func needsEscaping(_ byte: UInt8) -> Bool {
        byte == 0x3C || byte == 0x3E || byte == 0x26 || byte == 0x22 || byte == 0x27
    }

    private static func escape(_ bytes: UnsafeBufferPointer<UInt8>, into output: inout [UInt8]) {
        var from = 0
        for (index, byte) in bytes.enumerated() where needsEscaping(byte) {
            output.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[from..<index]))
            switch byte {
            case 0x3C: output.append(contentsOf: [0x26, 0x6C, 0x74, 0x3B])  // &lt;
            case 0x3E: output.append(contentsOf: [0x26, 0x67, 0x74, 0x3B])  // &gt;
            case 0x26: output.append(contentsOf: [0x26, 0x61, 0x6D, 0x70, 0x3B])  // &amp;
            case 0x22: output.append(contentsOf: [0x26, 0x71, 0x75, 0x6F, 0x74, 0x3B])  // &quot;
            default: output.append(contentsOf: [0x26, 0x23, 0x33, 0x39, 0x3B])  // &#39;
            }
            from = index + 1
        }
        output.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[from...]))
    }
}
