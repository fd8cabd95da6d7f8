import PortalCore

/// Turns invoice domain values into the plain values templates render. Templates never see records.
enum InvoiceViewModels {
    /// A list or dashboard row: the typed row the compiled invoice list renders, seen through swift-mustache.
    static func row(_ invoice: InvoiceSummary) -> MustacheObject {
        MustacheObject(object: InvoiceRowView(invoice))
    }

    /// The summary's displayed values, shared by list rows and the detail page.
    static func fields(_ invoice: InvoiceSummary) -> [String: String] {
        [
            "id": invoice.id, "number": invoice.number, "url": SitePath.invoice(invoice.id),
            "issueDate": invoice.issueDate.formatted, "dueDate": invoice.dueDate.formatted,
            "total": invoice.total.formatted, "balance": invoice.balance.formatted,
            "status": statusLabel(invoice), "statusClass": statusClass(invoice),
        ]
    }

    static func isPayable(_ invoice: InvoiceSummary) -> Bool {
        invoice.balance.minorUnits > 0 && (invoice.status == .open || invoice.status == .partiallyPaid)
    }

    static func statusLabel(_ invoice: InvoiceSummary) -> String {
        invoice.isOverdue ? "Overdue" : invoice.status.label
    }

    static func statusClass(_ invoice: InvoiceSummary) -> String {
        if invoice.isOverdue { return "status-overdue" }
        return switch invoice.status {
        case .draft: "status-draft"
        case .open: "status-open"
        case .partiallyPaid: "status-partially-paid"
        case .paid: "status-paid"
        case .void: "status-void"
        }
    }

    static func totals(_ totals: [CurrencyTotals]) -> [[String: Any]] {
        totals.map { ["currency": $0.currency.code, "count": $0.count, "total": $0.total.formatted, "balance": $0.balance.formatted] }
    }

    static func payment(_ payment: PaymentSummary) -> [String: Any] {
        ViewValues.compact([
            "date": PageContext.date(payment.createdAt), "amount": payment.amount.formatted, "allocated": payment.allocated.formatted,
            "partOfLarger": payment.allocated != payment.amount, "status": payment.status.replacingOccurrences(of: "_", with: " "),
            "method": payment.methodLast4.map { "\((payment.methodBrand ?? "card").capitalized) •••• \($0)" },
        ])
    }

    static func detail(_ detail: InvoiceDetail) -> [String: Any] {
        let currency = detail.summary.total.currency
        var values: [String: Any] = fields(detail.summary)
        values["overdue"] = detail.summary.isOverdue
        values["accountName"] = detail.accountName
        values["billToName"] = detail.billToName.isEmpty ? detail.accountName : detail.billToName
        values["billToAddress"] = detail.billToAddress.split(separator: "\n").map(String.init)
        values["subtotal"] = detail.subtotal.formatted
        values["taxTotal"] = detail.taxTotal.formatted
        values["amountPaid"] = detail.amountPaid.formatted
        if !detail.notes.isEmpty { values["notes"] = detail.notes }
        if !detail.terms.isEmpty { values["terms"] = detail.terms }
        values["pdfURL"] = SitePath.invoicePDF(detail.summary.id)
        values["payable"] = isPayable(detail.summary)
        values["lines"] = detail.lines.map { line -> [String: Any] in
            [
                "description": line.description, "quantity": line.quantity.formatted,
                "unitPrice": Money(line.unitPrice, currency).formatted,
                "discount": line.discount == 0 ? "" : Money(-line.discount, currency).formatted,
                "tax": Money(line.tax, currency).formatted, "lineTotal": Money(line.lineTotal, currency).formatted,
            ]
        }
        values["payments"] = detail.payments.map(payment)
        values["hasPayments"] = !detail.payments.isEmpty
        return values
    }
}
