import PortalCore

/// A small scope of named values, for the parts of a typed view that are not hot enough to need
/// their own type (a user, an account, a tab).
final class TemplateRecord: TemplateObject {
    let fields: [(TemplateName, TemplateValue)]

    init(_ fields: [(TemplateKey, TemplateValue)]) { self.fields = fields.map { (TemplateName($0.0), $0.1) } }

    /// Any names (tests, and names no typed view knows).
    init(_ fields: [(String, TemplateValue)]) { self.fields = fields.map { (TemplateName($0.0), $0.1) } }

    func value(for name: TemplateName) -> TemplateValue? {
        fields.first { $0.0 == name }?.1
    }
}

/// The layout's values for a signed-in customer (title, CSRF token, who, which accounts, a flash
/// message): the typed form of `PageContext.customer`, with the same names and the same absences.
final class CustomerLayoutView: TemplateObject {
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

    convenience init(_ context: CustomerRequestContext, title: String) {
        self.init(title: title, csrf: context.csrfToken, identity: context.identity, flash: context.flash, impersonation: context.impersonation)
    }

    func value(for name: TemplateName) -> TemplateValue? {
        guard let key = name.key else { return nil }
        return switch key {
        case .title: title.isEmpty ? nil : .text(title)
        case .csrf: csrf.isEmpty ? nil : .text(csrf)
        case .signedIn: .flag(true)
        case .user:
            .object(TemplateRecord([(.email, .text(identity.user.email)),
                                    (.name, .text(identity.user.name.isEmpty ? identity.user.email : identity.user.name))]))
        case .activeAccount: identity.activeAccount.map { .object(TemplateRecord([(.id, .text($0.id)), (.name, .text($0.name))])) }
        case .accounts:
            .list(identity.accounts.map {
                .object(TemplateRecord([(.id, .text($0.id)), (.name, .text($0.name)), (.active, .flag($0.id == identity.activeAccount?.id))]))
            })
        case .multipleAccounts: .flag(identity.accounts.count > 1)
        case .flash: flash.map { .text($0.text) }
        case .impersonation:
            impersonation.map { viewing in
                .object(TemplateRecord([
                    (.customer, .text(identity.user.name.isEmpty ? identity.user.email : "\(identity.user.name) (\(identity.user.email))")),
                    (.staff, .text(viewing.staff.email)), (.endsAt, .text(PageContext.date(viewing.expiresAt))),
                    (.stopAction, .text(SitePath.staffImpersonationStop)), (.canPay, .flag(viewing.staff.role.includes(.finance))),
                ]))
            }
        default: nil
        }
    }
}

/// `/invoices` as `Templates/invoices.mustache` reads it; nil `page` when the customer has no account.
final class InvoiceListView: TemplateObject {
    let layout: CustomerLayoutView
    let page: InvoicePage?

    init(layout: CustomerLayoutView, page: InvoicePage?) {
        self.layout = layout
        self.page = page
    }

    func value(for name: TemplateName) -> TemplateValue? {
        guard let key = name.key else { return nil }
        guard let page else { return key == .noAccount ? .flag(true) : layout.value(for: name) }
        let filter = page.filter
        switch key {
        case .invoices: return .list(page.items.map { .object(InvoiceRowView($0)) })
        case .hasInvoices: return .flag(!page.items.isEmpty)
        case .totals:
            return .list(page.totals.map {
                .object(TemplateRecord([(.currency, .text($0.currency.code)), (.count, .number($0.count)),
                                        (.total, .text($0.total.formatted)), (.balance, .text($0.balance.formatted))]))
            })
        case .totalCount: return .number(page.totalCount)
        case .search: return filter.search.isEmpty ? nil : .text(filter.search)
        case .statusTabs:
            return .list(InvoiceFilter.Status.allCases.map { status in
                .object(TemplateRecord([(.label, .text(status.rawValue.capitalized)), (.url, .text(link(filter, status: status))),
                                        (.current, .flag(status == filter.status)), (.value, .text(status.rawValue))]))
            })
        case .status: return .text(filter.status.rawValue)
        case .sortLinks:
            return .object(TemplateRecord([(.due, .text(link(filter, sort: .dueDate))), (.issued, .text(link(filter, sort: .issueDate))),
                                           (.amount, .text(link(filter, sort: .amount)))]))
        case .sortedBy: return .object(TemplateRecord([(filter.sort.rawValue, .text(filter.descending ? "descending" : "ascending"))]))
        case .page: return .number(filter.page)
        case .pageCount: return .number(page.pageCount)
        case .multiplePages: return .flag(page.pageCount > 1)
        case .previousURL: return filter.page > 1 ? .text(link(filter, page: filter.page - 1)) : nil
        case .nextURL: return filter.page < page.pageCount ? .text(link(filter, page: filter.page + 1)) : nil
        case .csvURL: return .text(SitePath.invoiceCSV(filter))
        case .emptyMessage:
            if !filter.search.isEmpty { return .text("No invoices match “\(filter.search)”.") }
            if filter.status == .overdue { return .text("Nothing is overdue. 🎉") }
            return .text("No \(filter.status == .all ? "" : filter.status.rawValue + " ")invoices.")
        default: return layout.value(for: name)
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

/// One row of the invoice table. Its values are formatted when the template asks for them, once each,
/// straight from the row's own fields (copying the whole summary per value cost a reference count per field).
final class InvoiceRowView: TemplateObject {
    let invoice: InvoiceSummary

    init(_ invoice: InvoiceSummary) { self.invoice = invoice }

    func value(for name: TemplateName) -> TemplateValue? {
        guard let key = name.key else { return nil }
        return switch key {
        case .id: .text(invoice.id)
        case .number: .text(invoice.number)
        case .url: .text(SitePath.invoice(invoice.id))
        case .issueDate: .text(invoice.issueDate.formatted)
        case .dueDate: .text(invoice.dueDate.formatted)
        case .total: .text(invoice.total.formatted)
        case .balance: .text(invoice.balance.formatted)
        case .status: .text(InvoiceViewModels.statusLabel(invoice))
        case .statusClass: .text(InvoiceViewModels.statusClass(invoice))
        case .overdue: .flag(invoice.isOverdue)
        case .payable: .flag(InvoiceViewModels.isPayable(invoice))
        default: nil
        }
    }
}
