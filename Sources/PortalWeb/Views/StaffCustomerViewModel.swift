import PortalCore

/// A customer as the staff console shows them. Cards are brand, last 4 and expiry; nothing here
/// can charge or identify a card at the gateway.
enum StaffCustomerViewModel {
    static func values(_ view: CustomerView) -> [String: Any] {
        let id = view.user.id
        return ViewValues.compact([
            "id": id, "email": view.user.email, "name": view.user.name, "status": view.user.status.rawValue,
            "active": view.user.status == .active, "locked": view.user.status == .disabled, "invited": view.user.status == .invited,
            "mfaEnrolled": view.mfaEnrolled, "sessions": view.activeSessions,
            "lastSignIn": view.user.lastSignInAt.map(PageContext.date) ?? "never",
            "invitationExpires": view.invitationExpiresAt.map(PageContext.date),
            "impersonateAction": SitePath.staffImpersonate(id), "lockAction": SitePath.staffCustomer(id) + "/lock",
            "unlockAction": SitePath.staffCustomer(id) + "/unlock", "mfaResetAction": SitePath.staffCustomer(id) + "/mfa-reset",
            "reinviteAction": SitePath.staffCustomer(id) + "/reinvite",
            "accounts": view.accounts.map(account), "inviteAction": SitePath.staffCustomer(id) + "/invite",
            "activity": view.activity.map { event in
                ViewValues.compact(["date": PageContext.date(event.occurredAt), "action": event.action, "by": event.actorLabel,
                                    "viaSupport": event.impersonatorId != nil, "address": event.clientAddress,
                                    "failed": event.outcome == .failure])
            },
        ])
    }

    static func account(_ section: CustomerView.AccountSection) -> [String: Any] {
        ViewValues.compact([
            "id": section.account.id, "name": section.account.name, "externalId": section.account.externalId,
            "users": section.users.map { ["email": $0.email, "status": $0.status.rawValue, "url": SitePath.staffCustomer($0.id)] },
            "hasContacts": !section.contacts.isEmpty,
            "contacts": section.contacts.map { ViewValues.compact(["name": $0.name, "email": $0.email, "phone": $0.phone]) },
            "invoices": section.invoices.map { invoice -> [String: String] in
                var row = InvoiceViewModels.fields(invoice)
                row["linkRevokeAction"] = SitePath.staffInvoiceLinkRevoke(invoice.id)
                row["linkIssueAction"] = SitePath.staffInvoiceLinkIssue(invoice.id)
                return row
            },
            "payments": section.payments.map { payment -> [String: Any] in
                var row = PaymentViewModels.row(payment)
                row["url"] = SitePath.staff + "/payments/\(payment.id)"
                return row
            },
            "methods": section.paymentMethods.map { method in
                ViewValues.compact(["label": method.label, "expiry": "\(method.expMonth)/\(method.expYear)", "isDefault": method.isDefault,
                                    "expired": method.expiry == .expired])
            },
            "autopay": section.autopay.map { ["status": $0.status.rawValue, "card": $0.methodLabel, "timing": $0.timing.label] },
            "plans": section.plans.map { ["amount": $0.amount.formatted, "frequency": $0.frequency.rawValue, "status": $0.status.rawValue] },
        ])
    }
}
