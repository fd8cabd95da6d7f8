import Gateways

extension CreatioClient {
    /// Ids per `or` filter: the longest read (an invoice's lines by `Invoice/Id`, percent-encoded, with
    /// its columns and paging) stays under 2,048 characters of query string, IIS's and ASP.NET's default
    /// limit (a test checks it). Fewer, larger reads matter: a first import reads lines for every invoice.
    package static let idsPerFilter = 28

    /// `field eq a or field eq b …` over GUIDs.
    package static func anyOf(_ field: String, _ ids: [String]) -> String {
        ids.map { "\(field) eq \(ODataLiteral.guid($0))" }.joined(separator: " or ")
    }

    package static func chunks(_ ids: [String]) -> [[String]] {
        stride(from: 0, to: ids.count, by: idsPerFilter).map { Array(ids[$0..<min($0 + idsPerFilter, ids.count)]) }
    }

    /// Every record matching `filter`, page by page.
    package func readAll(_ collection: String, filter: String, select: [String], orderBy: [String] = ["Id"],
                         pageSize: Int) async throws -> [OrderedJSON] {
        var records: [OrderedJSON] = []
        while true {
            let page = try await list(collection, ODataQuery(filter: filter, orderBy: orderBy, top: pageSize, skip: records.count, select: select))
            records += page
            if page.count < pageSize { return records }
        }
    }

    /// The records whose `key` (a guid column, or a path such as `Invoice/Id`) is one of `ids`, read
    /// `idsPerFilter` ids to a `… eq … or …` filter. Ids Creatio does not have are simply absent.
    package func read(_ collection: String, ids: [String], key: String = "Id", select: [String], orderBy: [String] = ["Id"],
                      pageSize: Int) async throws -> [OrderedJSON] {
        var records: [OrderedJSON] = []
        for chunk in Self.chunks(ids) {
            records += try await readAll(collection, filter: Self.anyOf(key, chunk), select: select, orderBy: orderBy, pageSize: pageSize)
        }
        return records
    }
}
