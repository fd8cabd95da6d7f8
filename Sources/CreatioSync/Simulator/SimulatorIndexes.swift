import Gateways

/// Lookups that keep the simulator fast enough to serve a 100,000-invoice import: the sort of a
/// collection is kept until the collection changes, a `ModifiedOn ge …` read starts by binary search,
/// and `Id eq … or Id eq …` reads go through a hash index instead of a scan.
struct SimulatorIndexes {
    struct Sorted {
        var version: Int
        var rows: [OrderedJSON]
        var keys: [[ODataValue.Key]]
    }

    var sorted: [String: Sorted] = [:]
    var equality: [String: (version: Int, positions: [String: [Int]])] = [:]

    /// The collection sorted by `order` (field, descending), reusing the last sort while `version` holds.
    mutating func sortedRows(_ collection: String, _ rows: [OrderedJSON], order: [(String, Bool)], version: Int) -> Sorted {
        let cacheKey = collection + "|" + order.map { "\($0.0) \($0.1)" }.joined(separator: ",")
        if let hit = sorted[cacheKey], hit.version == version { return hit }
        let keyed = rows.map { row in (row, order.map { ODataValue.key(row[$0.0]) }) }
        let ordered = keyed.sorted { a, b in Self.precedes(a.1, b.1, order: order) }
        let result = Sorted(version: version, rows: ordered.map(\.0), keys: ordered.map(\.1))
        sorted[cacheKey] = result
        return result
    }

    static func precedes(_ a: [ODataValue.Key], _ b: [ODataValue.Key], order: [(String, Bool)]) -> Bool {
        for (index, (_, descending)) in order.enumerated() {
            let comparison = ODataValue.compare(a[index], b[index])
            if comparison != .orderedSame { return descending ? comparison == .orderedDescending : comparison == .orderedAscending }
        }
        return false
    }

    /// Positions in `rows` whose `field` equals one of `values` (compared as the filter compares them).
    mutating func positions(_ collection: String, _ rows: [OrderedJSON], field: String, values: [String], version: Int) -> [Int] {
        let cacheKey = collection + "|" + field
        if equality[cacheKey]?.version != version {
            var positions: [String: [Int]] = [:]
            for (index, row) in rows.enumerated() { positions[Self.equalityKey(row[field]?.text ?? ""), default: []].append(index) }
            equality[cacheKey] = (version, positions)
        }
        let index = equality[cacheKey]!.positions
        return Array(Set(values.flatMap { index[Self.equalityKey($0)] ?? [] })).sorted()
    }

    /// What `eq` compares: GUIDs and text case-insensitively; dates and numbers are not indexed.
    static func equalityKey(_ text: String) -> String { text.lowercased() }
}

extension ODataFilter {
    /// `field eq 'a' or field eq 'b' …` on one text-like field: the values, so the read can use an index.
    var equalityDisjunction: (field: String, values: [String])? {
        switch self {
        case .comparison(let field, "eq", let literal):
            let text: String
            switch literal { case .text(let t), .raw(let t): text = t }
            guard ODataValue.instant(text) == nil, !ODataValue.isNumber(text) else { return nil }
            return (field, [text])
        case .or(let a, let b):
            guard let left = a.equalityDisjunction, let right = b.equalityDisjunction, left.field == right.field else { return nil }
            return (left.field, left.values + right.values)
        default:
            return nil
        }
    }

    /// `field ge x` or `field gt x` alone: where it starts in rows sorted ascending by `field`.
    func lowerBound(onFirstKeyOf order: [(String, Bool)], keys: [[ODataValue.Key]]) -> Int? {
        guard case .comparison(let field, let op, let literal) = self, op == "ge" || op == "gt",
              let first = order.first, first.0 == field, !first.1 else { return nil }
        let text: String
        switch literal { case .text(let t), .raw(let t): text = t }
        let bound = ODataValue.key(.string(text))
        var low = 0, high = keys.count
        while low < high {
            let mid = (low + high) / 2
            let comparison = ODataValue.compare(keys[mid][0], bound)
            if comparison == .orderedAscending || (op == "gt" && comparison == .orderedSame) { low = mid + 1 } else { high = mid }
        }
        return low
    }
}
