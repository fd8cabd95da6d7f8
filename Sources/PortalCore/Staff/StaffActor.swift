import Foundation
import GRDB

extension AuditEvent {
    /// The actor of a staff console action: who did it and from where. The service fills in the
    /// action, the subject and the details.
    public static func staffActor(_ member: StaffUser, client: ClientInfo) -> AuditEvent {
        AuditEvent(action: "", actorKind: .staff, actorId: member.id, actorLabel: member.email, clientAddress: client.address)
    }
}

/// Who may change things from the staff console. The web layer checks the role before it shows a
/// page; the services check again against the table, inside the transaction that makes the change,
/// so a member disabled or demoted a moment ago can no longer act.
enum StaffPermission {
    /// The active staff member an actor event names, if their role passes `allowed`.
    static func holder(of actor: AuditEvent, allowed: (StaffRole) -> Bool, _ db: Database) throws -> StaffUser? {
        guard actor.actorKind == .staff, let id = actor.actorId,
              let member = try Row.fetchOne(db, sql: "SELECT * FROM staff_users WHERE id = ?", arguments: [id]).map(StaffUser.init(row:)),
              member.status == .active, allowed(member.role) else { return nil }
        return member
    }

    /// What a staff member writes as a reason, bounded like the refund form's.
    static func reason(_ text: String) -> String? {
        let reason = text.trimmingCharacters(in: .whitespacesAndNewlines)
        return reason.isEmpty ? nil : String(reason.prefix(500))
    }
}
