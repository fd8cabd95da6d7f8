import Foundation
import Testing
@testable import PortalCore

@Suite struct MailTemplatesTests {
    func copyOfTemplates() throws -> URL {
        let copy = FileManager.default.temporaryDirectory.appendingPathComponent("mail-templates-\(UUID().uuidString)")
        try FileManager.default.copyItem(at: TestDatabase.repositoryRoot.appendingPathComponent("Templates"), to: copy)
        return copy
    }

    @Test func everyEmailTheServicesSendHasBothBodies() async throws {
        let templates = try await MailTemplates(directory: TestDatabase.templatesDirectory)
        for name in MailTemplates.required {
            let message = try templates.render(name, to: "a@example.com", context: ["link": "https://x", "card": "Visa •••• 4242"])
            #expect(!message.subject.isEmpty && message.htmlBody?.isEmpty == false, "\(name)")
        }
    }

    @Test func aMissingEmailTemplateStopsStartup() async throws {
        let copy = try copyOfTemplates()
        try FileManager.default.removeItem(at: copy.appendingPathComponent("email/mfa_reset.html.mustache"))
        await #expect(throws: MailTemplateError.self) { try await MailTemplates(directory: copy.path) }
    }

    @Test func aBrokenEmailTemplateStopsStartupNamingIt() async throws {
        let copy = try copyOfTemplates()
        try "{{#never}} closed".write(to: copy.appendingPathComponent("email/invite.text.mustache"), atomically: true, encoding: .utf8)
        do {
            _ = try await MailTemplates(directory: copy.path)
            Issue.record("a broken email template was accepted")
        } catch let error as MailTemplateError {
            #expect(error.description.contains("invite.text"))
        }
    }
}
