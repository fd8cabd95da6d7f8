import PortalCore

/// Gateway adapters (sandbox, Stripe, Authorize.Net) arrive with the gateways issue; this module
/// exists now so the dependency graph is fixed from the start.
public enum GatewayKind: String, Sendable, CaseIterable {
    case sandbox
}
