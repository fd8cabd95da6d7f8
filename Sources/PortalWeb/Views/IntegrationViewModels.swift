import PortalCore

/// Plain values for the integration and reconciliation templates.
enum IntegrationViewModels {
    static func status(_ status: IntegrationStatus, configured: Bool) -> [String: Any?] {
        [
            "configured": configured,
            "pulls": status.pulls.map { pull in
                ViewValues.compact([
                    "entity": pull.entity, "lastPull": pull.lastPullAt.map(PageContext.date) ?? "never",
                    "lag": pull.lagSeconds.map(duration), "pulled": String(pull.pulled), "failed": String(pull.failed),
                    "open": String(pull.openFailures),
                ])
            },
            "pushes": status.pushes.map { push in
                ViewValues.compact([
                    "topic": push.topic, "lastDelivered": push.lastDeliveredAt.map(PageContext.date) ?? "never",
                    "delivered": String(push.delivered), "pending": String(push.pending), "dead": String(push.dead),
                    "oldest": push.oldestPendingSeconds.map(duration),
                ])
            },
            "syncLag": status.syncLagSeconds.map(duration) ?? "never pulled",
            "openFailures": String(status.openFailureCount),
            "pendingCount": String(status.pendingCount), "deadCount": String(status.deadCount),
            "oldestPending": status.oldestPendingSeconds.map(duration),
            "failures": status.failures.map { failure in
                ["entity": failure.entity, "crmId": failure.crmId, "error": failure.error, "attempts": String(failure.attempts),
                 "firstSeen": PageContext.date(failure.firstSeenAt), "lastSeen": PageContext.date(failure.lastSeenAt)]
            },
            "hasFailures": !status.failures.isEmpty,
            "outbox": status.outbox.map { row in
                ViewValues.compact([
                    "id": String(row.id), "topic": row.topic, "status": row.status, "dead": row.status == "dead", "invoice": row.invoiceNumber,
                    "attempts": String(row.attempts), "created": PageContext.date(row.createdAt), "age": duration(status.now - row.createdAt),
                    "next": row.status == "pending" ? PageContext.date(row.nextAttemptAt) : nil, "lastError": row.lastError,
                    "retryAction": SitePath.staffIntegrationOutboxRetry(String(row.id)),
                ])
            },
            "hasOutbox": !status.outbox.isEmpty,
            "reprocessAction": SitePath.staffIntegrationReprocess, "reprocessAllAction": SitePath.staffIntegrationReprocessAll,
            "retryAllAction": SitePath.staffIntegrationOutboxRetryAll, "reconciliationURL": SitePath.staffReconciliation,
        ]
    }

    static func report(_ report: ReconciliationReport) -> [String: Any?] {
        let query = "?from=\(report.range.from.iso)&to=\(report.range.to.iso)"
        return [
            "report": true, "paymentsChecked": String(report.paymentsChecked), "invoicesChecked": String(report.invoicesChecked),
            "mismatchCount": String(report.mismatches.count), "clean": report.mismatches.isEmpty,
            "mismatches": report.mismatches.map { m in
                ViewValues.compact(["kind": m.kind.rawValue, "side": m.side.rawValue, "payment": m.paymentId, "invoice": m.invoiceNumber,
                                    "portal": m.portal, "other": m.other, "detail": m.detail])
            },
            "notes": report.notes, "csvURL": SitePath.staffReconciliationCSV + query,
        ]
    }

    /// "3 min", "2 h 5 min", "4 d 1 h": lags are read at a glance, not to the second.
    static func duration(_ seconds: Int64) -> String {
        let s = max(0, seconds)
        if s < 60 { return "\(s) s" }
        if s < 3600 { return "\(s / 60) min" }
        if s < 86_400 { return "\(s / 3600) h \(s % 3600 / 60) min" }
        return "\(s / 86_400) d \(s % 86_400 / 3600) h"
    }
}
