import Foundation

/// The query options of one OData 4 collection read.
public struct ODataQuery: Sendable, Equatable {
    public var filter: String?
    public var orderBy: [String]
    public var top: Int?
    public var skip: Int?
    public var select: [String]

    public init(filter: String? = nil, orderBy: [String] = [], top: Int? = nil, skip: Int? = nil, select: [String] = []) {
        self.filter = filter
        self.orderBy = orderBy
        self.top = top
        self.skip = skip
        self.select = select
    }

    var items: [URLQueryItem] {
        var items: [URLQueryItem] = []
        if !select.isEmpty { items.append(URLQueryItem(name: "$select", value: select.joined(separator: ","))) }
        if let filter { items.append(URLQueryItem(name: "$filter", value: filter)) }
        if !orderBy.isEmpty { items.append(URLQueryItem(name: "$orderby", value: orderBy.joined(separator: ","))) }
        if let top { items.append(URLQueryItem(name: "$top", value: String(top))) }
        if let skip, skip > 0 { items.append(URLQueryItem(name: "$skip", value: String(skip))) }
        return items
    }
}

/// OData 4 literals as Creatio reads them: datetimes and GUIDs unquoted, strings single-quoted.
public enum ODataLiteral {
    /// `2026-01-01T00:00:00Z`; a value Creatio sent is passed back as sent, so no precision is lost.
    public static func datetime(_ iso: String) -> String { iso }

    public static func datetime(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: date)
    }

    public static func guid(_ id: String) -> String { id }

    public static func string(_ text: String) -> String { "'" + text.replacingOccurrences(of: "'", with: "''") + "'" }
}
