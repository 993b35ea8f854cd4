import Foundation

/// JSON batching (`POST /$batch`).
extension EmulatorState {
    mutating func batch(_ request: EmulatorRequest, app: String, context: CallContext) -> EmulatorResponse {
        guard let document = JSON.parse(request.body), let requests = document["requests"]?.arrayValue else {
            return error(400, "BadRequest", "Invalid batch payload format.", context: context)
        }
        if requests.count > 20 {
            return error(400, "BadRequest", "Number of requests exceeds the maximum of 20.", context: context)
        }
        var seen = Set<String>()
        var statuses: [String: Int] = [:]
        var responses: [JSON] = []
        for item in requests {
            guard let id = item["id"]?.stringValue ?? item["id"]?.doubleValue.map({ String(Int($0)) }),
                  let method = item["method"]?.stringValue, let url = item["url"]?.stringValue else {
                return error(400, "BadRequest", "Each batch request needs an id, a method and a url.", context: context)
            }
            guard seen.insert(id).inserted else {
                return error(400, "BadRequest", "Batch request ids must be unique ('\(id)' is repeated).", context: context)
            }
            let dependsOn = (item["dependsOn"]?.arrayValue ?? []).compactMap(\.stringValue)
            var itemContext = CallContext(requestId: UUID().uuidString.lowercased(), clientRequestId: nil, now: clock())
            var headers: [String: String] = [:]
            if case .object(let pairs)? = item["headers"] {
                for (k, v) in pairs { if let s = v.stringValue { headers[k.lowercased()] = s } }
            }
            itemContext.clientRequestId = headers["client-request-id"]
            let (path, query) = splitURL(url)
            let segments = path.split(separator: "/").map { String($0).removingPercentEncoding ?? String($0) }
                .drop(while: { $0 == "v1.0" })
            var response: EmulatorResponse
            var user: String?
            if let failed = dependsOn.first(where: { (statuses[$0] ?? 424) >= 400 }) {
                response = error(424, "FailedDependency", "The request depends on request '\(failed)', which failed.", context: itemContext)
            } else {
                let body = item["body"].map { $0.serialized() } ?? []
                let result = call(method: method.uppercased(), segments: Array(segments), query: query, headers: headers,
                                  body: body, app: app, context: itemContext)
                response = result.response
                user = result.user
            }
            statuses[id] = response.status
            record(request, segments: [], status: response.status, user: user, context: itemContext,
                   batchId: context.requestId, method: method.uppercased(), path: "/v1.0/" + segments.joined(separator: "/"))
            response = finish(response, context: itemContext)
            var itemPairs: [(String, JSON)] = [("id", .string(id)), ("status", .int(response.status))]
            itemPairs.append(("headers", .object(response.headers.map { ($0.0, .string($0.1)) })))
            if !response.body.isEmpty, let body = JSON.parse(response.body) { itemPairs.append(("body", body)) }
            responses.append(.object(itemPairs))
        }
        return json(200, .object([("responses", .array(responses))]))
    }

    func splitURL(_ url: String) -> (String, String) {
        var text = url
        if let range = text.range(of: "://") {
            let afterScheme = text[range.upperBound...]
            text = afterScheme.firstIndex(of: "/").map { String(afterScheme[$0...]) } ?? "/"
        }
        if let q = text.firstIndex(of: "?") { return (String(text[..<q]), String(text[text.index(after: q)...])) }
        return (text, "")
    }
}
