import Foundation
import GRDB
import Testing
@testable import PortalCore

@Suite struct AuditSearchTests {
    /// Six events a minute apart, by two staff members and a customer, about two customers and an account.
    struct Trail {
        let t: TestServices
        let start: Int64
        var audit: AuditService { t.services.audit }

        init() async throws {
            t = try await TestServices()
            start = t.clock.clock.nowSeconds()
            let events = [
                AuditEvent(action: "user.lock", actorKind: .staff, actorId: "stf_sue", actorLabel: "sue@staff.test",
                           subject: .customer("usr_alice"), details: ["reason": "fraud"]),
                AuditEvent(action: "payment.refund", actorKind: .staff, actorId: "stf_fin", actorLabel: "fin@staff.test",
                           accountId: "acc_acme", details: ["amount": "10.00"]),
                AuditEvent(action: "payment.void", actorKind: .staff, actorId: "stf_fin", actorLabel: "fin@staff.test",
                           accountId: "acc_globex"),
                AuditEvent(action: "payment", actorKind: .system, actorLabel: "worker"),
                AuditEvent(action: "autopay.enroll", actorKind: .customer, actorId: "usr_bob", actorLabel: "bob@example.com",
                           impersonatorId: "stf_sue", subject: .customer("usr_bob"), accountId: "acc_acme"),
                AuditEvent(action: "sign_in.password", actorKind: .anonymous, actorLabel: "100%_sure@example.com",
                           subject: .customer("usr_alice"), outcome: .failure),
            ]
            for event in events {
                try await t.services.audit.record(event)
                t.clock.advance(by: 60)
            }
        }

        func actions(_ filter: AuditFilter) async throws -> [String] {
            try await audit.search(filter).map(\.action)
        }
    }

