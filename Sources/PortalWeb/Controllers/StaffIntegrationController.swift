import Hummingbird
import PortalCore

/// `/staff/integration` (finance and admin): the Creatio pull and the CRM outbox at a glance, failed
/// records reprocessed one or all, outbox rows pushed again, and the reconciliation report with its
/// CSV. Reprocess results are specific to the request, so the page is rendered with them in the
/// flash slot rather than redirected to with a fixed flash code.
struct StaffIntegrationController {
    let services: PortalServices
    let renderer: PageRenderer

    func register(on staff: RouterGroup<StaffRequestContext>) {
        let finance = staff.group().add(middleware: RequireRoleMiddleware(needed: .finance))
        finance.get(RouterPath(stringLiteral: SitePath.staffIntegration), use: page)
        finance.post(RouterPath(stringLiteral: SitePath.staffIntegrationReprocess), use: reprocess)
        finance.post(RouterPath(stringLiteral: SitePath.staffIntegrationReprocessAll), use: reprocessAll)
        finance.post(RouterPath(stringLiteral: SitePath.staffIntegrationOutboxRetry("{id}")), use: retry)
        finance.post(RouterPath(stringLiteral: SitePath.staffIntegrationOutboxRetryAll), use: retryAll)
        finance.get(RouterPath(stringLiteral: SitePath.staffReconciliation), use: reconciliation)
        finance.get(RouterPath(stringLiteral: SitePath.staffReconciliationCSV), use: reconciliationCSV)
    }

    @Sendable func page(_ request: Request, context: StaffRequestContext) async throws -> Response {
        try await render(context, notice: nil)
    }

    @Sendable func reprocess(_ request: Request, context: StaffRequestContext) async throws -> Response {
        let entity = context.form.value("entity"), crmId = context.form.value("crm_id")
        return try await act(context) {
            ErrorMessages.reprocessed([try await services.integration.reprocess(entity: entity, crmId: crmId, actor: actor(context))])
        }
    }

    @Sendable func reprocessAll(_ request: Request, context: StaffRequestContext) async throws -> Response {
        try await act(context) {
            let outcomes = try await services.integration.reprocessAll(actor: actor(context))
            return outcomes.isEmpty ? "There were no failed records to reprocess." : ErrorMessages.reprocessed(outcomes)
        }
    }

    @Sendable func retry(_ request: Request, context: StaffRequestContext) async throws -> Response {
        guard let id = context.parameters.get("id").flatMap(Int64.init) else { throw PageError.notFound }
        return try await act(context) {
            try await services.integration.retryOutbox(id: id, actor: actor(context))
            return "Update \(id) will be sent to the CRM on the worker's next round."
        }
    }

    @Sendable func retryAll(_ request: Request, context: StaffRequestContext) async throws -> Response {
        try await act(context) {
            let count = try await services.integration.retryAllOutbox(actor: actor(context))
            return "\(count) update\(count == 1 ? "" : "s") will be sent to the CRM on the worker's next round."
        }
    }

    @Sendable func reconciliation(_ request: Request, context: StaffRequestContext) async throws -> Response {
        let (from, to) = (request.queryText("from"), request.queryText("to"))
        var values: [String: Any?] = ["from": from, "to": to]
        var status = HTTPResponse.Status.ok
        if !from.isEmpty || !to.isEmpty {
            do {
                let report = try await services.reconciliation.report(try ReconciliationRange(from: from, to: to))
                values.merge(IntegrationViewModels.report(report)) { $1 }
            } catch let problem as ReconciliationRange.Problem {
                values["error"] = ErrorMessages.reconciliationRange(problem)
                status = .badRequest
            }
        }
        return renderer.render("staff_reconciliation", StaffPageContext.values(context, title: "Reconciliation", ViewValues.compact(values)),
                               status: status)
    }

    @Sendable func reconciliationCSV(_ request: Request, context: StaffRequestContext) async throws -> Response {
        let range: ReconciliationRange
        do { range = try ReconciliationRange(from: request.queryText("from"), to: request.queryText("to")) } catch {
            throw PageError.badRequest(ErrorMessages.reconciliationRange(error))
        }
        let report = try await services.reconciliation.report(range)
        var response = Response(status: .ok, headers: [.contentType: "text/csv; charset=utf-8"],
                                body: .init(byteBuffer: ByteBuffer(string: ReconciliationService.csv(report))))
        response.headers[.contentDisposition] = "attachment; filename=\"reconciliation-\(range.from.iso)-\(range.to.iso).csv\""
        response.headers[.cacheControl] = "no-store"
        return response
    }

    // MARK: Helpers

    private func actor(_ context: StaffRequestContext) -> AuditEvent { AuditEvent.staffActor(context.staff, client: context.client) }

    private func act(_ context: StaffRequestContext, _ body: () async throws -> String) async throws -> Response {
        do {
            return try await render(context, notice: try await body())
        } catch IntegrationError.notFound {
            return try await render(context, notice: nil, error: ErrorMessages.integration(.notFound), status: .notFound)
        } catch IntegrationError.notPermitted {
            throw PageError(status: .forbidden, message: ErrorMessages.integration(.notPermitted))
        } catch let error as IntegrationError {
            return try await render(context, notice: nil, error: ErrorMessages.integration(error), status: .unprocessableContent)
        }
    }

    private func render(_ context: StaffRequestContext, notice: String?, error: String? = nil,
                        status: HTTPResponse.Status = .ok) async throws -> Response {
        var values = IntegrationViewModels.status(try await services.integration.status(), configured: services.integration.configured)
        values["error"] = error
        var page = StaffPageContext.values(context, title: "Integration", ViewValues.compact(values))
        if let notice { page["flash"] = notice }
        return renderer.render("staff_integration", page, status: status)
    }
}
