import Domain
import Foundation
@testable import Providers
import TestSupport
import Synchronization
import XCTest

/// Adapters whose wire format does not depend on the model offer every model the price list
/// prices for them; OpenRouter and FAL also route ids the list does not know.
final class PriceListModelTests: ProviderTestCase {
    static let catalogURL = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../../pricing/catalog.json")

    func catalog() throws -> PricingVersion { try PricingCatalog.load(try Data(contentsOf: Self.catalogURL)) }

    func context(_ version: PricingVersion?) -> AdapterContext {
        AdapterContext(client: makeClient(), timing: sleeps.timing, logger: logs.logger, priceList: { version })
    }

    func testEveryPricedModelIsOfferedWithItsKindAndParameters() throws {
        let version = try catalog()
        let openAI = OpenAIProvider(baseURL: "http://127.0.0.1:9", context: context(version)).capabilities()
        for id in ["gpt-5.4", "gpt-5.5", "gpt-5.1", "o3"] {
            let model = try XCTUnwrap(openAI.model(id, kind: .text), id)
            XCTAssertNil(model.parameter(.temperature), "\(id) reasons: default temperature only")
            XCTAssertEqual(model.parameter(.maxOutputTokens)?.allowed, .integerRange(min: 1, max: id == "o3" ? 100_000 : 128_000))
        }
        XCTAssertNotNil(openAI.model("gpt-image-2", kind: .image))
        XCTAssertNil(openAI.model("gpt-image-2", kind: .text), "an image model's input token price does not make it a chat model")
        XCTAssertNotNil(openAI.model("tts-1-hd", kind: .audio))

        let veo = VeoProvider(baseURL: "http://127.0.0.1:9", context: context(version)).capabilities()
        let preview = try XCTUnwrap(veo.model("veo-3.1-generate-preview", kind: .video))
        XCTAssertEqual(preview.parameter(.resolution)?.allowed, .oneOf(["720p", "1080p", "4k"]), "the resolutions it has prices for")
        XCTAssertNotNil(veo.model("veo-3.1-generate-preview", kind: .imageToVideo))
        XCTAssertEqual(veo.model("veo-3.1-lite-generate-preview", kind: .video)?.parameter(.resolution)?.allowed, .oneOf(["720p", "1080p"]))

        let anthropic = AnthropicProvider(baseURL: "http://127.0.0.1:9", context: context(version)).capabilities()
        XCTAssertEqual(anthropic.model("claude-opus-4-8", kind: .text)?.parameter(.maxOutputTokens)?.allowed,
                       .integerRange(min: 1, max: 128_000))
        let elevenLabs = ElevenLabsProvider(baseURL: "http://127.0.0.1:9", context: context(version)).capabilities()
        XCTAssertNotNil(elevenLabs.model("eleven_v4", kind: .audio))
        let fal = FALProvider(queueURL: "http://127.0.0.1:9", apiURL: "http://127.0.0.1:9", context: context(version)).capabilities()
        XCTAssertNotNil(fal.model("fal-ai/nano-banana", kind: .image))
        XCTAssertNotNil(fal.model("fal-ai/kling-video/v2.5-turbo/pro/image-to-video", kind: .imageToVideo))
        XCTAssertNotNil(fal.model("bytedance/seedance-2.0/image-to-video", kind: .imageToVideo))
        XCTAssertNil(fal.model("bytedance/seedance-2.0/text-to-video", kind: .video), "the queue adapter builds no text-to-video input")
        let openRouter = OpenRouterProvider(baseURL: "http://127.0.0.1:9", context: context(version)).capabilities()
        XCTAssertNotNil(openRouter.model("anthropic/claude-opus-4.5", kind: .text))

        // Without a price list only the adapters' own lists are offered.
        let bare = OpenAIProvider(baseURL: "http://127.0.0.1:9", context: context(nil)).capabilities()
        XCTAssertNil(bare.model("gpt-5.4", kind: .text))
    }

    /// FAL's list is built once per price list (FALCapabilitiesMemo): the same adapter must offer
    /// what a new price list prices, and stop offering what it no longer prices.
    func testFALsCapabilitiesFollowThePriceListWhenItChanges() throws {
        let current = Mutex<PricingVersion?>(nil)
        let context = AdapterContext(client: makeClient(), timing: sleeps.timing, logger: logs.logger,
                                     priceList: { current.withLock { $0 } })
        let fal = FALProvider(queueURL: "http://127.0.0.1:9", apiURL: "http://127.0.0.1:9", context: context)
        XCTAssertNil(fal.capabilities().model("fal-ai/nano-banana", kind: .image), "not priced without a price list")
        let version = try catalog()
        current.withLock { $0 = version }
        XCTAssertNotNil(fal.capabilities().model("fal-ai/nano-banana", kind: .image), "priced once the list is there")
        current.withLock { $0 = nil }
        XCTAssertNil(fal.capabilities().model("fal-ai/nano-banana", kind: .image), "gone again with the list")
    }

    func testOpenRouterAndFALRouteIdsThePriceListDoesNotKnow() throws {
        let version = try catalog()
        let fal = FALProvider(queueURL: "http://127.0.0.1:9", apiURL: "http://127.0.0.1:9", context: context(version))
        XCTAssertNotNil(fal.capability(for: "fal-ai/brand-new/model", kind: .image))
        XCTAssertNotNil(fal.capability(for: "fal-ai/brand-new/image-to-video", kind: .imageToVideo))
        for hostile in ["../admin", "fal-ai/../x", "fal-ai", "fal-ai/x?y=1", "Fal-AI/X", "fal-ai//x"] {
            XCTAssertNil(fal.capability(for: hostile, kind: .image), hostile)
        }
        let openRouter = OpenRouterProvider(baseURL: "http://127.0.0.1:9", context: context(version))
        XCTAssertNotNil(openRouter.capability(for: "mistralai/mistral-large", kind: .text))
        XCTAssertNil(openRouter.capability(for: "mistralai/mistral-large", kind: .image))
        let openAI = OpenAIProvider(baseURL: "http://127.0.0.1:9", context: context(version))
        XCTAssertNil(openAI.capability(for: "gpt-99", kind: .text), "OpenAI offers only listed or priced models")
    }

    func testAPricedModelIsSentAndAnUnknownOneRefusedBeforeAnyCall() async throws {
        let fake = try FakeOpenAI()
        _ = track(fake.server)
        let provider = OpenAIProvider(baseURL: fake.baseURL, context: context(try catalog()))
        let request = GenerationRequest(kind: .text, model: "gpt-5.4", prompt: "Hi",
                                        parameters: GenerationParameters(maxOutputTokens: 50), outputDirectory: outputDirectory)
        guard case .finished(let output) = try await provider.submit(request, key: ProviderAPIKey(TestKeys.openAI)) else {
            return XCTFail("not finished")
        }
        XCTAssertNotNil(output.text)
        let unknown = GenerationRequest(kind: .text, model: "gpt-99", prompt: "Hi", parameters: GenerationParameters(),
                                        outputDirectory: outputDirectory)
        let key = ProviderAPIKey(TestKeys.openAI)
        let error = await expectProviderError { () async throws(ProviderError) in try await provider.submit(unknown, key: key) }
        XCTAssertEqual(error?.kind, .unsupported)
    }
}
