import HTTPTypes
import Hummingbird
import PortalCore

/// Paying invoices: `/pay` (choose amount and card) → `/pay/review` → confirm (`POST /pay`) →
/// `/payments/{id}`, the receipt or the outcome. `/payments` is the history.
struct PaymentsController {
    let services: PortalServices
    let renderer: PageRenderer

    func register(on group: RouterGroup<CustomerRequestContext>) {
        group.get(RouterPath(stringLiteral: SitePath.pay), use: form)
        group.post(RouterPath(stringLiteral: SitePath.pay + "/review"), use: review)
        group.post(RouterPath(stringLiteral: SitePath.pay), use: confirm)
        group.get(RouterPath(stringLiteral: SitePath.payments), use: history)
        group.get(RouterPath(stringLiteral: SitePath.payments + "/{id}"), use: show)
        group.post(RouterPath(stringLiteral: SitePath.payments + "/{id}/authenticated"), use: authenticated)
    }

    /// The invoices to pay arrive as repeated `invoice` query parameters (from an invoice's Pay
    /// button or the list's checkboxes).
    @Sendable func form(_ request: Request, context: CustomerRequestContext) async throws -> Response {
        let ids: [String] = request.uri.queryParameters.getAll("invoice").map { String($0) }
        return try await renderForm(context, invoiceIds: ids, entered: nil)
    }

    @Sendable func review(_ request: Request, context: CustomerRequestContext) async throws -> Response {
        guard let scope = context.scope else { throw PageError.notFound }
        let entered = Entered(context.form)
        do {
            let draft = try await services.payments.draft(scope, invoiceIds: entered.invoiceIds)
            let amount = try draft.amount(typed: entered.amount)
            let card: String
            switch entered.method {
            case "new":
                if let problem = HostedFieldsView.cardEntryProblem(entered.card, billingName: entered.billingName,
                                                                    billingPostcode: entered.billingPostcode) {
                    throw Problem.message(problem)
                }
                card = entered.cardLabel.isEmpty ? "New card" : "New card " + entered.cardLabel
            default:
                guard let method = draft.methods.first(where: { $0.id == entered.method }) else { throw PaymentError.methodNotFound }
                guard method.expiry != .expired else { throw PaymentError.methodExpired }
                card = method.label
            }
            return renderer.render("pay_review", PageContext.customer(context, title: "Review payment", [
                "amount": amount.formatted, "amountValue": amount.plain, "card": card, "entered": entered.hidden,
                "invoices": draft.invoices.map(InvoiceViewModels.row), "requestKey": entered.requestKey,
                "isPartial": amount.minorUnits < draft.balance.minorUnits, "balance": draft.balance.formatted,
                "isCredit": amount.minorUnits > draft.balance.minorUnits,
            ]))
        } catch PaymentError.notFound {
            throw PageError.notFound
        } catch let error as PaymentError {
            return try await renderForm(context, invoiceIds: entered.invoiceIds, entered: entered, error: ErrorMessages.payment(error))
        } catch Problem.message(let text) {
            return try await renderForm(context, invoiceIds: entered.invoiceIds, entered: entered, error: text)
        }
    }

    @Sendable func confirm(_ request: Request, context: CustomerRequestContext) async throws -> Response {
        guard let scope = context.scope, let account = context.identity.activeAccount else { throw PageError.notFound }
        let entered = Entered(context.form)
        do {
            let method: PaymentService.MethodChoice = entered.method == "new"
                ? .newCard(browserResult: entered.card, billingName: entered.billingName,
                           billingPostcode: entered.billingPostcode, keep: entered.keepCard)
                : .saved(entered.method)
            let payment = try await services.payments.pay(scope, .init(
                requestKey: entered.requestKey, invoiceIds: entered.invoiceIds, amount: .typed(entered.amount),
                method: method, source: context.impersonation == nil ? .portal : .staffAssisted, actor: context.actor,
                accountName: account.name, email: context.identity.user.email))
            return .redirect(to: SitePath.payment(payment.id), type: .normal)
        } catch PaymentError.notFound {
            // A repeat of a form whose invoices are now paid still lands on the payment it made.
            if let payment = try await services.payments.existing(scope, requestKey: entered.requestKey) {
                return .redirect(to: SitePath.payment(payment.id), type: .normal)
            }
            throw PageError.notFound
        } catch let error as PaymentError {
            if let payment = try await services.payments.existing(scope, requestKey: entered.requestKey) {
                return .redirect(to: SitePath.payment(payment.id), type: .normal)
            }
            return try await renderForm(context, invoiceIds: entered.invoiceIds, entered: entered, error: ErrorMessages.payment(error))
        }
    }

    @Sendable func history(_ request: Request, context: CustomerRequestContext) async throws -> Response {
        guard let scope = context.scope else {
            return renderer.render("payments", PageContext.customer(context, title: "Payments", ["noAccount": true]))
        }
        let pageText = request.uri.queryParameters["page"].map(String.init) ?? "1"
        guard let page = Int(pageText) else { throw PageError.badRequest("The page number must be a whole number.") }
        let history = try await services.payments.history(scope, page: page)
        return renderer.render("payments", PageContext.customer(context, title: "Payments", [
            "payments": history.payments.map(PaymentViewModels.row), "hasPayments": !history.payments.isEmpty,
            "previousURL": history.page > 1 ? "\(SitePath.payments)?page=\(history.page - 1)" : nil,
            "nextURL": history.hasMore ? "\(SitePath.payments)?page=\(history.page + 1)" : nil,
        ]))
    }

