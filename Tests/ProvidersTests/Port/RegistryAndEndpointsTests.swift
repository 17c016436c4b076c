import Domain
import Foundation
@testable import Providers
import XCTest

final class RegistryAndEndpointsTests: ProviderTestCase {
    func testEndpointsDefaultOverrideAndRefuseBadValues() throws {
        XCTAssertEqual(try ProviderEndpoints.fromEnvironment([:]), ProviderEndpoints.defaults)
        let custom = try ProviderEndpoints.fromEnvironment(["OPENAI_BASE_URL": "http://127.0.0.1:9000/v1/",
                                                            "GEMINI_BASE_URL": " https://proxy.example/gemini ",
                                                            "RUNWAY_BASE_URL": ""])
        XCTAssertEqual(custom.openAI, "http://127.0.0.1:9000/v1")
        XCTAssertEqual(custom.gemini, "https://proxy.example/gemini")
        XCTAssertEqual(custom.runway, "https://api.dev.runwayml.com")
        XCTAssertThrowsError(try ProviderEndpoints.fromEnvironment(["FAL_QUEUE_BASE_URL": "queue.fal.run",
                                                                    "ANTHROPIC_BASE_URL": "ftp://x"])) { error in
            XCTAssertEqual((error as? EndpointConfigurationError)?.problems.count, 2)
        }
        XCTAssertEqual(ProviderEndpoints.variables.map(\.name),
                       ["OPENAI_BASE_URL", "ANTHROPIC_BASE_URL", "OPENROUTER_BASE_URL", "ELEVENLABS_BASE_URL",
                        "RUNWAY_BASE_URL", "GEMINI_BASE_URL", "FAL_QUEUE_BASE_URL", "FAL_API_BASE_URL"])
    }

    func testCatalogCoversEveryProviderWithConsistentModels() {
        let registry = ProviderRegistry.standard(endpoints: .defaults, context: makeContext())
        let catalog = registry.catalog()
        XCTAssertEqual(catalog.map(\.provider), ProviderID.allCases)
        for capabilities in catalog {
            XCTAssertEqual(capabilities.requiresKey, capabilities.provider != .local)
            XCTAssertFalse(capabilities.models.isEmpty)
            let keys = capabilities.models.map { "\($0.kind.rawValue)/\($0.id)" }
            XCTAssertEqual(Set(keys).count, keys.count, "duplicate model in \(capabilities.provider)")
            for model in capabilities.models {
                for spec in model.parameters {
                    guard let value = spec.defaultValue else { continue }
                    switch spec.allowed {
                    case let .oneOf(options): XCTAssertTrue(options.contains(value), "\(model.id) \(spec.name) default")
                    case let .integers(options): XCTAssertTrue(options.contains(Int(value) ?? -1), "\(model.id) \(spec.name)")
                    case let .integerRange(min, max): XCTAssertTrue((min...max).contains(Int(value) ?? -1), "\(model.id) \(spec.name)")
                    default: break
                    }
                }
            }
        }
        XCTAssertFalse(catalog.flatMap(\.models).contains { $0.id == "dall-e-3" }, "dall-e-3 is retired")
        XCTAssertEqual(registry.providers(offering: .imageToVideo).map(\.id), [.runway, .veo, .fal, .local])
        XCTAssertEqual(registry.providers(offering: .audio, model: "tts-1").map(\.id), [.openai])
        // The catalog is what GET /v1/providers returns: it must encode.
        XCTAssertNoThrow(try JSONEncoder().encode(catalog))
    }
}
