import Mustache

/// swift-mustache treats any present value as true in a section, even an empty string or an
/// optional holding nil. View values therefore leave out what is absent or empty, so
/// `{{#notes}}…{{/notes}}` shows only when there are notes.
enum ViewValues {
    static func compact(_ values: [String: Any?]) -> [String: Any] {
        var result: [String: Any] = [:]
        result.reserveCapacity(values.count)
        for (key, value) in values {
            guard let value = value.flatMap(unwrap), isPresent(value) else { continue }
            result[key] = value
        }
        return result
    }

    static func isPresent(_ value: Any) -> Bool {
        if let string = value as? String { return !string.isEmpty }
        return true
    }

    /// An optional stored as `Any` is unwrapped, or dropped when it holds nil.
    static func unwrap(_ value: Any) -> Any? {
        if let optional = value as? any OptionalBox { return optional.wrappedAny.flatMap(unwrap) }
        return value
    }
}

private protocol OptionalBox {
    var wrappedAny: Any? { get }
}

extension Optional: OptionalBox {
    var wrappedAny: Any? { self.map { $0 as Any } }
}

/// A pre-formatted leaf value: how swift-mustache sees a `TemplateValue.text`. It renders a plain
/// `String` only after several failed dynamic casts and `String(describing:)`; a
/// `MustacheCustomRenderable` is recognised by the second cast. Empty text counts as absent in a section.
struct Cell: MustacheCustomRenderable, Sendable {
    let renderText: String
    var isNull: Bool { renderText.isEmpty }

    init(_ text: String) { renderText = text }
}
