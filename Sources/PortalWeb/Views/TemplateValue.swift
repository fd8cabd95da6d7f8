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

/// A scope of named values: a page, a table row, the layout's header. A class, so that a value
/// holding one is two words and copying it is one reference count, not a copy of a struct.
protocol TemplateObject: AnyObject {
    /// The value for `name`, or nil when this scope does not have it (the lookup then goes outwards).
    func value(for name: TemplateName) -> TemplateValue?
}

/// Every name a typed view answers to. Template names are matched to these once, when templates are
/// compiled, so a lookup while rendering is a switch over small integers instead of a chain of
/// string comparisons (which were most of the compiled renderer's time).
enum TemplateKey: String, Sendable {
    // the layout
    case title, csrf, signedIn, user, email, name, activeAccount, id, accounts, active, multipleAccounts, flash
    case impersonation, customer, staff, endsAt, stopAction, canPay
    // the invoice list
    case noAccount, invoices, hasInvoices, totals, currency, count, total, balance, totalCount, search, statusTabs
    case label, url, current, value, status, sortLinks, due, issued, amount, sortedBy, page, pageCount, multiplePages
    case previousURL, nextURL, csvURL, emptyMessage
    // an invoice row
    case number, issueDate, dueDate, statusClass, overdue, payable
}

/// A name as a template looks it up: its text, and its `TemplateKey` when it has one. Two names are
/// equal when their texts are: a text that is a key's raw value always carries that key.
struct TemplateName: Sendable, Equatable, ExpressibleByStringLiteral {
    let key: TemplateKey?
    let text: String

    init(_ text: String) {
        self.text = text
        key = TemplateKey(rawValue: text)
    }

    init(_ key: TemplateKey) {
        self.key = key
        text = key.rawValue
    }

    init(stringLiteral text: String) { self.init(text) }

    static func == (a: TemplateName, b: TemplateName) -> Bool {
        if let key = a.key { return key == b.key }
        return b.key == nil && a.text == b.text
    }
}

/// A `TemplateObject` seen through swift-mustache: children by name, and (like any object) an empty
/// text when printed as a variable.
struct MustacheObject: MustacheParent, MustacheCustomRenderable {
    let object: any TemplateObject

    func child(named name: String) -> Any? {
        object.value(for: TemplateName(name))?.mustacheValue
    }

    var renderText: String { "" }
    var isNull: Bool { false }
}
