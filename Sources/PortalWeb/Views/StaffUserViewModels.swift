import PortalCore

/// The staff-users page's rows and role choices. The invitation itself is only ever described
/// ("sent, valid until …"): its link carries a secret meant for the invitee's inbox alone.
enum StaffUserViewModels {
    static func row(_ member: StaffMember, viewer: StaffUser) -> [String: Any] {
        let user = member.user
        let isSelf = user.id == viewer.id
        var invitation: String?
        if user.status == .invited {
            invitation = member.invitationExpiresAt.map { "Invitation sent, link valid until \(PageContext.date($0))" }
                ?? "Invitation link expired or used; send a new one"
        }
        return ViewValues.compact([
            "id": user.id, "email": user.email, "name": user.name, "role": user.role.rawValue, "status": user.status.rawValue,
            "mfa": member.mfaEnrolled ? "Yes" : "No",
            "lastSignIn": member.lastSignInAt.map(PageContext.date) ?? "Never",
            "invitation": invitation, "isSelf": isSelf,
            "roles": roles(selected: user.role), "roleAction": SitePath.staffUserRole(user.id),
            // Disabling yourself is refused by the service; no button offers it.
            "disableAction": user.status != .disabled && !isSelf ? SitePath.staffUserDisable(user.id) : nil,
            "enableAction": user.status == .disabled ? SitePath.staffUserEnable(user.id) : nil,
            "resendAction": user.status == .invited ? SitePath.staffUserResend(user.id) : nil,
        ])
    }

    static func roles(selected: StaffRole) -> [[String: Any]] {
        StaffRole.allCases.map { ["value": $0.rawValue, "label": $0.rawValue, "selected": $0 == selected] }
    }
}
