import Hummingbird
import PortalCore

/// `/payment-methods`: the account's saved cards; adding one through the gateway's hosted fields,
/// choosing the default, removing one (after a confirmation page).
struct PaymentMethodsController {
    let services: PortalServices
    let renderer: PageRenderer
    let cookies: SessionCookies

    func register(on group: RouterGroup<CustomerRequestContext>) {
        group.get(RouterPath(stringLiteral: SitePath.paymentMethods), use: page)
        group.post(RouterPath(stringLiteral: SitePath.paymentMethods), use: add)
        group.post(RouterPath(stringLiteral: SitePath.paymentMethods + "/{id}/default"), use: setDefault)
        group.get(RouterPath(stringLiteral: SitePath.paymentMethods + "/{id}/remove"), use: confirmRemove)
        group.post(RouterPath(stringLiteral: SitePath.paymentMethods + "/{id}/remove"), use: remove)
    }

    @Sendable func page(_ request: Request, context: CustomerRequestContext) async throws -> Response {
        try await render(context, [:], status: .ok)
    }

    @Sendable func add(_ request: Request, context: CustomerRequestContext) async throws -> Response {
        guard let scope = context.scope, let account = context.identity.activeAccount else { throw PageError.notFound }
        let browserResult = HostedFieldsView.browserResult(context.form)
        let name = context.form.value("billing_name")
        let postcode = context.form.value("billing_postcode")
        if let problem = HostedFieldsView.cardEntryProblem(browserResult, billingName: name, billingPostcode: postcode) {
            return try await render(context, ["error": problem, "billingName": name, "billingPostcode": postcode], status: .unprocessableContent)
        }
        do {
            try await services.paymentMethods.add(scope, accountName: account.name, email: context.identity.user.email,
                                                  browserResult: browserResult,
                                                  billingName: name, billingPostcode: postcode,
                                                  actor: actor(context))
            return flashRedirect(.cardSaved)
        } catch let error as PaymentMethodError {
            return try await render(context, ["error": ErrorMessages.paymentMethod(error), "billingName": name,
                                              "billingPostcode": postcode], status: .unprocessableContent)
        }
    }

    @Sendable func setDefault(_ request: Request, context: CustomerRequestContext) async throws -> Response {
        guard let scope = context.scope else { throw PageError.notFound }
        do {
            try await services.paymentMethods.setDefault(scope, methodId: context.parameters.get("id") ?? "", actor: actor(context))
        } catch PaymentMethodError.notFound {
            throw PageError.notFound
        }
        return flashRedirect(.defaultCardChanged)
    }

    @Sendable func confirmRemove(_ request: Request, context: CustomerRequestContext) async throws -> Response {
        guard let scope = context.scope,
              let method = try await services.paymentMethods.list(scope).first(where: { $0.id == context.parameters.get("id") }) else {
            throw PageError.notFound
        }
        return renderer.render("payment_method_remove", PageContext.customer(context, title: "Remove card", [
            "card": method.label, "action": SitePath.paymentMethodRemove(method.id), "isDefault": method.isDefault,
        ]))
    }

    @Sendable func remove(_ request: Request, context: CustomerRequestContext) async throws -> Response {
        guard let scope = context.scope else { throw PageError.notFound }
        do {
            try await services.paymentMethods.remove(scope, methodId: context.parameters.get("id") ?? "", actor: actor(context))
        } catch PaymentMethodError.notFound {
            throw PageError.notFound
        } catch let error as PaymentMethodError {
            return try await render(context, ["error": ErrorMessages.paymentMethod(error)], status: .unprocessableContent)
        }
        return flashRedirect(.cardRemoved)
    }

    private func render(_ context: CustomerRequestContext, _ extra: [String: Any], status: HTTPResponse.Status) async throws -> Response {
        guard let scope = context.scope, let account = context.identity.activeAccount else {
            return renderer.render("payment_methods", PageContext.customer(context, title: "Payment methods", ["noAccount": true]))
        }
        let methods = try await services.paymentMethods.list(scope)
        var values: [String: Any] = [
            "methods": methods.map { method -> [String: Any] in
                ViewValues.compact([
                    "id": method.id, "label": method.label, "expiry": String(format: "%02d/%d", method.expMonth, method.expYear),
                    "isDefault": method.isDefault, "expired": method.expiry == .expired, "expiresSoon": method.expiry == .expiresSoon,
                    "billingName": method.billingName, "defaultAction": SitePath.paymentMethodDefault(method.id),
                    "removeURL": SitePath.paymentMethodRemove(method.id),
                ])
            },
            "hasMethods": !methods.isEmpty,
        ]
        var origins: [String] = []
        if services.paymentMethods.isConfigured {
            let fields = try await services.paymentMethods.hostedFields(scope, accountName: account.name, email: context.identity.user.email)
            origins = fields.origins
            values["gateway"] = HostedFieldsView.values(fields, gateway: services.gateway?.name ?? "")
        }
        values.merge(extra) { _, new in new }
        var response = renderer.render("payment_methods", PageContext.customer(context, title: "Payment methods", values), status: status)
        // Exactly the configured gateway's origins, on this page only.
        response.headers[.contentSecurityPolicy] = SecurityHeadersMiddleware<CustomerRequestContext>.policy(extraOrigins: origins)
        return response
    }

    private func actor(_ context: CustomerRequestContext) -> AuditEvent { context.actor }

    private func flashRedirect(_ flash: FlashMessage) -> Response {
        var response = Response.redirect(to: SitePath.paymentMethods)
        response.setCookie(cookies.flash(flash))
        return response
    }
}
