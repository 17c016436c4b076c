@testable import APIServer
import Domain
import Foundation
import TestSupport
import XCTest

/// One parameter vocabulary: a quote takes exactly the parameters `GET /v1/providers` publishes
/// for the model, under the same names, with the same defaults and allowed values. The cases are
/// generated from the published catalog, so a model added to it is covered without a new test.
final class ParameterVocabularyTests: XCTestCase {
    private var server: TestServer!
    private var token = ""
    private var projectID = ""

    override func setUpWithError() throws {
        // Room for the longest text a catalog parameter allows, and one character more.
        server = try TestServer(environment: ["HTTP_MAX_BODY_BYTES": String(2 * QuoteRequest.maximumSystemPromptCharacters)])
        _ = try PricingImport(store: server.environment.pricing).run(file: TestServer.repositoryRoot.appendingPathComponent("pricing/catalog.json"))
        token = try server.signUp("vocabulary@example.com").accessToken
        projectID = try XCTUnwrap(try server.createProject(["name": "Vocabulary", "budget_limit": "1000"], token: token)["id"] as? String)
    }

    override func tearDown() {
        server?.stop()
    }

    /// A model as the catalog publishes it.
    private struct PublishedModel {
        let provider: String
        let id: String
        let kind: String
        let parameters: [[String: Any]]
    }

    private func publishedModels() throws -> [PublishedModel] {
        let response = try server.get("/v1/providers", token: token)
        XCTAssertEqual(response.status, 200, response.text)
        let providers = try XCTUnwrap(try response.json()["data"] as? [[String: Any]])
        return try providers.flatMap { provider in
            let id = try XCTUnwrap(provider["id"] as? String)
            return try XCTUnwrap(provider["models"] as? [[String: Any]]).map { model in
                PublishedModel(provider: id, id: try XCTUnwrap(model["id"] as? String), kind: try XCTUnwrap(model["kind"] as? String),
                               parameters: try XCTUnwrap(model["parameters"] as? [[String: Any]]))
            }
        }
    }

    private func quote(_ model: PublishedModel, _ parameters: [String: Any]?) throws -> HTTPTestConnection.Response {
        var body: [String: Any] = ["project_id": projectID, "type": model.kind, "prompt": "A lighthouse at dusk, calm sea.",
                                   "provider": model.provider, "model": model.id]
        if let parameters { body["parameters"] = parameters }
        return try server.post("/v1/quotes", body, token: token)
    }

    /// The candidate's price, which is what a default must reproduce.
    private func price(_ response: HTTPTestConnection.Response) throws -> String {
        let candidates = try XCTUnwrap(try response.json()["candidates"] as? [[String: Any]], response.text)
        let candidate = try XCTUnwrap(candidates.first, response.text)
        let lines = (candidate["lines"] as? [[String: Any]] ?? []).map { "\($0["unit"] ?? "-") \($0["quantity"] ?? "") × \($0["unit_price"] ?? "")" }
        return "\(candidate["cost_status"] ?? "?") \(candidate["total"] ?? "null") \(lines)"
    }

    /// Values inside the parameter's allowed values, one outside them, and the words the refusal
    /// must contain (the allowed values). Structured parameters have no scalar values: nil.
    private func cases(for parameter: [String: Any]) throws -> (inside: [Any], outside: Any, names: [String])? {
        switch try XCTUnwrap(parameter["type"] as? String) {
        case "one_of":
            let values = try XCTUnwrap(parameter["values"] as? [String])
            return (values, "not-a-listed-value", values)
        case "integers":
            let values = try XCTUnwrap(parameter["integers"] as? [Int])
            let outside = try XCTUnwrap((1...QuoteRequest.maximumDurationSeconds).first { !values.contains($0) })
            return (values, outside, values.map(String.init))
        case "integer_range":
            let low = try XCTUnwrap(Int(try XCTUnwrap(parameter["minimum"] as? String)))
            let high = try XCTUnwrap(Int(try XCTUnwrap(parameter["maximum"] as? String)))
            return ([low, high], high + 1, [String(low), String(high)])
        case "decimal_range":
            let low = try XCTUnwrap(Double(try XCTUnwrap(parameter["minimum"] as? String)))
            let high = try XCTUnwrap(Double(try XCTUnwrap(parameter["maximum"] as? String)))
            return ([low, high], high + 0.5, [try XCTUnwrap(parameter["minimum"] as? String), try XCTUnwrap(parameter["maximum"] as? String)])
        case "text":
            let length = try XCTUnwrap(parameter["max_length"] as? Int)
            return (["x", String(repeating: "y", count: length)], String(repeating: "z", count: length + 1), [String(length)])
        case "boolean":
            return ([true, false], "yes", [])
        case "image", "voice_settings":
            return nil
        default:
            XCTFail("a parameter type this test does not know: \(parameter)")
            return nil
        }
    }

    /// JSON for a default as published (a string) in the parameter's own type.
    private func typedDefault(_ text: String, of parameter: [String: Any]) -> Any? {
        switch parameter["type"] as? String {
        case "integers", "integer_range": Int(text)
        case "decimal_range": Double(text)
        case "boolean": Bool(text)
        default: text
        }
    }

