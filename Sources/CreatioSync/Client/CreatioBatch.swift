import Foundation
import Gateways

/// One sub-request of an OData 4 JSON `$batch`, and what Creatio answered to it.
package struct BatchRequest: Sendable, Equatable {
    package var id: String
    package var method: String
    /// Relative to the OData root, e.g. `Invoice(<guid>)`.
    package var url: String
    package var body: OrderedJSON?

    package init(id: String, method: String, url: String, body: OrderedJSON?) {
        self.id = id
        self.method = method
        self.url = url
        self.body = body
    }
}

extension CreatioClient {
    /// Creatio accepts at most this many sub-requests in one `$batch`.
    public static let batchLimit = 100

    /// Sends up to `batchLimit` sub-requests in one `$batch` (OData 4 only). Every sub-request is
    /// answered on its own, by id. A
    /// sub-request missing from the answer (Creatio skipping the rest after an error) is reported
    /// as unanswered, so its caller tries it again. The whole call throws only when the batch
    /// itself failed (no connection, a 5xx, a refused session).
    package func batch(_ requests: [BatchRequest]) async throws -> [String: Result<Void, CreatioError>] {
        precondition(requests.count <= Self.batchLimit, "at most \(Self.batchLimit) sub-requests per $batch")
        guard !requests.isEmpty else { return [:] }
        let body: OrderedJSON = ["requests": .array(requests.map { request in
            var members: [OrderedJSON.Member] = [.init(key: "method", value: .string(request.method)), .init(key: "url", value: .string(request.url)),
                                                 .init(key: "id", value: .string(request.id)),
                                                 .init(key: "headers", value: ["Content-Type": "application/json;IEEE754Compatible=true"])]
            if let body = request.body { members.append(.init(key: "body", value: body)) }
            return .object(members)
        })]
        // Without continue-on-error Creatio stops at the first failed sub-request and skips the rest.
        let (_, data) = try await send("POST", odataURL("$batch"), body: body.serialized(),
                                       headers: ["Content-Type": "application/json", "Prefer": "continue-on-error"])
        guard case .array(let responses)? = try Self.parse(data)["responses"] else {
            throw CreatioError.invalidResponse("no \"responses\" array in the $batch answer")
        }
        var results: [String: Result<Void, CreatioError>] = [:]
        for response in responses {
            guard let id = response["id"]?.text, let status = response["status"]?.text.flatMap(Int.init) else { continue }
            if (200..<300).contains(status) {
                results[id] = .success(())
            } else {
                let detail = response["body"].map { Data($0.serialized()) } ?? Data()
                results[id] = .failure(Self.error(status: status, detail))
            }
        }
        for request in requests where results[request.id] == nil {
            results[request.id] = .failure(.unavailable("Creatio did not answer this sub-request of the $batch"))
        }
        return results
    }
}
