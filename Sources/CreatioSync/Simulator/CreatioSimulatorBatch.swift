import Foundation
import Gateways

extension CreatioSimulator {
    /// An OData 4 JSON `$batch`: at most 100 sub-requests, each answered on its own with its id.
    /// Without `Prefer: continue-on-error` the sub-requests after the first failure are skipped and
    /// left out of the answer, as Creatio does.
    func batch(_ body: [UInt8], continueOnError: Bool) -> Answer {
        batchRequests += 1
        guard let request = try? OrderedJSON.parse(body), case .array(let requests)? = request["requests"] else {
            return .odataError(400, "The batch request body is not valid JSON.")
        }
        guard requests.count <= CreatioClient.batchLimit else {
            return .odataError(400, "The batch request contains more than \(CreatioClient.batchLimit) operations.")
        }
        var responses: [OrderedJSON] = []
        for sub in requests {
            let id = sub["id"]?.text ?? String(responses.count + 1)
            guard let method = sub["method"]?.text?.uppercased(), let url = sub["url"]?.text else {
                responses.append(Self.subResponse(id, .odataError(400, "A batch operation needs a method and a url.")))
                if !continueOnError { break }
                continue
            }
            let (path, query) = Self.subRequestPath(url)
            let answer = dispatch(method: method, path: path, query: query, body: sub["body"]?.serialized() ?? [])
            responses.append(Self.subResponse(id, answer))
            if answer.status >= 400 && !continueOnError { break }
        }
        return .json(200, ["responses": .array(responses)])
    }

    static func subResponse(_ id: String, _ answer: Answer) -> OrderedJSON {
        var members: [OrderedJSON.Member] = [.init(key: "id", value: .string(id)), .init(key: "status", value: .number(String(answer.status))),
                                             .init(key: "headers", value: ["odata-version": "4.0"])]
        if !answer.body.isEmpty, let body = try? OrderedJSON.parse(answer.body) { members.append(.init(key: "body", value: body)) }
        return .object(members)
    }

    /// "Invoice(<id>)", "Invoice/<id>" or either under ".../0/odata/", with any query split off.
    static func subRequestPath(_ url: String) -> (String, [String: String]) {
        var text = url
        for root in ["/0/odata/", "/odata/"] {
            if let range = text.range(of: root) { text = String(text[range.upperBound...]) }
        }
        if text.hasPrefix("/") { text.removeFirst() }
        var query: [String: String] = [:]
        if let mark = text.firstIndex(of: "?") {
            for pair in text[text.index(after: mark)...].split(separator: "&") {
                let parts = pair.split(separator: "=", maxSplits: 1).map { String($0).removingPercentEncoding ?? String($0) }
                if parts.count == 2 { query[parts[0]] = parts[1] }
            }
            text = String(text[..<mark])
        }
        let parts = text.split(separator: "/", maxSplits: 1).map(String.init)
        if parts.count == 2, !parts[0].contains("(") { text = "\(parts[0])(\(parts[1]))" }
        return (text, query)
    }
}
