/// Who a session or an audit event belongs to. Customers and staff live in separate tables and
/// never share a session.
public enum PrincipalKind: String, Sendable, Codable, CaseIterable {
    case customer
    case staff

    var userTable: String {
        switch self {
        case .customer: "customer_users"
        case .staff: "staff_users"
        }
    }
}

public struct PrincipalRef: Sendable, Hashable, Codable {
    public var kind: PrincipalKind
    public var id: String

    public init(kind: PrincipalKind, id: String) {
        self.kind = kind
        self.id = id
    }

    public static func customer(_ id: String) -> Self { .init(kind: .customer, id: id) }
    public static func staff(_ id: String) -> Self { .init(kind: .staff, id: id) }
}

public enum UserStatus: String, Sendable, Codable {
    case invited
    case active
    case disabled
}

public enum StaffRole: String, Sendable, Codable, CaseIterable {
    case support
    case finance
    case admin

    /// Roles build on each other: finance can do what support can, admin what finance can.
    public func includes(_ needed: StaffRole) -> Bool {
        let order: [StaffRole] = [.support, .finance, .admin]
        return order.firstIndex(of: self)! >= order.firstIndex(of: needed)!
    }
}

/// The sign-in view of a user, customer or staff.
public struct UserCredential: Sendable, Equatable {
    public var principal: PrincipalRef
    public var email: String
    public var name: String
    public var passwordHash: String?
    public var status: UserStatus
    public var lastSignInAt: Int64?
}

public struct CustomerUser: Sendable, Equatable {
    public var id: String
    public var email: String
    public var name: String
    public var status: UserStatus
    public var lastSignInAt: Int64?
}

public struct StaffUser: Sendable, Equatable {
    public var id: String
    public var email: String
    public var name: String
    public var role: StaffRole
    public var status: UserStatus
}

public struct Account: Sendable, Equatable {
    public var id: String
    public var externalId: String?
    public var name: String
    public var status: String
}

/// Client details kept with sessions and audit events.
public struct ClientInfo: Sendable, Equatable {
    public var address: String
    public var userAgent: String

    public init(address: String, userAgent: String = "") {
        self.address = address
        self.userAgent = String(userAgent.prefix(300))
    }

    public static let system = ClientInfo(address: "cli")
}

public func normalizeEmail(_ email: String) -> String {
    email.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
}

import Foundation
