import Foundation
import Mustache
import Testing
@testable import PortalCore
@testable import PortalWeb

/// The compiled renderer must give byte for byte what swift-mustache gives for the same template and
/// the same view model: the templates stay the one source of the markup.
@Suite struct CompiledTemplatesTests {
    static let templates = repositoryRoot.appendingPathComponent("Templates").path

    /// Renders `source` (plus `partials`) through both engines with `root`; returns both outputs.
    static func both(_ source: String, partials: [String: String] = [:], _ root: any TemplateObject) throws -> (mustache: String, compiled: String) {
        MustacheContentTypes.register(PortalHTMLContentType(), named: PortalHTMLContentType.name)
        var library = MustacheLibrary()
        try library.register(source, named: "page")
        for (name, text) in partials { try library.register(text, named: name) }
        let compiled = CompiledTemplates(library: library, names: ["page"] + partials.keys.sorted())
        #expect(compiled.failures.isEmpty, "\(compiled.failures)")
        let reference = library.render(MustacheObject(object: root), withTemplate: "page") ?? "<missing>"
        let fast = compiled.render("page", root).map { String(decoding: $0, as: UTF8.self) } ?? "<not compiled>"
        return (reference, fast)
    }

    static let hostile = "<script>alert('x')</script>\"&amp;{{csrf}}\r\nŁódź 🎉"

    static func sample(_ text: String = hostile) -> TemplateRecord {
        let child = TemplateRecord([("name", .text("inner " + text)), ("flag", .flag(true))])
        return TemplateRecord([
            ("text", .text(text)), ("empty", .text("")), ("yes", .flag(true)), ("no", .flag(false)),
            ("zero", .number(0)), ("count", .number(42)), ("child", .object(child)),
            ("items", .list([.object(TemplateRecord([("name", .text("a<b"))])), .object(TemplateRecord([("other", .text("b"))])),
                             .text("plain"), .number(7), .flag(false)])),
            ("none", .list([])), ("words", .list([.text("x"), .text(""), .text("&")])),
            ("name", .text("outer")),
        ])
    }

    @Test(arguments: [
        "{{text}}|{{{text}}}|{{&text}}|{{empty}}|{{missing}}|{{yes}}|{{no}}|{{zero}}|{{count}}|{{child}}|{{child.name}}|{{child.missing}}|{{text.renderText}}",
        "{{#text}}[{{.}}]{{/text}}{{^text}}no text{{/text}}{{#empty}}E{{/empty}}{{^empty}}no empty{{/empty}}{{#missing}}M{{/missing}}{{^missing}}no M{{/missing}}",
        "{{#yes}}Y{{name}}{{/yes}}{{^yes}}!Y{{/yes}}{{#no}}N{{/no}}{{^no}}!N{{/no}}{{#zero}}Z{{.}}{{/zero}}{{^zero}}!Z{{/zero}}{{#count}}{{.}}{{/count}}",
        "{{#child}}{{name}}/{{text}}/{{flag}}/{{.name}}/{{.text}}{{/child}}{{^child}}none{{/child}}{{#child.flag}}F{{/child.flag}}",
        "{{#items}}<{{name}}|{{other}}|{{.}}|{{renderText}}>{{/items}}{{^items}}empty{{/items}}{{#none}}X{{/none}}{{^none}}[{{.}}]{{/none}}",
        "{{#words}}({{.}}){{/words}}{{#child}}{{#flag}}{{name}}{{/flag}}{{/child}}{{! a comment }}{{=<% %>=}}<%text%><%={{ }}=%>{{name}}",
        "line one\n  {{#yes}}\n  inside {{name}}\n  {{/yes}}\n{{^no}}\n\tnot no\n{{/no}}\r\n{{#items}}\n- {{name}}\n{{/items}}\nend",
        "{{% CONTENT_TYPE: TEXT}}{{text}}|{{#child}}{{name}}{{/child}}",
        "{{% CONTENT_TYPE: PORTAL_HTML}}{{text}}{{#child}}{{name}}{{/child}}",
    ])
    func sectionsVariablesAndEscapingMatch(_ source: String) throws {
        let (reference, fast) = try Self.both(source, Self.sample())
        #expect(fast == reference)
    }

    /// Names are interned when templates compile; a name must match by its text however it was made.
    @Test func namesMatchByTheirTextWhicheverWayTheyWereMade() {
        #expect(TemplateName("number") == TemplateName(.number) && TemplateName("number").key == .number)
        #expect(TemplateName("numbers") != TemplateName(.number) && TemplateName("Number") != TemplateName(.number))
        #expect(TemplateName("renderText").key == nil && TemplateName("renderText") == "renderText")
        #expect(TemplateName("renderText") != TemplateName("rendertext"))
        for record in [TemplateRecord([(.name, .text("a")), (.id, .flag(true))]), TemplateRecord([("name", .text("a")), ("id", .flag(true))])] {
            guard case .text("a")? = record.value(for: "name"), case .flag(true)? = record.value(for: TemplateName(.id)) else {
                Issue.record("record lost a field")
                continue
            }
            #expect(record.value(for: "names") == nil && record.value(for: "other") == nil)
        }
    }

