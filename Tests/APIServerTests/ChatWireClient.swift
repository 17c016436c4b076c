@testable import APIServer
import Domain
import Foundation
import TestSupport
import XCTest

/// A client of `/v1/chat/completions` that reads OpenAI's wire format the way OpenAI's SDKs
/// do: the JSON completion, the `data:` lines of a stream up to `[DONE]`, and the error envelope.
struct ChatWireClient {
    let port: Int
    let token: String

    struct Completion {
        let status: Int
        let headers: [String: String]
        let json: [String: Any]
        let text: String

        var content: String? {
            ((json["choices"] as? [[String: Any]])?.first?["message"] as? [String: Any])?["content"] as? String
        }
        var errorCode: String? { (json["error"] as? [String: Any])?["code"] as? String }
        var errorMessage: String? { (json["error"] as? [String: Any])?["message"] as? String }
        var costHeader: Money? { headers["x-cost-usd"].flatMap { try? Money(parsing: $0) } }
        var generationID: String? { headers["x-generation-id"] }
    }

    struct Stream {
        let status: Int
        let headers: [String: String]
        /// Each `data:` payload before `[DONE]`, parsed.
        let chunks: [[String: Any]]
        let sawDone: Bool
        let raw: String

        /// The deltas' text joined, as an SDK's stream consumer builds it.
        var content: String {
            chunks.compactMap { chunk in
                ((chunk["choices"] as? [[String: Any]])?.first?["delta"] as? [String: Any])?["content"] as? String
            }.joined()
        }
        var usage: [String: Any]? { chunks.last?["usage"] as? [String: Any] }
    }

    static func body(model: String = "gpt-4o-mini", content: String = "Say hello in five words.", maxTokens: Int? = 16,
                     stream: Bool = false, includeUsage: Bool? = nil) -> [String: Any] {
        var body: [String: Any] = ["model": model,
                                   "messages": [["role": "system", "content": "You are a terse assistant."],
                                                ["role": "user", "content": content]]]
        if let maxTokens { body["max_tokens"] = maxTokens }
        if stream { body["stream"] = true }
        if let includeUsage { body["stream_options"] = ["include_usage": includeUsage] }
        return body
    }

    func send(_ body: [String: Any], headers: [String: String] = [:]) throws -> HTTPTestConnection.Response {
        try send(raw: try JSONSerialization.data(withJSONObject: body), headers: headers)
    }

    func send(raw: Data, headers: [String: String] = [:]) throws -> HTTPTestConnection.Response {
        var all = ["Content-Type": "application/json", "Authorization": "Bearer \(token)"]
        for (name, value) in headers { all[name] = value }
        return try HTTPTestConnection(port: port, timeoutSeconds: 120).request("POST", "/v1/chat/completions", headers: all, body: raw)
    }

    func complete(_ body: [String: Any], headers: [String: String] = [:]) throws -> Completion {
        let response = try send(body, headers: headers)
        let json = (try? JSONSerialization.jsonObject(with: response.body) as? [String: Any]) ?? [:]
        return Completion(status: response.status, headers: response.headers, json: json, text: response.text)
    }

    /// The whole stream, read event by event (chunked) up to the body's end.
    func stream(_ body: [String: Any], headers: [String: String] = [:]) throws -> Stream {
        let reader = try ChatStreamReader(port: port, token: token, body: body, headers: headers, timeoutSeconds: 120)
        guard reader.status == 200 else {
            return Stream(status: reader.status, headers: reader.headers, chunks: [], sawDone: false,
                          raw: String(decoding: reader.plainBody, as: UTF8.self))
        }
        return try Self.stream(reader.rest(), status: reader.status, headers: reader.headers)
    }

    /// Parses `data:` payloads as an SDK does: JSON chunks until `[DONE]`.
    static func stream(_ payloads: [String], status: Int, headers: [String: String]) throws -> Stream {
        var chunks: [[String: Any]] = []
        var done = false
        for payload in payloads {
            if payload == "[DONE]" { done = true; continue }
            if let object = try JSONSerialization.jsonObject(with: Data(payload.utf8)) as? [String: Any] { chunks.append(object) }
        }
        return Stream(status: status, headers: headers, chunks: chunks, sawDone: done, raw: payloads.joined(separator: "\n\n"))
    }
}
