import Foundation
import HTTPTypes
import Hummingbird
import Logging
import ServiceLifecycle

extension CreatioSimulator {
    /// The simulator's routes: AuthService login, the login page, the Identity Service token endpoint
    /// and OData 4 under both `0/odata` and `odata`.
    public nonisolated func router() -> Router<BasicRequestContext> {
        let simulator = self
        let router = Router()
        router.post("ServiceModel/AuthService.svc/Login") { request, _ -> Response in
            try await simulator.pause()
            return await Self.response(simulator.login(try await Self.body(request)))
        }
        router.get("Login/Login.html") { _, _ -> Response in
            Self.response(Answer(status: 200, headers: [("Content-Type", "text/html; charset=utf-8")],
                                 body: Array("<!DOCTYPE html><html><head><script src=\"/Login/bootstrap.login.js\"></script></head><body>Sign in</body></html>".utf8)))
        }
        router.post("connect/token") { request, _ -> Response in
            try await simulator.pause()
            return await Self.response(simulator.token(try await Self.body(request)))
        }
        for prefix in ["0/odata", "odata"] {
            for method in [HTTPRequest.Method.get, .post, .patch, .delete] {
                router.on(RouterPath("\(prefix)/:entity"), method: method) { request, context -> Response in
                    try await simulator.pause()
                    var query: [String: String] = [:]
                    for (key, value) in request.uri.queryParameters { query[String(key)] = String(value) }
                    let answer = await simulator.odata(
                        method: request.method.rawValue, path: context.parameters.get("entity") ?? "", query: query,
                        body: try await Self.body(request), cookie: request.headers[.cookie],
                        csrf: request.headers[HTTPField.Name("BPMCSRF")!], authorization: request.headers[.authorization],
                        prefer: request.headers[HTTPField.Name("Prefer")!])
                    return Self.response(answer)
                }
            }
        }
        router.get("/") { _, _ -> Response in
            Self.response(Answer(status: 200, headers: [("Content-Type", "text/html; charset=utf-8")], body: Array(await simulator.overviewPage().utf8)))
        }
        return router
    }

    /// The simulator as a service on a fixed address (`portal demo`, `portal creatio-simulator`).
    public nonisolated func application(host: String, port: Int, logger: Logger) -> some Service {
        Application(router: router(), configuration: .init(address: .hostname(host, port: port)), logger: logger)
    }

    /// Runs the simulator on a free loopback port for the length of `body`, which gets its base URL.
    public static func run<T: Sendable>(_ simulator: CreatioSimulator, _ body: @Sendable (URL) async throws -> T) async throws -> T {
        var logger = Logger(label: "creatio-simulator")
        logger.logLevel = .error
        let (ports, continuation) = AsyncStream<Int>.makeStream()
        let app = Application(router: simulator.router(), configuration: .init(address: .hostname("127.0.0.1", port: 0)),
                              onServerRunning: { channel in
                                  continuation.yield(channel.localAddress?.port ?? 0)
                                  continuation.finish()
                              }, logger: logger)
        // Stopped by a graceful shutdown, not by cancellation, so open connections close cleanly.
        let services = ServiceGroup(configuration: .init(services: [app], logger: logger))
        return try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask {
                try await services.run()
                return nil
            }
            var iterator = ports.makeAsyncIterator()
            guard let port = await iterator.next(), port > 0 else {
                await services.triggerGracefulShutdown()
                throw CreatioError.unavailable("the simulator did not start")
            }
            do {
                let result = try await body(URL(string: "http://127.0.0.1:\(port)")!)
                await services.triggerGracefulShutdown()
                return result
            } catch {
                await services.triggerGracefulShutdown()
                throw error
            }
        }
    }

    static func body(_ request: Request) async throws -> [UInt8] {
        var request = request
        return Array(try await request.collectBody(upTo: 8 << 20).readableBytesView)
    }

    static func response(_ answer: Answer) -> Response {
        var headers = HTTPFields()
        for (name, value) in answer.headers { headers.append(HTTPField(name: HTTPField.Name(name)!, value: value)) }
        return Response(status: .init(code: answer.status), headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: answer.body)))
    }
}
