import Mustache

/// Page templates compiled for typed view models, for the pages that render most.
///
/// The markup still comes only from `Templates/`: each template is compiled from swift-mustache's own
/// parse of it (its tokens, read by reflection once at startup), so whitespace handling, partials,
/// inheritance blocks and content types are swift-mustache's decisions, not a second parser's. What
/// changes is rendering: values come from `TemplateObject`s by a switch instead of `Any` casts, the
/// context stack is one mutable array, and the page is written into one byte buffer. The rendering
/// rules follow swift-mustache 2.1 (`MustacheTemplate.renderToken`), and the tests render the same
/// view models through both engines and compare the bytes.
///
/// Lambdas, transforms and dynamic partials are not supported: a template using them simply does not
/// compile, and `PageRenderer` refuses to start if a page that needs the fast path is among them.
struct CompiledTemplates: Sendable {
    private let templates: [String: [TemplateNode]]
    /// The text of every template, end to end; text nodes are ranges of it, so rendering copies
    /// bytes without touching a reference count (shared counts cost most when requests render in parallel).
    private let text: [UInt8]

    struct CompileError: Error, CustomStringConvertible {
        var description: String
    }

    /// Compiles every named template of the library that can be; `failures` names those that cannot, with why.
    init(library: MustacheLibrary, names: [String]) {
        var templates: [String: [TemplateNode]] = [:]
        var failures: [String: String] = [:]
        var compiler = Compiler()
        for name in names {
            guard let template = library.getTemplate(named: name) else { continue }
            do {
                templates[name] = try compiler.compile(template)
            } catch {
                failures[name] = "\(error)"
            }
        }
        text = compiler.text
        // A template is only as compiled as its partials: one that includes a template the library has
        // but that did not compile would render it as nothing, so it is left to swift-mustache too.
        var changed = true
        while changed {
            changed = false
            for (name, nodes) in templates {
                let missing = Self.partials(in: nodes).first { library.getTemplate(named: $0) != nil && templates[$0] == nil }
                if let missing {
                    templates[name] = nil
                    failures[name] = "includes \(missing), which did not compile"
                    changed = true
                }
            }
        }
        self.templates = templates
        self.failures = failures
    }

    private static func partials(in nodes: [TemplateNode]) -> Set<String> {
        var names = Set<String>()
        for node in nodes {
            switch node {
            case .section(_, let body, _): names.formUnion(partials(in: body))
            case .block(_, let body, _): names.formUnion(partials(in: body))
            case .partial(let name, _, let overrides):
                names.insert(name)
                for body in (overrides ?? [:]).values { names.formUnion(partials(in: body)) }
            case .text, .variable, .escaping: break
            }
        }
        return names
    }

    let failures: [String: String]

    func has(_ name: String) -> Bool { templates[name] != nil }

    /// The page `name` rendered with `root` as its outermost scope; nil if it was not compiled.
    func render(_ name: String, _ root: any TemplateObject, capacity: Int = 16 * 1024) -> [UInt8]? {
        guard let nodes = templates[name] else { return nil }
        return text.withUnsafeBufferPointer { text in
            var renderer = Renderer(templates: templates, text: text, capacity: capacity, root: .object(root))
            // swift-mustache starts every render with its HTML content type and no indentation.
            renderer.render(nodes, escaping: true)
            return renderer.out
        }
    }
}

// MARK: Compiling swift-mustache's tokens

private struct Compiler {
    var text: [UInt8] = []

    typealias CompileError = CompiledTemplates.CompileError

    mutating func compile(_ template: MustacheTemplate) throws -> [TemplateNode] {
        guard let tokens = Mirror(reflecting: template).children.first(where: { $0.label == "tokens" })?.value as? [Any] else {
            throw CompileError(description: "swift-mustache's template has no readable tokens")
        }
        return try tokens.map { try compileToken($0) }
    }

