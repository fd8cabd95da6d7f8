import Hummingbird
import PortalCore

/// Finance and admin staff withdraw an invoice's payment link (with a reason, audited) and issue a
/// new one, from the customer's page in the console.
struct StaffPaymentLinksController {
    let services: PortalServices
    let cookies: SessionCookies
    /// Shows the customer's page again, with an error or the new link.
    let renderCustomer: @Sendable (StaffRequestContext, String, String?, IssuedPaymentLink?) async throws -> Response

    func register(on staff: RouterGroup<StaffRequestContext>) {
        let finance = staff.group().add(middleware: RequireRoleMiddleware(needed: .finance))
        finance.post(RouterPath(stringLiteral: SitePath.staffInvoiceLinkRevoke("{id}")), use: revoke)
        finance.post(RouterPath(stringLiteral: SitePath.staffInvoiceLinkIssue("{id}")), use: issue)
    }

    @Sendable func revoke(_ request: Request, context: StaffRequestContext) async throws -> Response {
        let customer = try Self.customerId(context)
        do {
            try await services.paymentLinks.revoke(invoiceId: context.parameters.get("id") ?? "", reason: context.form.value("reason"),
                                                   actor: AuditEvent.staffActor(context.staff, client: context.client))
        } catch PaymentLinkError.invoiceNotFound {
            throw PageError.notFound
        } catch let error as PaymentLinkError {
            return try await renderCustomer(context, customer, ErrorMessages.paymentLinkIssue(error), nil)
        }
        var response = Response.redirect(to: SitePath.staffCustomer(customer), type: .normal)
        response.setCookie(cookies.flash(.staffActionDone))
        return response
    }

    @Sendable func issue(_ request: Request, context: StaffRequestContext) async throws -> Response {
        let customer = try Self.customerId(context)
        let link: IssuedPaymentLink
        do {
            link = try await services.paymentLinks.issue(invoiceId: context.parameters.get("id") ?? "",
                                                         actor: AuditEvent.staffActor(context.staff, client: context.client))
        } catch PaymentLinkError.invoiceNotFound {
            throw PageError.notFound
        } catch let error as PaymentLinkError {
            return try await renderCustomer(context, customer, ErrorMessages.paymentLinkIssue(error), nil)
        }
        return try await renderCustomer(context, customer, nil, link)
    }

    /// The customer page to return to; ids are `usr_` plus base64url, so anything else is refused.
    private static func customerId(_ context: StaffRequestContext) throws -> String {
        let id = context.form.value("customer")
        guard !id.isEmpty, id.count <= 64, id.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == "-") }) else {
            throw PageError.notFound
        }
        return id
    }
}
