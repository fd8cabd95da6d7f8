import PortalCore

/// Payments as templates show them: history rows and the receipt / outcome page.
enum PaymentViewModels {
    static func statusLabel(_ payment: Payment) -> String {
        switch payment.status {
        case .pending: payment.requiresAction ? "Waiting for your bank" : "Processing"
        case .succeeded: "Paid"
        case .failed: "Failed"
        case .refunded: "Refunded"
        case .partiallyRefunded: "Partly refunded"
        case .voided: "Cancelled"
        }
    }

    static func row(_ payment: Payment) -> [String: Any] {
        ViewValues.compact([
            "id": payment.id, "url": SitePath.payment(payment.id), "date": PageContext.date(payment.createdAt),
            "amount": payment.amount.formatted, "status": statusLabel(payment), "statusClass": "payment-" + payment.status.rawValue,
            "method": payment.methodLabel, "invoices": invoiceNumbers(payment),
        ])
    }

    static func detail(_ payment: Payment) -> [String: Any] {
        var values = row(payment)
        values.merge(ViewValues.compact([
            "reference": payment.id, "account": payment.accountName, "transactionId": payment.transactionId,
            "authorizationCode": payment.authorizationCode, "settledAt": payment.settledAt.map(PageContext.date),
            "succeeded": payment.status == .succeeded || payment.status == .partiallyRefunded,
            "processing": payment.isProcessing, "requiresAction": payment.requiresAction, "failed": payment.status == .failed,
            "refunded": payment.amountRefunded.minorUnits > 0 ? payment.amountRefunded.formatted : nil,
            "credit": payment.unapplied.minorUnits > 0 ? payment.unapplied.formatted : nil,
            "allocations": payment.allocations.map { ["number": $0.invoiceNumber, "url": SitePath.invoice($0.invoiceId), "amount": $0.amount.formatted] },
            "retryURL": payment.status == .failed ? retryURL(payment) : nil,
        ])) { _, new in new }
        if payment.status == .failed {
            let words = ErrorMessages.decline(code: payment.errorCode, gatewayMessage: payment.errorMessage)
            values["declineReason"] = words.what
            values["declineNext"] = words.next
        }
        return values
    }

    static func invoiceNumbers(_ payment: Payment) -> String {
        let numbers = payment.allocations.isEmpty ? payment.requestedInvoices.map(\.number) : payment.allocations.map(\.invoiceNumber)
        return numbers.joined(separator: ", ")
    }

    static func retryURL(_ payment: Payment) -> String? {
        guard !payment.requestedInvoices.isEmpty else { return nil }
        return SitePath.pay(invoices: payment.requestedInvoices.map(\.id))
    }
}