    @Test func partialsIndentationAndInheritanceMatch() throws {
        let partials = [
            "partial": "first {{name}}\nsecond {{text}}\n{{#yes}}\nthird\n{{/yes}}\n",
            "nested": "  {{>partial}}\nafter\n",
            "layout": "<head>{{$title}}Default{{/title}}</head>\n<body>\n  {{$content}}\n  default content\n  {{/content}}\n  {{>nested}}\n</body>\n",
            "text": "{{% CONTENT_TYPE: TEXT}}{{text}}",
        ]
        for source in [
            "before\n    {{>partial}}\n  {{>nested}}\n{{>partial}} inline {{>missing}}\n",
            "{{<layout}}{{$title}}Mine {{name}}{{/title}}{{$content}}\n  <p>{{text}}</p>\n  {{>partial}}\n{{/content}}{{/layout}}\n",
            "{{<layout}}{{/layout}}",
            "{{#child}}\n  {{>partial}}\n{{/child}}\n{{>text}}|{{text}}",
        ] {
            let (reference, fast) = try Self.both(source, partials: partials, Self.sample())
            #expect(fast == reference, "\(source)")
        }
    }

    @Test func unsupportedTagsAreReportedNotRenderedDifferently() throws {
        var library = MustacheLibrary()
        try library.register("{{#items}}{{index()}}{{/items}}", named: "transform")
        try library.register("{{>*dynamic}}", named: "dynamic")
        try library.register("{{>transform}}", named: "includes")
        try library.register("{{name}}", named: "fine")
        let compiled = CompiledTemplates(library: library, names: ["transform", "dynamic", "includes", "fine"])
        #expect(Set(compiled.failures.keys) == ["transform", "dynamic", "includes"])
        #expect(compiled.has("fine") && compiled.render("transform", Self.sample()) == nil)
    }

    @Test func everyShippedPageTemplateCompiles() async throws {
        let renderer = try await PageRenderer(directory: Self.templates)
        #expect(renderer.compiled.failures.isEmpty, "\(renderer.compiled.failures)")
        for name in PageRenderer.compiledPages { #expect(renderer.compiled.has(name)) }
    }

    // MARK: The invoice list

    static func invoice(_ n: Int, status: InvoiceStatus = .open, overdue: Bool = false, number: String? = nil,
                        currency: String = "EUR") -> InvoiceSummary {
        let code = CurrencyCode(currency)!
        return InvoiceSummary(id: "inv_\(n)", accountId: "acc_1", number: number ?? "INV-\(n)", issueDate: CalendarDate(iso: "2026-10-0\(n % 9 + 1)")!,
                              dueDate: CalendarDate(iso: "2026-11-1\(n % 9)")!, total: Money(Int64(n) * 123_456, code),
                              balance: Money(status == .paid ? 0 : Int64(n) * 1_000, code), status: status, isOverdue: overdue)
    }

    static func identity(accounts names: [String], name: String = "Alice") -> CustomerIdentity {
        let accounts = names.enumerated().map { Account(id: "acc_\($0.offset)", externalId: nil, name: $0.element, status: "active") }
        return CustomerIdentity(user: CustomerUser(id: "usr_1", email: "alice@example.com", name: name, status: .active, lastSignInAt: nil),
                                accounts: accounts, activeAccount: accounts.first)
    }

    @Test func theInvoiceListMatchesSwiftMustacheForEveryShape() async throws {
        let renderer = try await PageRenderer(directory: Self.templates)
        let rows = (1...25).map { n in
            Self.invoice(n, status: [.open, .partiallyPaid, .paid, .void][n % 4], overdue: n % 3 == 0,
                         number: n == 2 ? Self.hostile : nil, currency: n % 5 == 0 ? "USD" : "EUR")
        }
        let totals = [CurrencyTotals(currency: CurrencyCode("EUR")!, count: 20, total: Money(1_234_567, CurrencyCode("EUR")!), balance: Money(5, CurrencyCode("EUR")!)),
                      CurrencyTotals(currency: CurrencyCode("USD")!, count: 5, total: Money(-99, CurrencyCode("USD")!), balance: Money(0, CurrencyCode("USD")!))]
        var pages: [(CustomerLayoutView, InvoicePage?)] = []
        let layouts = [
            CustomerLayoutView(title: "Invoices", csrf: "tok<en>", identity: Self.identity(accounts: ["Acme"]), flash: nil),
            CustomerLayoutView(title: "Invoices", csrf: "token", identity: Self.identity(accounts: ["<b>One</b>", "Two & Co"], name: ""), flash: .accountSwitched),
            CustomerLayoutView(title: "Invoices", csrf: "token", identity: Self.identity(accounts: []), flash: .signedOut),
        ]
        for layout in layouts {
            pages.append((layout, nil))
            for (status, search, sort, descending, page, pageCount) in [
                (InvoiceFilter.Status.open, "", InvoiceFilter.Sort.dueDate, false, 1, 1), (.all, Self.hostile, .amount, true, 2, 3),
                (.overdue, "", .issueDate, false, 3, 3), (.paid, "INV", .dueDate, true, 1, 2),
            ] {
                let filter = InvoiceFilter(status: status, search: search, sort: sort, descending: descending, page: page)
                pages.append((layout, InvoicePage(items: rows, filter: filter, totalCount: 60, pageCount: pageCount, totals: totals)))
                pages.append((layout, InvoicePage(items: [], filter: filter, totalCount: 0, pageCount: 1, totals: [])))
            }
        }
        for (layout, page) in pages {
            let view = InvoiceListView(layout: layout, page: page)
            let reference = renderer.library.render(MustacheObject(object: view), withTemplate: "invoices")
            let fast = renderer.compiled.render("invoices", view).map { String(decoding: $0, as: UTF8.self) }
            #expect(fast != nil && fast == reference, "\(String(describing: page?.filter))")
            #expect(fast?.contains("<script>alert") == false)
        }
    }
}
