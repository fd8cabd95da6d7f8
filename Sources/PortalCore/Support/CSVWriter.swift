/// CSV per RFC 4180: CRLF line ends, fields quoted when needed, quotes doubled.
/// Cells starting with = + - @ (or tab / CR) get a leading apostrophe so a spreadsheet never
/// runs them as formulas. In PortalCore because exports (invoices, the audit trail) are built by
/// services and only served by the web layer.
public struct CSVWriter: Sendable {
    public private(set) var text = ""

    public init() {}

    public mutating func row(_ fields: [String]) {
        text += fields.map(Self.cell).joined(separator: ",") + "\r\n"
    }

    public static func cell(_ raw: String) -> String {
        var value = raw
        if let first = value.unicodeScalars.first, ["=", "+", "-", "@", "\t", "\r"].contains(first) {
            value = "'" + value
        }
        if value.contains(where: { $0 == "," || $0 == "\"" || $0 == "\r" || $0 == "\n" }) {
            return "\"" + value.replacingOccurrences(of: "\"", with: "\"\"") + "\""
        }
        return value
    }
}