    private mutating func compileToken(_ token: Any) throws -> TemplateNode {
        let mirror = Mirror(reflecting: token)
        guard mirror.displayStyle == .enum, let (kind, payload) = mirror.children.first.map({ ($0.label ?? "", $0.value) }) else {
            throw CompileError(description: "unexpected token \(token)")
        }
        let fields = Dictionary(Mirror(reflecting: payload).children.enumerated().map { ($1.label ?? ".\($0)", $1.value) }) { a, _ in a }
        func string(_ label: String) throws -> String {
            guard let value = fields[label] as? String else { throw CompileError(description: "token \(kind) without \(label)") }
            return value
        }
        func optionalString(_ label: String) -> String? { fields[label] as? String }
        func nestedTemplate(_ label: String) throws -> MustacheTemplate {
            guard let template = fields[label] as? MustacheTemplate else { throw CompileError(description: "token \(kind) without \(label)") }
            return template
        }
        func noTransforms() throws {
            if let transforms = fields["transforms"] as? [String], !transforms.isEmpty {
                throw CompileError(description: "transforms (\(transforms.joined(separator: ", "))) are not supported")
            }
        }
        switch kind {
        case "text":
            guard let string = payload as? String else { throw CompileError(description: "text token without text") }
            let start = text.count
            text.append(contentsOf: string.utf8)
            return .text(start..<text.count)
        case "variable", "unescapedVariable":
            try noTransforms()
            return .variable(TemplatePath(try string("name")), escaped: kind == "variable")
        case "section", "invertedSection":
            try noTransforms()
            return .section(TemplatePath(try string("name")), body: try compile(nestedTemplate("template")), inverted: kind == "invertedSection")
        case "partial":
            var overrides: [String: [TemplateNode]]?
            if let inherits = fields["inherits"] as? [String: MustacheTemplate] {
                overrides = [:]
                for (name, template) in inherits { overrides?[name] = try compile(template) }
            }
            return .partial(try string(".0"), indentation: optionalString("indentation").map { Array($0.utf8) }, overrides: overrides)
        case "blockExpansion":
            return .block(try string("name"), defaultBody: try compile(nestedTemplate("default")), indentation: optionalString("indentation").map { Array($0.utf8) })
        case "contentType":
            guard let contentType = payload as? any MustacheContentType else { throw CompileError(description: "content type token without a type") }
            // Told apart by what they do: the compiled renderer knows HTML escaping and none.
            let probe = "<&>\"'"
            switch contentType.escapeText(probe) {
            case "&lt;&amp;&gt;&quot;&#39;": return .escaping(true)
            case probe: return .escaping(false)
            default: throw CompileError(description: "content type \(type(of: contentType)) is not supported")
            }
        default:
            // lambdas and dynamic partials need values swift-mustache resolves at render time
            throw CompileError(description: "\(kind) tags are not supported")
        }
    }
}

/// One compiled token.
indirect enum TemplateNode: Sendable {
    /// A range of `CompiledTemplates.text`.
    case text(Range<Int>)
    case variable(TemplatePath, escaped: Bool)
    case section(TemplatePath, body: [TemplateNode], inverted: Bool)
    case partial(String, indentation: [UInt8]?, overrides: [String: [TemplateNode]]?)
    case block(String, defaultBody: [TemplateNode], indentation: [UInt8]?)
    case escaping(Bool)
}

/// A variable name as swift-mustache resolves it: "." is the current value; "a.b" finds `a` in the
/// nearest scope that has it, then `b` inside it; ".a" looks in the current value only.
struct TemplatePath: Sendable {
    enum Start: Sendable { case current, anywhere }
    let start: Start
    /// The first name (nil for "."), then the rest; kept apart so the usual one-name lookup reads no array.
    let first: TemplateName?
    let rest: [TemplateName]

    init(_ name: String) {
        let names = name.split(separator: ".").map { TemplateName(String($0)) }
        first = names.first
        rest = Array(names.dropFirst())
        start = name.first == "." ? .current : .anywhere
    }
}

/// The state of one render: the output, the stack of scopes, and the current partial's indentation
/// and block overrides (kept here rather than passed along, which cost a retain per token).
private struct Renderer {
    let templates: [String: [TemplateNode]]
    let text: UnsafeBufferPointer<UInt8>
    var out: [UInt8]
    var stack: [TemplateValue]
    var indentation: [UInt8] = []
    var inherited: [String: [TemplateNode]]?

    init(templates: [String: [TemplateNode]], text: UnsafeBufferPointer<UInt8>, capacity: Int, root: TemplateValue) {
        self.templates = templates
        self.text = text
        out = []
        out.reserveCapacity(capacity)
        stack = [root]
        stack.reserveCapacity(8)
    }

