import HTTPTypes
import Hummingbird
import PortalCore

/// `/pay/{token}`: paying one invoice through its payment link, without signing in. The payer sees
/// that invoice (and its PDF), pays its balance with a new card in the gateway's hosted fields, and
/// sees the receipt of that payment only; saved cards, other invoices and the account need a full
/// sign-in. Forms are protected by the pre-session CSRF binding, like the sign-in forms.
struct PaymentLinkController {
    let services: PortalServices
    let renderer: PageRenderer
    let pdf: InvoicePDFRenderer
    let pdfPool: BlockingPool

    func register(on router: Router<PortalRequestContext>) {
        let link = SitePath.pay + "/{token}"
        router.get(RouterPath(stringLiteral: link), use: show)
        router.post(RouterPath(stringLiteral: link), use: pay)
        router.get(RouterPath(stringLiteral: link + "/invoice.pdf"), use: invoicePDF)
        router.get(RouterPath(stringLiteral: link + "/payments/{id}"), use: receipt)
        router.post(RouterPath(stringLiteral: link + "/payments/{id}/authenticated"), use: authenticated)
    }

    @Sendable func show(_ request: Request, context: PortalRequestContext) async throws -> Response {
        let token = context.parameters.get("token") ?? ""
        guard let link = try await inspect(token) else { return refused(context, state: nil) }
        guard link.state == .payable else { return refused(context, state: link.state, token: token, pendingPayment: link.pendingPaymentId) }
        return try await renderForm(context, token: token, link: link, requestKey: SecretToken.generate())
    }

    @Sendable func pay(_ request: Request, context: PortalRequestContext) async throws -> Response {
        let token = context.parameters.get("token") ?? ""
        guard let link = try await inspect(token) else { return refused(context, state: nil) }
        let form = context.form
        let requestKey = form.value("request_key")
        // A repeat of a form that already paid (double click, back button) lands on that payment.
        if SecretToken.isWellFormed(requestKey), let done = try await services.payments.existing(link.scope, requestKey: requestKey) {
            return .redirect(to: SitePath.paymentLinkPayment(token, done.id), type: .normal)
        }
        guard link.state == .payable else { return refused(context, state: link.state, token: token, pendingPayment: link.pendingPaymentId) }
        let entered = PaymentsController.Entered(form)
        if let problem = HostedFieldsView.cardEntryProblem(entered.card, billingName: entered.billingName, billingPostcode: entered.billingPostcode) {
            return try await renderForm(context, token: token, link: link, requestKey: requestKey, error: problem)
        }
        do {
            let payment = try await services.payments.pay(link.scope, .init(
                requestKey: requestKey, invoiceIds: [link.invoice.id], amount: .typed(""),
                method: .newCard(browserResult: entered.card, billingName: entered.billingName, billingPostcode: entered.billingPostcode,
                                 keep: false),
                source: .paymentLink, actor: Self.actor(link, context), accountName: link.accountName, email: ""))
            return .redirect(to: SitePath.paymentLinkPayment(token, payment.id), type: .normal)
        } catch let error as PaymentError {
            if let payment = try await services.payments.existing(link.scope, requestKey: requestKey) {
                return .redirect(to: SitePath.paymentLinkPayment(token, payment.id), type: .normal)
            }
            // The invoice or the link changed between this page's check and the reservation (paid or voided,
            // the link withdrawn or expired, another payment begun): the page says what it is now.
            guard let again = try await inspect(token) else { return refused(context, state: nil) }
            if again.state != .payable {
                return refused(context, state: again.state, token: token, pendingPayment: again.pendingPaymentId)
            }
            return try await renderForm(context, token: token, link: link, requestKey: requestKey, error: ErrorMessages.payment(error))
        }
    }

    @Sendable func invoicePDF(_ request: Request, context: PortalRequestContext) async throws -> Response {
        let token = context.parameters.get("token") ?? ""
        guard let link = try await inspect(token), link.state != .revoked, link.state != .expired else { throw PageError.notFound }
        let detail = try await services.invoices.detail(link.scope, invoiceId: link.invoice.id)
        return try await InvoicesController.pdfResponse(detail, payURL: services.links.absolute(SitePath.paymentLink(token)), pdf: pdf, pool: pdfPool)
    }

