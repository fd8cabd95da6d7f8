import Foundation
import Hummingbird
import Logging

/// Serves `Public/` for the paths it actually holds (`/css/…`, `/js/…`, `/favicon.svg`), so every
/// other request skips the file-system lookup entirely.
struct StaticFilesMiddleware<Context: RequestContext>: RouterMiddleware {
    let files: FileMiddleware<Context, LocalFileSystem>
    let topLevel: Set<Substring>

    init(directory: String, logger: Logger) {
        files = FileMiddleware(directory, cacheControl: .init([(MediaType(type: .any), [.public, .maxAge(3600)])]), logger: logger)
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        topLevel = Set(entries.filter { !$0.hasPrefix(".") }.map { Substring($0) })
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard request.method == .get || request.method == .head,
              let first = request.uri.path.split(separator: "/", maxSplits: 1).first, topLevel.contains(first) else {
            return try await next(request, context)
        }
        return try await files.handle(request, context: context, next: next)
    }
}
