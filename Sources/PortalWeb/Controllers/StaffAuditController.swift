import Foundation
import Hummingbird
import PortalCore

/// `/staff/audit`: the audit trail, filtered by actor, customer, action and time, and as CSV. There
/// is no way to change or delete an entry from here (or anywhere: the table refuses it).
struct StaffAuditController {
    let services: PortalServices
    let renderer: PageRenderer

    func register(on group: RouterGroup<StaffRequestContext>) {
        group.get(RouterPath(stringLiteral: SitePath.staffAudit), use: page)
        group.get(RouterPath(stringLiteral: SitePath.staffAudit + ".csv"), use: csv)
    }

    @Sendable func page(_ request: Request, context: StaffRequestContext) async throws -> Response {
        let (filter, entered) = try Self.filter(request)
        let events = try await services.audit.search(filter)
        let query = request.uri.query ?? ""
        return renderer.render("staff_audit", StaffPageContext.values(context, title: "Audit trail", ViewValues.compact([
            "entered": entered, "csvURL": SitePath.staffAudit + ".csv" + (query.isEmpty ? "" : "?" + query),
            "events": events.map { event in
                ViewValues.compact([
                    "date": PageContext.date(event.occurredAt), "action": event.action, "actor": event.actorLabel,
                    "impersonator": event.impersonatorId, "subject": event.subject.map { "\($0.kind.rawValue) \($0.id)" },
                    "account": event.accountId, "address": event.clientAddress, "outcome": event.outcome.rawValue,
                    "details": event.details.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " "),
                ])
            },
            "none": events.isEmpty,
        ])))
    }

    @Sendable func csv(_ request: Request, context: StaffRequestContext) async throws -> Response {
        let (filter, _) = try Self.filter(request)
        var response = Response(status: .ok, headers: [.contentType: "text/csv; charset=utf-8"],
                                body: .init(byteBuffer: ByteBuffer(string: try await services.audit.csv(filter))))
        response.headers[.contentDisposition] = "attachment; filename=\"audit.csv\""
        response.headers[.cacheControl] = "no-store"
        return response
    }

    /// Dates are whole days in UTC, `to` inclusive as people mean it.
    static func filter(_ request: Request) throws -> (AuditFilter, [String: String]) {
        var filter = AuditFilter(limit: 200)
        var entered: [String: String] = [:]
        for (name, keyPath) in [("actor", \AuditFilter.actor), ("customer", \AuditFilter.customer), ("action", \AuditFilter.action)] {
            let value = request.queryText(name)
            if !value.isEmpty { filter[keyPath: keyPath] = value; entered[name] = value }
        }
        for name in ["from", "to"] where !request.queryText(name).isEmpty {
            guard let day = CalendarDate(iso: request.queryText(name)) else { throw PageError.badRequest("Dates are written YYYY-MM-DD.") }
            entered[name] = day.iso
            let seconds = Int64(day.date.timeIntervalSince1970)
            if name == "from" { filter.from = seconds } else { filter.to = seconds + 86_400 }
        }
        if let page = Int(request.queryText("page")), page > 1 { filter.offset = (min(page, 10_000) - 1) * filter.limit }
        return (filter, entered)
    }
}