    func testEveryPublishedParameterHasItsDefaultItsValuesAndItsRefusalInQuotes() throws {
        let models = try publishedModels()
        XCTAssertGreaterThan(models.count, 10, "the catalog is empty or nearly so: nothing would be checked")
        var checkedDefaults = 0, checkedValues = 0, checkedRefusals = 0, structured: Set<String> = [], walked: Set<String> = []
        var failures: [String] = []
        for model in models {
            let bare = try quote(model, nil)
            guard bare.status == 200 else {
                failures.append("\(model.provider) \(model.id): a quote without parameters answered \(bare.status) \(bare.text)")
                continue
            }
            let bareFingerprint = try price(bare)
            for parameter in model.parameters {
                let name = try XCTUnwrap(parameter["name"] as? String)
                let label = "\(model.provider) \(model.id) \(name)"
                guard let cases = try cases(for: parameter) else {
                    structured.insert(name)
                    continue
                }
                if let text = parameter["default"] as? String {
                    let explicit = try quote(model, [name: try XCTUnwrap(typedDefault(text, of: parameter), label)])
                    if explicit.status != 200 {
                        failures.append("\(label): its default \(text) answered \(explicit.status) \(explicit.text)")
                    } else if try price(explicit) != bareFingerprint {
                        failures.append("\(label): leaving it out is not priced as its default \(text): \(bareFingerprint) vs \(try price(explicit))")
                    }
                    checkedDefaults += 1
                }
                // Every value of each distinct declaration is tried once; a model repeating a
                // declaration already walked (same provider, kind and values) tries its first and last.
                let declaration = "\(model.provider) \(model.kind) \(parameter.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" })"
                let values = walked.insert(declaration).inserted ? cases.inside : [cases.inside.first, cases.inside.last].compactMap { $0 }
                for value in values {
                    let response = try quote(model, [name: value])
                    if response.status != 200 {
                        failures.append("\(label)=\(String(describing: value).prefix(40)): \(response.status) \(response.text.prefix(400))")
                    }
                    checkedValues += 1
                }
                let refused = try quote(model, [name: cases.outside])
                let errors = (try? refused.json()["errors"] as? [[String: Any]]) ?? nil
                let error = errors?.first { $0["field"] as? String == "parameters.\(name)" }
                let message = error?["message"] as? String ?? ""
                if refused.status != 422 || error == nil || !cases.names.allSatisfy(message.contains) {
                    failures.append("\(label)=\(String(describing: cases.outside).prefix(40)): expected 422 on parameters.\(name) naming \(cases.names); got \(refused.status) \(refused.text.prefix(400))")
                }
                checkedRefusals += 1
            }
        }
        XCTAssertTrue(failures.isEmpty, "\(failures.count) failures:\n" + failures.prefix(30).joined(separator: "\n"))
        print("parameter vocabulary: \(models.count) models, \(checkedDefaults) defaults, \(checkedValues) values, \(checkedRefusals) refusals")
        XCTAssertGreaterThan(checkedDefaults, 10)
        XCTAssertGreaterThan(checkedValues, 100)
        XCTAssertGreaterThan(checkedRefusals, 30)
        // The structured inputs are the only ones a request body cannot carry yet; they are refused by name.
        XCTAssertTrue(structured.isSubset(of: ["input_image", "voice_settings"]), "\(structured)")
        for name in structured {
            let model = try XCTUnwrap(models.first { $0.parameters.contains { $0["name"] as? String == name } })
            let response = try quote(model, [name: "https://example.com/x.png"])
            XCTAssertEqual(response.status, 422, response.text)
            XCTAssertEqual(try response.json()["code"] as? String, "unknown_field", response.text)
        }
    }

    /// The three mismatches the issue names, each with its number.
    func testCountDefaultsAndImageTiersArePricedAsTheCatalogSays() throws {
        func total(_ body: [String: Any]) throws -> Money {
            var request = body
            request["project_id"] = projectID
            request["prompt"] = "A lighthouse at dusk."
            let response = try server.post("/v1/quotes", request, token: token)
            XCTAssertEqual(response.status, 200, response.text)
            let candidate = try XCTUnwrap((try response.json()["candidates"] as? [[String: Any]])?.first, response.text)
            return try Money(parsing: try XCTUnwrap(candidate["total"] as? String, "\(candidate)"))
        }
        let one = try total(["type": "image", "provider": "openai", "model": "gpt-image-1", "parameters": ["quality": "low"]])
        let four = try total(["type": "image", "provider": "openai", "model": "gpt-image-1", "parameters": ["quality": "low", "count": 4]])
        XCTAssertEqual(four, one * 4, "count: 4 is four images")
        // Veo's default is 8 seconds: the same as asking for 8, not 5.
        let veoDefault = try total(["type": "video", "provider": "veo", "model": "veo-3.1-generate-001"])
        XCTAssertEqual(veoDefault, try total(["type": "video", "provider": "veo", "model": "veo-3.1-generate-001", "parameters": ["duration_seconds": 8]]))
        XCTAssertNotEqual(veoDefault, try total(["type": "video", "provider": "veo", "model": "veo-3.1-generate-001", "parameters": ["duration_seconds": 4]]))
        // Runway's image price depends on the ratio's tier: 720p (5 credits) and 1080p (8 credits).
        let small = try total(["type": "image", "provider": "runway", "model": "gen4_image", "parameters": ["aspect_ratio": "1280:720"]])
        let large = try total(["type": "image", "provider": "runway", "model": "gen4_image", "parameters": ["aspect_ratio": "1920:1080"]])
        XCTAssertEqual(small, try Money(parsing: "0.05"))
        XCTAssertEqual(large, try Money(parsing: "0.08"))
    }
}
