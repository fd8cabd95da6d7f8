/// What the invoice list shows: which invoices, in what order, which page.
public struct InvoiceFilter: Sendable, Equatable {
    public enum Status: String, Sendable, CaseIterable {
        case open, overdue, paid, all
    }

    public enum Sort: String, Sendable, CaseIterable {
        case dueDate = "due"
        case issueDate = "issued"
        case amount = "amount"
    }

    public var status: Status
    public var search: String
    public var sort: Sort
    public var descending: Bool
    /// 1-based; pages past the end show the last page.
    public var page: Int

    public static let pageSize = 25

    public init(status: Status = .open, search: String = "", sort: Sort = .dueDate, descending: Bool = false, page: Int = 1) {
        self.status = status
        self.search = search
        self.sort = sort
        self.descending = descending
        self.page = max(1, page)
    }
}

public struct CurrencyTotals: Sendable, Equatable {
    public var currency: CurrencyCode
    public var count: Int
    public var total: Money
    public var balance: Money
}

public struct InvoicePage: Sendable, Equatable {
    public var items: [InvoiceSummary]
    public var filter: InvoiceFilter
    public var totalCount: Int
    public var pageCount: Int
    /// Totals of the whole filtered set (not just this page), one per currency.
    public var totals: [CurrencyTotals]
}

/// The signed-in customer's view: which user, acting for which of their accounts.
/// Who may act for an account: a member user, or the holder of one invoice's payment link, who
/// has no user account and reaches only that invoice (and the payments made through that link).
public struct CustomerScope: Sendable, Equatable {
    public enum Holder: Sendable, Equatable {
        case user(String)
        case paymentLink(id: String, invoiceId: String)
    }

    public var holder: Holder
    public var accountId: String

    public init(userId: String, accountId: String) {
        self.holder = .user(userId)
        self.accountId = accountId
    }

    /// Made only by `PaymentLinkService` once it has verified the link's token.
    init(paymentLink id: String, invoiceId: String, accountId: String) {
        self.holder = .paymentLink(id: id, invoiceId: invoiceId)
        self.accountId = accountId
    }

    /// The member user, if a user holds this scope (written as the author of what it creates).
    public var userId: String? {
        if case .user(let id) = holder { id } else { nil }
    }

    public var paymentLinkId: String? {
        if case .paymentLink(let id, _) = holder { id } else { nil }
    }
}

public struct DashboardSummary: Sendable, Equatable {
    public var balances: [CurrencyTotals]
    public var overdue: [CurrencyTotals]
    public var overdueCount: Int
    public var nextDue: InvoiceSummary?
    public var lastPayment: PaymentSummary?
}