    @Sendable func show(_ request: Request, context: CustomerRequestContext) async throws -> Response {
        guard let scope = context.scope else { throw PageError.notFound }
        let payment: Payment
        do {
            payment = try await services.payments.payment(scope, id: context.parameters.get("id") ?? "")
        } catch PaymentError.notFound {
            throw PageError.notFound
        }
        var values = PaymentViewModels.detail(payment)
        var origins: [String] = []
        if let account = context.identity.activeAccount {
            origins = try await HostedFieldsView.addAuthentication(to: &values, payment: payment, services: services, scope: scope,
                                                                   accountName: account.name, email: context.identity.user.email,
                                                                   action: SitePath.paymentAuthenticated(payment.id))
        }
        var response = renderer.render("payment", PageContext.customer(context, title: "Payment", values))
        // A payment waiting for the gateway's answer shows it as soon as it arrives.
        if payment.isProcessing { response.headers[HTTPField.Name("Refresh")!] = "3" }
        if !origins.isEmpty {
            response.headers[.contentSecurityPolicy] = SecurityHeadersMiddleware<CustomerRequestContext>.policy(extraOrigins: origins)
        }
        return response
    }

    @Sendable func authenticated(_ request: Request, context: CustomerRequestContext) async throws -> Response {
        guard let scope = context.scope else { throw PageError.notFound }
        let id = context.parameters.get("id") ?? ""
        do {
            _ = try await services.payments.completeAuthentication(scope, paymentId: id)
        } catch PaymentError.notFound {
            throw PageError.notFound
        }
        return .redirect(to: SitePath.payment(id), type: .normal)
    }

    // MARK: -

    private enum Problem: Error { case message(String) }

    /// The payment form's fields, carried from the form through the review page to the confirmation.
    struct Entered {
        var invoiceIds: [String]
        var amount: String
        var method: String
        /// What the gateway's fields returned; never a card number.
        var card: [String: String]
        var billingName: String
        var billingPostcode: String
        var keepCard: Bool
        var cardLabel: String
        var requestKey: String

        init(_ form: FormFields) {
            invoiceIds = form.all("invoice")
            amount = form.value("amount")
            method = form.value("method")
            card = HostedFieldsView.browserResult(form)
            billingName = String(form.value("billing_name").prefix(200))
            billingPostcode = String(form.value("billing_postcode").prefix(20))
            keepCard = form.value("keep_card") == "yes"
            cardLabel = String(form.value("card_label").prefix(40))
            requestKey = form.value("request_key")
        }

        var hidden: [[String: String]] {
            var fields = invoiceIds.map { ["name": "invoice", "value": $0] }
            let named = [("method", method), ("billing_name", billingName), ("billing_postcode", billingPostcode),
                         ("keep_card", keepCard ? "yes" : ""), ("card_label", cardLabel)] + card.sorted { $0.key < $1.key }
            for (name, value) in named where !value.isEmpty {
                fields.append(["name": name, "value": value])
            }
            return fields
        }
    }

    private func renderForm(_ context: CustomerRequestContext, invoiceIds: [String], entered: Entered?, error: String? = nil) async throws -> Response {
        guard let scope = context.scope, let account = context.identity.activeAccount else { throw PageError.notFound }
        let draft: PaymentService.Draft
        do {
            draft = try await services.payments.draft(scope, invoiceIds: invoiceIds)
        } catch PaymentError.notFound {
            throw PageError.notFound
        } catch let failure as PaymentError {
            return renderer.render("pay", PageContext.customer(context, title: "Pay invoices", ["blocked": ErrorMessages.payment(failure)]),
                                   status: .unprocessableContent)
        }
        let selected = entered?.method ?? (draft.methods.first { $0.isDefault && $0.expiry != .expired }?.id ?? "new")
        var values: [String: Any] = [
            "invoices": draft.invoices.map(InvoiceViewModels.row), "balance": draft.balance.formatted,
            "amount": entered?.amount.isEmpty == false ? entered!.amount : draft.balance.plain,
            "currency": draft.balance.currency.code, "minimum": draft.minimum.formatted, "allowOverpayment": draft.allowOverpayment,
            "requestKey": entered.map(\.requestKey).flatMap { SecretToken.isWellFormed($0) ? $0 : nil } ?? draft.requestKey,
            "methods": draft.methods.map { method in
                ViewValues.compact(["id": method.id, "label": method.label, "expiry": String(format: "%02d/%d", method.expMonth, method.expYear),
                                    "expired": method.expiry == .expired, "checked": method.id == selected, "isDefault": method.isDefault])
            },
            "newChecked": selected == "new", "billingName": entered?.billingName ?? "", "billingPostcode": entered?.billingPostcode ?? "",
        ]
        if let error { values["error"] = error }
        let origins = try await HostedFieldsView.addCardEntry(to: &values, services: services, scope: scope, accountName: account.name,
                                                              email: context.identity.user.email)
        var response = renderer.render("pay", PageContext.customer(context, title: "Pay invoices", ViewValues.compact(values)),
                                       status: error == nil ? .ok : .unprocessableContent)
        response.headers[.contentSecurityPolicy] = SecurityHeadersMiddleware<CustomerRequestContext>.policy(extraOrigins: origins)
        return response
    }
}
