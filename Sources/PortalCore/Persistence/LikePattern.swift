/// Text people type, turned into a `LIKE … ESCAPE '\'` pattern that matches it literally: a `%` or
/// `_` in "100%_off" is a character to find, not a wildcard.
public enum LikePattern {
    /// The clause to put after `LIKE ?`.
    public static let escapeClause = "ESCAPE '\\'"

    public static func contains(_ text: String) -> String { "%" + escape(text) + "%" }

    /// Only a pattern with no leading wildcard can use an index (on a `COLLATE NOCASE` column).
    public static func prefix(_ text: String) -> String { escape(text) + "%" }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "%", with: "\\%")
            .replacingOccurrences(of: "_", with: "\\_")
    }
}
