/// Values for an `IN (…)` list, cut into statements of a bounded size: SQLite caps the parameters of
/// one statement, and a CRM page can be as large as its settings allow.
public enum SQLValueSlices {
    public static let size = 500

    public static func of(_ values: [String]) -> [[String]] {
        stride(from: 0, to: values.count, by: size).map { Array(values[$0..<min($0 + size, values.count)]) }
    }
}
