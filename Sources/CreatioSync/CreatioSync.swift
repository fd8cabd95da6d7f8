import PortalCore

/// The Creatio client and sync jobs arrive with the Creatio issue; this module exists now so the
/// dependency graph is fixed from the start.
public enum CreatioSyncModule {
    public static let name = "CreatioSync"
}