    @Test func everythingNewestFirst() async throws {
        let trail = try await Trail()
        #expect(try await trail.actions(AuditFilter()) == ["sign_in.password", "autopay.enroll", "payment", "payment.void",
                                                            "payment.refund", "user.lock"])
        let first = try #require(try await trail.audit.search(AuditFilter()).last)
        #expect(first.occurredAt == trail.start && first.details == ["reason": "fraud"] && first.actorId == "stf_sue")
    }

    @Test func byActorIdLabelOrImpersonator() async throws {
        let trail = try await Trail()
        #expect(try await trail.actions(AuditFilter(actor: "stf_fin")) == ["payment.void", "payment.refund"])
        #expect(try await trail.actions(AuditFilter(actor: "FIN@staff")) == ["payment.void", "payment.refund"])
        // What Sue did as herself, and what she did while impersonating Bob.
        #expect(try await trail.actions(AuditFilter(actor: "stf_sue")) == ["autopay.enroll", "user.lock"])
        // Wildcard characters in the text are literal: "%" finds only the label that has one.
        #expect(try await trail.actions(AuditFilter(actor: "%")) == ["sign_in.password"])
        #expect(try await trail.actions(AuditFilter(actor: "0%_s")) == ["sign_in.password"])
        #expect(try await trail.actions(AuditFilter(actor: "  ")).count == 6)
    }

    @Test func byCustomerSubjectOrAccount() async throws {
        let trail = try await Trail()
        #expect(try await trail.actions(AuditFilter(customer: "usr_alice")) == ["sign_in.password", "user.lock"])
        #expect(try await trail.actions(AuditFilter(customer: "acc_acme")) == ["autopay.enroll", "payment.refund"])
        #expect(try await trail.actions(AuditFilter(customer: "usr_nobody")).isEmpty)
    }

    @Test func byExactActionOrFamily() async throws {
        let trail = try await Trail()
        #expect(try await trail.actions(AuditFilter(action: "payment.refund")) == ["payment.refund"])
        #expect(try await trail.actions(AuditFilter(action: "payment")) == ["payment"])
        #expect(try await trail.actions(AuditFilter(action: "payment.")) == ["payment.void", "payment.refund"])
        #expect(try await trail.actions(AuditFilter(action: "payment.*")) == ["payment.void", "payment.refund"])
        #expect(try await trail.actions(AuditFilter(action: "pay")).isEmpty)
        #expect(try await trail.actions(AuditFilter(action: "PAYMENT.")).isEmpty)
    }

    @Test func byTimeFromIncludedToExcluded() async throws {
        let trail = try await Trail()
        let s = trail.start
        #expect(try await trail.actions(AuditFilter(from: s + 60, to: s + 180)) == ["payment.void", "payment.refund"])
        #expect(try await trail.actions(AuditFilter(from: s + 300)) == ["sign_in.password"])
        #expect(try await trail.actions(AuditFilter(to: s + 1)) == ["user.lock"])
    }

    @Test func filtersCombine() async throws {
        let trail = try await Trail()
        #expect(try await trail.actions(AuditFilter(actor: "stf_fin", customer: "acc_acme", action: "payment.")) == ["payment.refund"])
        #expect(try await trail.actions(AuditFilter(actor: "stf_fin", from: trail.start + 120)) == ["payment.void"])
    }

    @Test func pagesByOffsetOrByTheLastIdSeen() async throws {
        let trail = try await Trail()
        let page1 = try await trail.audit.search(AuditFilter(limit: 2))
        #expect(page1.map(\.action) == ["sign_in.password", "autopay.enroll"])
        #expect(try await trail.actions(AuditFilter(limit: 2, offset: 2)) == ["payment", "payment.void"])
        let last = try #require(page1.last)
        #expect(try await trail.actions(AuditFilter(limit: 2, beforeId: last.id)) == ["payment", "payment.void"])
        // A new event does not shift a cursor page, as it shifts an offset page.
        try await trail.audit.record(AuditEvent(action: "late.event", actorKind: .system))
        #expect(try await trail.actions(AuditFilter(limit: 2, beforeId: last.id)) == ["payment", "payment.void"])
        #expect(try await trail.actions(AuditFilter(limit: 2, offset: 2)) == ["autopay.enroll", "payment"])
        #expect(try await trail.audit.search(AuditFilter(limit: 0)).count == 1)
        #expect(try await trail.audit.search(AuditFilter(limit: 100_000)).count == 7)
    }

    @Test func csvIsTheWholeFilteredTrailWithCellsSafeForSpreadsheets() async throws {
        let t = try await TestServices()
        try await t.services.audit.record(AuditEvent(
            action: "user.lock", actorKind: .staff, actorId: "stf_1", actorLabel: "=HYPERLINK(\"http://evil\",\"x\")",
            subject: .customer("usr_1"), accountId: "acc_1", clientAddress: "10.0.0.1",
            details: ["reason": "said \"hi\", left\nthen", "note": "@SUM(A1)"]))
        try await t.services.audit.record(AuditEvent(action: "user.unlock", actorKind: .staff, actorId: "stf_1", actorLabel: "-1+2"))
        try await t.services.audit.record(AuditEvent(action: "other", actorKind: .system, actorLabel: "+cmd"))

        let csv = try await t.services.audit.csv(AuditFilter(actor: "stf_1", limit: 1))

        let lines = csv.components(separatedBy: "\r\n")
        #expect(lines.first == "Event,Time (UTC),Action,Outcome,Actor kind,Actor id,Actor,Impersonator id,Subject kind,Subject id,Account id,Client address,Details")
        #expect(csv.hasSuffix("\r\n"))
        #expect(lines[1] == "2,2027-01-15T08:00:00Z,user.unlock,success,staff,stf_1,'-1+2,,,,,,{}")
        #expect(lines[2].hasPrefix("1,2027-01-15T08:00:00Z,user.lock,success,staff,stf_1,\"'=HYPERLINK(\"\"http://evil\"\",\"\"x\"\")\",,customer,usr_1,acc_1,10.0.0.1,"))
        // The details are JSON (its line breaks escaped) in one quoted cell, quotes doubled.
        #expect(csv.contains(#""{""note"":""@SUM(A1)"",""reason"":""said \""hi\"", left\nthen""}""#))
        #expect(!csv.contains("+cmd"))
    }

    @Test func theTrailCannotBeChangedOrDeleted() async throws {
        let t = try await TestServices()
        try await t.services.audit.record(AuditEvent(action: "user.lock", actorKind: .staff, actorId: "stf_1", details: ["reason": "x"]))
        for sql in ["UPDATE audit_events SET details = '{}'", "UPDATE audit_events SET action = 'nothing' WHERE id = 1",
                    "DELETE FROM audit_events", "DELETE FROM audit_events WHERE id = 1"] {
            do {
                try await t.database.pool.write { db in try db.execute(sql: sql) }
                Issue.record("\(sql) succeeded")
            } catch let error as DatabaseError {
                #expect(error.message?.contains("append-only") == true, "\(sql): \(error)")
            }
        }
        let events = try await t.services.audit.search(AuditFilter())
        #expect(events.map(\.action) == ["user.lock"] && events.first?.details == ["reason": "x"])
    }

    @Test func anActionFamilyEndsBeforeTheNextPrefix() {
        #expect(AuditFilter.upperBound(ofPrefix: "payment.") == "payment/")
        #expect(AuditFilter.upperBound(ofPrefix: "a") == "b")
    }
}
