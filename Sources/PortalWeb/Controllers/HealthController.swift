import GRDB
import Hummingbird
import PortalCore

/// `/healthz`: 200 when the database answers, 503 otherwise. Also the benchmark baseline.
struct HealthController {
    let database: any DatabaseReader

    func register(on router: Router<PortalRequestContext>) {
        router.get(RouterPath(stringLiteral: SitePath.healthz), use: health)
    }

    @Sendable func health(_ request: Request, context: PortalRequestContext) async throws -> Response {
        let healthy = await PortalDatabase.isHealthy(database)
        var response = Response(status: healthy ? .ok : .serviceUnavailable, headers: [.contentType: "application/json"],
                                body: .init(byteBuffer: ByteBuffer(string: healthy ? #"{"status":"ok"}"# : #"{"status":"unavailable"}"#)))
        response.headers[.cacheControl] = "no-store"
        return response
    }
}
