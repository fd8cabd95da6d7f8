import Mustache

/// A value as a compiled template reads it (see `CompiledTemplates`). Hot pages build these typed
/// values instead of `[String: Any]` dictionaries, so rendering is a switch per lookup rather than
/// swift-mustache's chain of dynamic casts.
///
/// Each case behaves exactly as its `mustacheValue` does in swift-mustache, so the same view model
/// renders to the same markup through either engine (the tests compare them):
/// - `text`: escaped when shown; a section over it is skipped when the text is empty (like `Cell`).
/// - `flag`: a section shows its body when true, without entering a new scope.
/// - `number`: shown in decimal; a section over it always shows (swift-mustache treats any number as true).
/// - `object`: a section enters its scope; names it does not know are looked up further out.
/// - `list`: a section repeats for each element; an inverted section shows when it is empty.
enum TemplateValue {
    case text(String)
    case flag(Bool)
    case number(Int)
    case object(any TemplateObject)
    case list([TemplateValue])

    /// The value swift-mustache renders the same way.
    var mustacheValue: Any {
        switch self {
        case .text(let text): Cell(text)
        case .flag(let flag): flag
        case .number(let number): number
        case .object(let object): MustacheObject(object: object)
        case .list(let items): items.map(\.mustacheValue)
        }
    }
}

/// A scope of named values: a page, a table row, the layout's header.
protocol TemplateObject {
    /// The value for `name`, or nil when this scope does not have it (the lookup then goes outwards).
    func value(named name: String) -> TemplateValue?
}

/// A `TemplateObject` seen through swift-mustache: children by name, and (like any object) an empty
/// text when printed as a variable.
struct MustacheObject: MustacheParent, MustacheCustomRenderable {
    let object: any TemplateObject

    func child(named name: String) -> Any? {
        object.value(named: name)?.mustacheValue
    }

    var renderText: String { "" }
    var isNull: Bool { false }
}
