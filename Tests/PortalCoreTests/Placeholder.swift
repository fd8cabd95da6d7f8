import Testing
@testable import PortalCore
@Test func placeholder() { #expect(PortalCoreVersion.string == "0.1.0") }