    /// One template (or section body) in the current context. A content-type token changes escaping
    /// for the rest of this template only. With indentation (an indented standalone partial), a
    /// token's output is indented when this template's output so far ends with a newline — per
    /// token, as swift-mustache does, not per line.
    mutating func render(_ nodes: [TemplateNode], escaping: Bool) {
        var escaping = escaping
        if indentation.isEmpty {
            for index in nodes.indices { render(nodes[index], escaping: &escaping) }
            return
        }
        let start = out.count
        for index in nodes.indices {
            let mark = out.count
            render(nodes[index], escaping: &escaping)
            // `String.last == "\n"`: a "\r\n" pair is one Character, and is not "\n".
            if out.count > mark, mark > start, out[mark - 1] == 0x0A, !(mark - 2 >= start && out[mark - 2] == 0x0D) {
                out.insert(contentsOf: indentation, at: mark)
            }
        }
    }

    private mutating func render(_ node: TemplateNode, escaping: inout Bool) {
        switch node {
        case .text(let range):
            out.append(contentsOf: UnsafeBufferPointer(rebasing: text[range]))
        case .variable(let path, let escaped):
            guard let value = lookup(path) else { return }
            switch value {
            case .text(let string): append(string, escaping: escaped && escaping)
            case .number(let number): append(String(number), escaping: escaped && escaping)
            case .flag(let flag): append(flag ? "true" : "false", escaping: escaped && escaping)
            case .object: break  // an object prints as nothing (`MustacheObject.renderText`)
            case .list: append(String(describing: value.mustacheValue), escaping: escaped && escaping)
            }
        case .section(let path, let body, let inverted):
            let value = lookup(path)
            if inverted {
                switch value {
                case .list(let items) where items.isEmpty: renderPushing(value!, body, escaping)
                case .list, .object, .number: break
                case .flag(let flag): if !flag { render(body, escaping: escaping) }
                case .text(let string): if string.isEmpty { render(body, escaping: escaping) }
                case nil: render(body, escaping: escaping)
                }
            } else {
                switch value {
                case .list(let items): for item in items { renderPushing(item, body, escaping) }
                case .flag(let flag): if flag { render(body, escaping: escaping) }
                case .text(let string): if !string.isEmpty { renderPushing(value!, body, escaping) }
                case .object, .number: renderPushing(value!, body, escaping)
                case nil: break
                }
            }
        case .partial(let name, let indented, let overrides):
            guard let partial = templates[name] else { return }
            let (outerIndentation, outerInherited) = (indentation, inherited)
            if let indented { indentation += indented }
            if let overrides {
                // The outermost override of a block wins.
                inherited = inherited.map { $0.merging(overrides) { outer, _ in outer } } ?? overrides
            }
            // swift-mustache gives every partial its HTML content type afresh.
            render(partial, escaping: true)
            (indentation, inherited) = (outerIndentation, outerInherited)
        case .block(let name, let defaultBody, let indented):
            let outerIndentation = indentation
            if let indented { indentation += indented }
            render(inherited?[name] ?? defaultBody, escaping: escaping)
            indentation = outerIndentation
        case .escaping(let on):
            escaping = on
        }
    }

    private mutating func renderPushing(_ value: TemplateValue, _ body: [TemplateNode], _ escaping: Bool) {
        stack.append(value)
        render(body, escaping: escaping)
        stack.removeLast()
    }

    private func lookup(_ path: TemplatePath) -> TemplateValue? {
        guard let first = path.first else { return stack.last }
        var found: TemplateValue?
        switch path.start {
        case .current:
            found = stack.last.flatMap { Self.child(first, of: $0) }
        case .anywhere:
            var index = stack.count - 1
            while index >= 0 {
                if let child = Self.child(first, of: stack[index]) {
                    found = child
                    break
                }
                index -= 1
            }
        }
        if path.rest.isEmpty { return found }
        for name in path.rest {
            guard let scope = found else { return nil }
            found = Self.child(name, of: scope)
        }
        return found
    }

    /// What swift-mustache finds by that name directly in a value: an object's child, and nothing in
    /// anything else (except, by reflection, a text's own `renderText` field, as a `Cell` has).
    private static func child(_ name: TemplateName, of scope: TemplateValue) -> TemplateValue? {
        switch scope {
        case .object(let object): object.value(for: name)
        case .text: name.key == nil && name.text == "renderText" ? scope : nil
        case .flag, .number, .list: nil
        }
    }

    private mutating func append(_ string: String, escaping: Bool) {
        if escaping {
            PortalHTMLContentType.escape(string, into: &out)
        } else {
            out.append(contentsOf: string.utf8)
        }
    }
}
