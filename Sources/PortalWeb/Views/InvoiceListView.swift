import PortalCore

/// A small scope of named values, for the parts of a typed view that are not hot enough to need
/// their own type (a user, an account, a tab).
struct TemplateRecord: TemplateObject {
    let fields: [(String, TemplateValue)]

    init(_ fields: [(String, TemplateValue)]) { self.fields = fields }

    func value(named name: String) -> TemplateValue? {
        fields.first { $0.0 == name }?.1
    }
}

/// The layout's values for a signed-in customer (title, CSRF token, who, which accounts, a flash
/// message): the typed form of `PageContext.customer`, with the same names and the same absences.
struct CustomerLayoutView: TemplateObject {
    let title: String
    let csrf: String
    let identity: CustomerIdentity
    let flash: FlashMessage?
    /// Staff viewing as this customer: the banner every customer page must show.
    let impersonation: Impersonation?

    init(title: String, csrf: String, identity: CustomerIdentity, flash: FlashMessage?, impersonation: Impersonation? = nil) {
        self.title = title
        self.csrf = csrf
        self.identity = identity
        self.flash = flash
        self.impersonation = impersonation
    }

    init(_ context: CustomerRequestContext, title: String) {
        self.init(title: title, csrf: context.csrfToken, identity: context.identity, flash: context.flash, impersonation: context.impersonation)
    }

    func value(named name: String) -> TemplateValue? {
        switch name {
        case "title": title.isEmpty ? nil : .text(title)
        case "csrf": csrf.isEmpty ? nil : .text(csrf)
        case "signedIn": .flag(true)
        case "user":
            .object(TemplateRecord([("email", .text(identity.user.email)),
                                    ("name", .text(identity.user.name.isEmpty ? identity.user.email : identity.user.name))]))
        case "activeAccount": identity.activeAccount.map { .object(TemplateRecord([("id", .text($0.id)), ("name", .text($0.name))])) }
        case "accounts":
            .list(identity.accounts.map {
                .object(TemplateRecord([("id", .text($0.id)), ("name", .text($0.name)), ("active", .flag($0.id == identity.activeAccount?.id))]))
            })
        case "multipleAccounts": .flag(identity.accounts.count > 1)
        case "flash": flash.map { .text($0.text) }
        case "impersonation":
            impersonation.map { viewing in
                .object(TemplateRecord([
                    ("customer", .text(identity.user.name.isEmpty ? identity.user.email : "\(identity.user.name) (\(identity.user.email))")),
                    ("staff", .text(viewing.staff.email)), ("endsAt", .text(PageContext.date(viewing.expiresAt))),
                    ("stopAction", .text(SitePath.staffImpersonationStop)), ("canPay", .flag(viewing.staff.role.includes(.finance))),
                ]))
            }
        default: nil
        }
    }
}

/// `/invoices` as `Templates/invoices.mustache` reads it; nil `page` when the customer has no account.
struct InvoiceListView: TemplateObject {
    let layout: CustomerLayoutView
    let page: InvoicePage?

    func value(named name: String) -> TemplateValue? {
        guard let page else { return name == "noAccount" ? .flag(true) : layout.value(named: name) }
        let filter = page.filter
        switch name {
        case "invoices":
            let rows = InvoiceRows(page.items)
            return .list(page.items.indices.map { .object(InvoiceRowView(rows, $0)) })
        case "hasInvoices": return .flag(!page.items.isEmpty)
        case "totals":
            return .list(page.totals.map {
                .object(TemplateRecord([("currency", .text($0.currency.code)), ("count", .number($0.count)),
                                        ("total", .text($0.total.formatted)), ("balance", .text($0.balance.formatted))]))
            })
        case "totalCount": return .number(page.totalCount)
        case "search": return filter.search.isEmpty ? nil : .text(filter.search)
        case "statusTabs":
            return .list(InvoiceFilter.Status.allCases.map { status in
                .object(TemplateRecord([("label", .text(status.rawValue.capitalized)), ("url", .text(link(filter, status: status))),
                                        ("current", .flag(status == filter.status)), ("value", .text(status.rawValue))]))
            })
        case "status": return .text(filter.status.rawValue)
        case "sortLinks":
            return .object(TemplateRecord([("due", .text(link(filter, sort: .dueDate))), ("issued", .text(link(filter, sort: .issueDate))),
                                           ("amount", .text(link(filter, sort: .amount)))]))
        case "sortedBy": return .object(TemplateRecord([(filter.sort.rawValue, .text(filter.descending ? "descending" : "ascending"))]))
        case "page": return .number(filter.page)
        case "pageCount": return .number(page.pageCount)
        case "multiplePages": return .flag(page.pageCount > 1)
        case "previousURL": return filter.page > 1 ? .text(link(filter, page: filter.page - 1)) : nil
        case "nextURL": return filter.page < page.pageCount ? .text(link(filter, page: filter.page + 1)) : nil
        case "csvURL": return .text(SitePath.invoiceCSV(filter))
        case "emptyMessage":
            if !filter.search.isEmpty { return .text("No invoices match “\(filter.search)”.") }
            if filter.status == .overdue { return .text("Nothing is overdue. 🎉") }
            return .text("No \(filter.status == .all ? "" : filter.status.rawValue + " ")invoices.")
        default: return layout.value(named: name)
        }
    }

    /// The list's link with one thing changed: a status tab or a sort column starts again at page 1,
    /// and the current sort column's link flips its direction.
    private func link(_ filter: InvoiceFilter, page number: Int? = nil, sort: InvoiceFilter.Sort? = nil,
                      status: InvoiceFilter.Status? = nil) -> String {
        var f = filter
        if let status { f.status = status; f.page = 1 }
        if let sort {
            f.descending = f.sort == sort ? !f.descending : false
            f.sort = sort
            f.page = 1
        }
        if let number { f.page = number }
        return SitePath.invoiceList(f)
    }
}

/// A page's invoices, shared by its row views: a row view is then a reference and an index, which
/// needs no allocation of its own.
final class InvoiceRows {
    let items: [InvoiceSummary]

    init(_ items: [InvoiceSummary]) { self.items = items }
}

/// One row of the invoice table. Its values are formatted when the template asks for them, once each.
struct InvoiceRowView: TemplateObject {
    let rows: InvoiceRows
    let index: Int

    init(_ rows: InvoiceRows, _ index: Int) {
        self.rows = rows
        self.index = index
    }

    init(_ invoice: InvoiceSummary) { self.init(InvoiceRows([invoice]), 0) }

    func value(named name: String) -> TemplateValue? {
        let invoice = rows.items[index]
        return switch name {
        case "id": .text(invoice.id)
        case "number": .text(invoice.number)
        case "url": .text(SitePath.invoice(invoice.id))
        case "issueDate": .text(invoice.issueDate.formatted)
        case "dueDate": .text(invoice.dueDate.formatted)
        case "total": .text(invoice.total.formatted)
        case "balance": .text(invoice.balance.formatted)
        case "status": .text(InvoiceViewModels.statusLabel(invoice))
        case "statusClass": .text(InvoiceViewModels.statusClass(invoice))
        case "overdue": .flag(invoice.isOverdue)
        case "payable": .flag(InvoiceViewModels.isPayable(invoice))
        default: nil
        }
    }
}
