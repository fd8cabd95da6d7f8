import Foundation
import Gateways

/// The slice of OData 4 `$filter` the simulator understands: comparisons (eq, ne, gt, ge, lt, le)
/// joined by `and`/`or` with parentheses. Navigation paths `Account/Id` read as `AccountId`, as
/// Creatio accepts both.
indirect enum ODataFilter: Sendable {
    case comparison(field: String, op: String, literal: Literal)
    case and(ODataFilter, ODataFilter)
    case or(ODataFilter, ODataFilter)

    enum Literal: Sendable { case text(String), raw(String) }

    struct ParseError: Error { var message: String }

    static func parse(_ text: String) throws -> ODataFilter {
        var parser = Parser(tokens: try tokenize(text))
        let filter = try parser.expression()
        guard parser.index == parser.tokens.count else { throw ParseError(message: "Syntax error at '\(parser.tokens[parser.index])'.") }
        return filter
    }

    var fields: [String] {
        switch self {
        case .comparison(let field, _, _): [field]
        case .and(let a, let b), .or(let a, let b): a.fields + b.fields
        }
    }

    func matches(_ record: OrderedJSON) -> Bool {
        switch self {
        case .and(let a, let b): return a.matches(record) && b.matches(record)
        case .or(let a, let b): return a.matches(record) || b.matches(record)
        case .comparison(let field, let op, let literal):
            let literalText: String
            switch literal { case .text(let t), .raw(let t): literalText = t }
            let order = ODataValue.compare(record[field], .string(literalText))
            switch op {
            case "eq": return order == .orderedSame
            case "ne": return order != .orderedSame
            case "gt": return order == .orderedDescending
            case "ge": return order != .orderedAscending
            case "lt": return order == .orderedAscending
            default: return order != .orderedDescending
            }
        }
    }

    static func tokenize(_ text: String) throws -> [String] {
        var tokens: [String] = []
        var current = ""
        var chars = Array(text)[...]
        func flush() { if !current.isEmpty { tokens.append(current); current = "" } }
        while let c = chars.first {
            chars = chars.dropFirst()
            switch c {
            case " ": flush()
            case "(", ")": flush(); tokens.append(String(c))
            case "'":
                flush()
                var literal = "'"
                while true {
                    guard let next = chars.first else { throw ParseError(message: "Unterminated string literal.") }
                    chars = chars.dropFirst()
                    if next == "'" {
                        if chars.first == "'" { literal.append("'"); chars = chars.dropFirst(); continue }
                        break
                    }
                    literal.append(next)
                }
                tokens.append(literal + "'")
            default: current.append(c)
            }
        }
        flush()
        return tokens
    }

    struct Parser {
        let tokens: [String]
        var index = 0

        mutating func next() -> String? {
            guard index < tokens.count else { return nil }
            defer { index += 1 }
            return tokens[index]
        }

        var peek: String? { index < tokens.count ? tokens[index].lowercased() : nil }

        mutating func expression() throws -> ODataFilter {
            var left = try conjunction()
            while peek == "or" { index += 1; left = .or(left, try conjunction()) }
            return left
        }

        mutating func conjunction() throws -> ODataFilter {
            var left = try primary()
            while peek == "and" { index += 1; left = .and(left, try primary()) }
            return left
        }

        mutating func primary() throws -> ODataFilter {
            if peek == "(" {
                index += 1
                let inner = try expression()
                guard next() == ")" else { throw ParseError(message: "')' expected.") }
                return inner
            }
            guard let field = next(), let op = next()?.lowercased(), let literal = next() else { throw ParseError(message: "Incomplete comparison.") }
            guard ["eq", "ne", "gt", "ge", "lt", "le"].contains(op) else { throw ParseError(message: "Unknown operator '\(op)'.") }
            let name = field.hasSuffix("/Id") ? String(field.dropLast(3)) + "Id" : field
            if literal.hasPrefix("'") { return .comparison(field: name, op: op, literal: .text(String(literal.dropFirst().dropLast()))) }
            return .comparison(field: name, op: op, literal: .raw(literal))
        }
    }
}

/// How the simulator orders and compares field values: datetimes by instant whatever their number of
/// fractional digits, numbers by value, everything else as case-insensitive text (GUIDs included).
enum ODataValue {
    /// A value reduced once to what it sorts by, so sorting a collection does not re-parse each value
    /// at every comparison.
    enum Key: Comparable {
        case instant(String)
        case number(Decimal)
        case text(String)
    }

    static func key(_ value: OrderedJSON?) -> Key {
        let text = value?.text ?? ""
        if let instant = instant(text) { return .instant(instant) }
        if isNumber(text), let number = Decimal(string: text) { return .number(number) }
        return .text(text.lowercased())
    }

    static func compare(_ a: OrderedJSON?, _ b: OrderedJSON?) -> ComparisonResult {
        compare(key(a), key(b))
    }

    static func compare(_ x: Key, _ y: Key) -> ComparisonResult {
        x == y ? .orderedSame : (x < y ? .orderedAscending : .orderedDescending)
    }

    /// Whole tokens only: Decimal(string:) would read the "6" of a GUID such as "6f0c…".
    static func isNumber(_ text: String) -> Bool {
        (try? CreatioDecimal.scaled(text, digits: 0)) != nil
    }

    /// "2026-01-01T00:00:00Z" and "2026-01-01T00:00:00.0000000Z" as the same sortable text.
    static func instant(_ text: String) -> String? {
        guard text.count >= 20, text.hasSuffix("Z"), text.dropFirst(10).first == "T", text.prefix(4).allSatisfy(\.isNumber) else { return nil }
        let body = text.dropLast()
        let parts = body.split(separator: ".", maxSplits: 1)
        let fraction = parts.count > 1 ? String(parts[1].prefix(7)) : ""
        return String(parts[0]) + "." + fraction + String(repeating: "0", count: 7 - fraction.count)
    }
}