    /// The outcome of a payment made through this link, and only such a payment.
    @Sendable func receipt(_ request: Request, context: PortalRequestContext) async throws -> Response {
        let token = context.parameters.get("token") ?? ""
        guard let link = try await inspect(token) else { return refused(context, state: nil) }
        if link.state == .revoked { return refused(context, state: .revoked) }
        let payment: Payment
        do {
            payment = try await services.payments.payment(link.scope, id: context.parameters.get("id") ?? "")
        } catch PaymentError.notFound {
            throw PageError.notFound
        }
        var values = PaymentViewModels.detail(payment)
        values["retryURL"] = payment.status == .failed && link.state == .payable ? SitePath.paymentLink(token) : nil
        let origins = try await HostedFieldsView.addAuthentication(to: &values, payment: payment, services: services, scope: link.scope,
                                                                   accountName: link.accountName, email: "",
                                                                   action: SitePath.paymentLinkAuthenticated(token, payment.id))
        var response = renderer.render("pay_link_payment", PageContext.anonymous(context, title: "Payment", ViewValues.compact(values)))
        if payment.isProcessing { response.headers[HTTPField.Name("Refresh")!] = "3" }
        if !origins.isEmpty {
            response.headers[.contentSecurityPolicy] = SecurityHeadersMiddleware<PortalRequestContext>.policy(extraOrigins: origins)
        }
        return response
    }

    @Sendable func authenticated(_ request: Request, context: PortalRequestContext) async throws -> Response {
        let token = context.parameters.get("token") ?? ""
        guard let link = try await inspect(token), link.state != .revoked else { throw PageError.notFound }
        let id = context.parameters.get("id") ?? ""
        do {
            _ = try await services.payments.completeAuthentication(link.scope, paymentId: id)
        } catch PaymentError.notFound {
            throw PageError.notFound
        }
        return .redirect(to: SitePath.paymentLinkPayment(token, id), type: .normal)
    }

    // MARK: -

    /// The link if genuine; nil for an unknown, malformed or altered token (all alike).
    private func inspect(_ token: String) async throws -> VerifiedPaymentLink? {
        do {
            return try await services.paymentLinks.inspect(token)
        } catch PaymentLinkError.invalid {
            return nil
        }
    }

    /// Who pays through a link: nobody with an account, recorded as "payment link" and the address.
    private static func actor(_ link: VerifiedPaymentLink, _ context: PortalRequestContext) -> AuditEvent {
        AuditEvent(action: "", actorKind: .anonymous, actorLabel: "payment link", accountId: link.invoice.accountId,
                   clientAddress: context.client.address, details: ["link": link.id, "invoice": link.invoice.id])
    }

    /// A clear page saying why the link can't be used and what to do; an unknown link is a 404.
    /// While a payment made through this link is processing, the page leads to its receipt.
    private func refused(_ context: PortalRequestContext, state: VerifiedPaymentLink.State?, token: String = "",
                         pendingPayment: String? = nil) -> Response {
        let words = ErrorMessages.paymentLink(state)
        let status: HTTPResponse.Status = switch state {
        case nil: .notFound
        case .paid, .payable, .processing: .ok
        case .void, .expired, .revoked: .gone
        }
        return renderer.render("pay_link_closed", PageContext.anonymous(context, title: words.title, ViewValues.compact([
            "message": words.message, "next": words.next, "state": state.map { "\($0)" } ?? "invalid", "loginURL": SitePath.login,
            "receiptURL": pendingPayment.map { SitePath.paymentLinkPayment(token, $0) },
        ])), status: status)
    }

    private func renderForm(_ context: PortalRequestContext, token: String, link: VerifiedPaymentLink, requestKey: String,
                            error: String? = nil) async throws -> Response {
        let invoice = link.invoice
        var values: [String: Any] = [
            "invoice": InvoiceViewModels.fields(invoice), "accountName": link.accountName, "balance": invoice.balance.formatted,
            "expiresAt": PageContext.date(link.expiresAt), "pdfURL": SitePath.paymentLinkPDF(token), "action": SitePath.paymentLink(token),
            "requestKey": SecretToken.isWellFormed(requestKey) ? requestKey : SecretToken.generate(),
            "billingName": context.form.value("billing_name"), "billingPostcode": context.form.value("billing_postcode"),
        ]
        if let error { values["error"] = error }
        let origins = try await HostedFieldsView.addCardEntry(to: &values, services: services, scope: link.scope,
                                                              accountName: link.accountName, email: "")
        var response = renderer.render("pay_link", PageContext.anonymous(context, title: "Pay invoice \(invoice.number)", ViewValues.compact(values)),
                                       status: error == nil ? .ok : .unprocessableContent)
        response.headers[.contentSecurityPolicy] = SecurityHeadersMiddleware<PortalRequestContext>.policy(extraOrigins: origins)
        return response
    }
}
