import Hummingbird
import PortalCore

/// `/invoices`, `/invoices.csv`, `/invoices/{id}` and `/invoices/{id}.pdf` — always scoped to the
/// signed-in customer; anything else answers 404.
struct InvoicesController {
    let services: PortalServices
    let renderer: PageRenderer
    let pdf: InvoicePDFRenderer
    let pdfPool: BlockingPool
    let links: LinkBuilder

    func register(on group: RouterGroup<CustomerRequestContext>) {
        group.get(RouterPath(stringLiteral: SitePath.invoices), use: list)
        group.get(RouterPath(stringLiteral: SitePath.invoicesCSV), use: csv)
        group.get(RouterPath(stringLiteral: SitePath.invoices + "/{id}"), use: show)
    }

    @Sendable func list(_ request: Request, context: CustomerRequestContext) async throws -> Response {
        let filter = try Self.filter(from: request)
        let layout = CustomerLayoutView(context, title: "Invoices")
        guard let scope = context.scope else {
            return renderer.render("invoices", view: InvoiceListView(layout: layout, page: nil))
        }
        let page = try await services.invoices.list(scope, filter: filter)
        return renderer.render("invoices", view: InvoiceListView(layout: layout, page: page))
    }

    @Sendable func csv(_ request: Request, context: CustomerRequestContext) async throws -> Response {
        let filter = try Self.filter(from: request)
        guard let scope = context.scope else { throw PageError.notFound }
        let invoices = try await services.invoices.export(scope, filter: filter)
        var writer = CSVWriter()
        writer.row(["Number", "Issue date", "Due date", "Status", "Currency", "Total", "Balance"])
        for invoice in invoices {
            writer.row([invoice.number, invoice.issueDate.iso, invoice.dueDate.iso, InvoiceViewModels.statusLabel(invoice),
                        invoice.total.currency.code, invoice.total.plain, invoice.balance.plain])
        }
        var response = Response(status: .ok, headers: [.contentType: "text/csv; charset=utf-8"],
                                body: .init(byteBuffer: ByteBuffer(string: writer.text)))
        response.headers[.contentDisposition] = "attachment; filename=\"invoices-\(filter.status.rawValue).csv\""
        response.headers[.cacheControl] = "no-store"
        return response
    }

    @Sendable func show(_ request: Request, context: CustomerRequestContext) async throws -> Response {
        var id = context.parameters.get("id") ?? ""
        let wantsPDF = id.hasSuffix(".pdf")
        if wantsPDF { id.removeLast(4) }
        let detail: InvoiceDetail
        do {
            detail = try await services.invoices.detail(userId: context.identity.user.id, invoiceId: id)
        } catch InvoiceError.notFound {
            throw PageError.notFound
        }
        if wantsPDF { return try await pdfResponse(detail) }
        var invoice = InvoiceViewModels.detail(detail)
        // Payments are made for the account in use, so the button appears only there.
        if detail.summary.accountId == context.identity.activeAccount?.id { invoice["payURL"] = SitePath.payInvoice(detail.summary.id) }
        return renderer.render("invoice", PageContext.customer(context, title: "Invoice \(detail.summary.number)", ["invoice": invoice]))
    }

    private func pdfResponse(_ detail: InvoiceDetail) async throws -> Response {
        try await Self.pdfResponse(detail, payURL: links.absolute(SitePath.invoice(detail.summary.id)), pdf: pdf, pool: pdfPool)
    }

    /// The invoice's PDF, rendered off the request executors; payment links serve it too.
    static func pdfResponse(_ detail: InvoiceDetail, payURL: String, pdf: InvoicePDFRenderer, pool: BlockingPool) async throws -> Response {
        let bytes = try await pool.run { try pdf.render(detail, payURL: payURL) }
        var response = Response(status: .ok, headers: [.contentType: "application/pdf"],
                                body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
        let safeNumber = detail.summary.number.filter { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }
        response.headers[.contentDisposition] = "inline; filename=\"invoice-\(safeNumber.isEmpty ? "document" : safeNumber).pdf\""
        response.headers[.cacheControl] = "no-store"
        return response
    }

    /// Reads the list's query string; a value that cannot be understood is a clear 400, while an
    /// out-of-range page becomes the nearest real page.
    static func filter(from request: Request) throws -> InvoiceFilter {
        try filter(query: request.uri.queryParameters)
    }

    static func filter(query: Parameters) throws -> InvoiceFilter {
        var filter = InvoiceFilter()
        if let raw = query["status"].map(String.init), !raw.isEmpty {
            guard let status = InvoiceFilter.Status(rawValue: raw) else {
                throw PageError.badRequest("Unknown status filter. Choose open, overdue, paid or all.")
            }
            filter.status = status
        }
        if let raw = query["sort"].map(String.init), !raw.isEmpty {
            guard let sort = InvoiceFilter.Sort(rawValue: raw) else {
                throw PageError.badRequest("Unknown sort order. Sort by due, issued or amount.")
            }
            filter.sort = sort
        }
        if let raw = query["dir"].map(String.init), !raw.isEmpty {
            guard raw == "asc" || raw == "desc" else { throw PageError.badRequest("Sort direction must be asc or desc.") }
            filter.descending = raw == "desc"
        }
        if let raw = query["page"].map(String.init), !raw.isEmpty {
            guard let page = Int(raw) else { throw PageError.badRequest("The page number must be a whole number.") }
            filter.page = max(1, page)
        }
        filter.search = String((query["q"].map(String.init) ?? "").prefix(100))
        return filter
    }
}

extension CustomerRequestContext {
    /// The user acting for their active account; nil when they belong to none.
    var scope: CustomerScope? {
        identity.activeAccount.map { CustomerScope(userId: identity.user.id, accountId: $0.id) }
    }
}
