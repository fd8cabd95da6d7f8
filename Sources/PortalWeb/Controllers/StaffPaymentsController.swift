import Hummingbird
import PortalCore

/// `/staff/payments/{id}`: a payment with its refunds; finance refunds (all or part) or voids it,
/// always with a reason.
struct StaffPaymentsController {
    let services: PortalServices
    let renderer: PageRenderer
    let cookies: SessionCookies

    func register(on staff: RouterGroup<StaffRequestContext>) {
        staff.get(RouterPath(stringLiteral: SitePath.staff + "/payments/{id}"), use: show)
        let finance = staff.group().add(middleware: RequireRoleMiddleware(needed: .finance))
        finance.post(RouterPath(stringLiteral: SitePath.staff + "/payments/{id}/refund"), use: refund)
        finance.post(RouterPath(stringLiteral: SitePath.staff + "/payments/{id}/void"), use: void)
    }

    @Sendable func show(_ request: Request, context: StaffRequestContext) async throws -> Response {
        try await render(context, id: context.parameters.get("id") ?? "", error: nil)
    }

    @Sendable func refund(_ request: Request, context: StaffRequestContext) async throws -> Response {
        let id = context.parameters.get("id") ?? ""
        let payment = try await payment(id)
        guard let amount = Money.parse(context.form.value("amount"), currency: payment.amount.currency) else {
            return try await render(context, id: id, error: ErrorMessages.refund(.invalidAmount))
        }
        return try await perform(context, id: id) {
            _ = try await services.refunds.refund(paymentId: id, amount: amount, reason: context.form.value("reason"), actor: context.actor,
                                                  requestKey: context.form.value("request_key"))
        }
    }

    @Sendable func void(_ request: Request, context: StaffRequestContext) async throws -> Response {
        let id = context.parameters.get("id") ?? ""
        _ = try await payment(id)
        return try await perform(context, id: id) {
            _ = try await services.refunds.void(paymentId: id, reason: context.form.value("reason"), actor: context.actor,
                                                requestKey: context.form.value("request_key"))
        }
    }

    private func perform(_ context: StaffRequestContext, id: String, _ body: () async throws -> Void) async throws -> Response {
        do {
            try await body()
        } catch RefundError.notFound {
            throw PageError.notFound
        } catch let error as RefundError {
            return try await render(context, id: id, error: ErrorMessages.refund(error))
        }
        var response = Response.redirect(to: SitePath.staff + "/payments/\(id)", type: .normal)
        response.setCookie(cookies.flash(.refundRecorded))
        return response
    }

    private func payment(_ id: String) async throws -> Payment {
        do {
            return try await services.payments.paymentForStaff(id: id)
        } catch PaymentError.notFound {
            throw PageError.notFound
        }
    }

    private func render(_ context: StaffRequestContext, id: String, error: String?) async throws -> Response {
        let payment = try await payment(id)
        let refunds = try await services.refunds.refunds(paymentId: id)
        var values: [String: Any] = [
            "payment": PaymentViewModels.detail(payment),
            "refundable": (payment.status == .succeeded || payment.status == .partiallyRefunded)
                ? Money(payment.amount.minorUnits - payment.amountRefunded.minorUnits, payment.amount.currency).formatted : "",
            "voidable": payment.status == .succeeded && payment.amountRefunded.minorUnits == 0,
            "refunds": refunds.map { refund in
                ViewValues.compact(["date": PageContext.date(refund.createdAt), "kind": refund.kind.rawValue, "amount": refund.amount.formatted,
                                    "status": refund.status.rawValue, "reason": refund.reason, "by": refund.actor, "error": refund.errorMessage])
            },
            "hasRefunds": !refunds.isEmpty, "requestKey": SecretToken.generate(),
            "refundAction": SitePath.staff + "/payments/\(id)/refund", "voidAction": SitePath.staff + "/payments/\(id)/void",
        ]
        if let error { values["error"] = error }
        return renderer.render("staff_payment", StaffPageContext.values(context, title: "Payment \(id)", ViewValues.compact(values)),
                               status: error == nil ? .ok : .unprocessableContent)
    }
}
