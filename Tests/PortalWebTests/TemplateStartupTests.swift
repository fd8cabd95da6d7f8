import Foundation
import Testing
@testable import PortalWeb

/// A broken or missing template stops startup instead of failing on a customer's request.
@Suite struct TemplateStartupTests {
    /// A copy of the real templates, to break one at a time.
    func copyOfTemplates() throws -> URL {
        let copy = FileManager.default.temporaryDirectory.appendingPathComponent("templates-\(UUID().uuidString)")
        try FileManager.default.copyItem(at: repositoryRoot.appendingPathComponent("Templates"), to: copy)
        return copy
    }

    @Test func theShippedTemplatesLoad() async throws {
        _ = try await PageRenderer(directory: repositoryRoot.appendingPathComponent("Templates").path)
    }

    @Test func aTemplateThatDoesNotParseStopsStartupNamingIt() async throws {
        let copy = try copyOfTemplates()
        try "{{#open}} never closed".write(to: copy.appendingPathComponent("login.mustache"), atomically: true, encoding: .utf8)
        do {
            _ = try await PageRenderer(directory: copy.path)
            Issue.record("a broken template was accepted")
        } catch let error as TemplateError {
            #expect(error.description.contains("login.mustache"))
        }
    }

    @Test func aMissingTemplateStopsStartupNamingIt() async throws {
        let copy = try copyOfTemplates()
        try FileManager.default.removeItem(at: copy.appendingPathComponent("invoice.mustache"))
        do {
            _ = try await PageRenderer(directory: copy.path)
            Issue.record("a missing template was accepted")
        } catch let error as TemplateError {
            #expect(error.description.contains("invoice.mustache"))
        }
    }

    @Test func escapingMatchesMustacheForEveryHTMLSpecialCharacter() {
        #expect(PortalHTMLContentType.escape("plain Łódź text") == "plain Łódź text")
        #expect(PortalHTMLContentType.escape("<a href=\"x\" title='y'>&</a>") == "&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;")
        #expect(PortalHTMLContentType.escape("") == "")
    }
}
