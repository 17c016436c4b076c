@testable import APIServer
import Domain
import Foundation
import XCTest

/// `GET /v1/pricing` and `GET /v1/providers` send a remembered body only for the very pricing
/// version or catalog it was written from (and, for providers, the same health bytes); anything
/// else is written afresh, and every body is what the plain writer and Foundation's encoder give.
final class CatalogBodyMemoTests: XCTestCase {
    private static func version(label: String = "Bundled") throws -> PricingVersion {
        let file = TestServer.repositoryRoot.appendingPathComponent("pricing/catalog.json")
        let loaded = try PricingCatalog.load(try Data(contentsOf: file))
        return PricingVersion(id: loaded.id, label: label, effectiveFrom: loaded.effectiveFrom, currency: loaded.currency,
                              models: loaded.models)
    }

    private func plainPricing(_ version: PricingVersion, provider: String? = nil, model: String? = nil) throws -> Data {
        let models = version.models.filter { (provider == nil || $0.provider == provider) && (model == nil || $0.model == model) }
        let body = PricingBody(version: version, models: models)
        let plain = try JSONCoding.foundationEncoder.encode(body)
        XCTAssertEqual(try JSONCoding.encoder.encode(body), plain)
        return plain
    }

    func testThePricingBodyIsReusedOnlyForTheSameVersionAndFilter() throws {
        let version = try Self.version()
        XCTAssertGreaterThan(version.models.count, 10, "the bundled catalog, for a body worth remembering")
        let first = try PricingBodyJSON.body(of: version, provider: nil, model: nil)
        XCTAssertEqual(first, try plainPricing(version))
        XCTAssertEqual(try PricingBodyJSON.body(of: version, provider: nil, model: nil), first)
        XCTAssertNotNil(PricingBodyJSON.shared.value(for: .init(provider: nil, model: nil)), "remembered for this thread")
        // Filters are remembered apart, and each is what the plain writer gives.
        let openai = try PricingBodyJSON.body(of: version, provider: "openai", model: nil)
        XCTAssertEqual(openai, try plainPricing(version, provider: "openai"))
        XCTAssertLessThan(openai.count, first.count)
        XCTAssertEqual(try PricingBodyJSON.body(of: version, provider: nil, model: nil), first)
        // Another decoded version with another label: written afresh, not the remembered body.
        let relabeled = try Self.version(label: "Relabeled")
        let written = try PricingBodyJSON.body(of: relabeled, provider: nil, model: nil)
        XCTAssertEqual(written, try plainPricing(relabeled))
        XCTAssertNotEqual(written, first, "the label must be written differently for this test to mean anything")
        // An equal version decoded again (other storage) is written afresh too, and equals the plain body.
        let again = try Self.version()
        XCTAssertFalse(PricingBodyJSON.isSameVersion(again, version))
        XCTAssertTrue(PricingBodyJSON.isSameVersion(version, version))
        XCTAssertEqual(try PricingBodyJSON.body(of: again, provider: nil, model: nil), try plainPricing(again))
    }

    private static let catalog: [ProviderCapabilities] = [
        ProviderCapabilities(provider: .openai, models: [ModelCapability(id: "gpt-test", kind: .text, parameters: [])]),
        ProviderCapabilities(provider: .local, requiresKey: false, models: [ModelCapability(id: "local-image", kind: .image, parameters: [])]),
    ]

    private func plainProviders(_ catalog: [ProviderCapabilities], kind: MediaKind?, health: [ProviderID: ProviderHealthState],
                                at now: Date) throws -> Data {
        let shown = kind.map { kind in catalog.filter { $0.supports(kind) } } ?? catalog
        let body = ProviderCatalogBody(data: shown.map { ProviderBody($0, health: ProviderHealthBody(health[$0.provider] ?? .unknown, at: now)) })
        let plain = try JSONCoding.foundationEncoder.encode(body)
        XCTAssertEqual(try JSONCoding.encoder.encode(body), plain)
        return plain
    }

    func testTheProvidersBodyIsReusedOnlyForTheSameCatalogAndHealth() throws {
        let catalog = Self.catalog
        let now = Date(timeIntervalSince1970: 1_764_600_000)
        let healthy: [ProviderID: ProviderHealthState] = [:]
        let first = try ProviderCatalogJSON.body(of: catalog, kind: nil, health: healthy, at: now)
        XCTAssertEqual(first, try plainProviders(catalog, kind: nil, health: healthy, at: now))
        XCTAssertEqual(try ProviderCatalogJSON.body(of: catalog, kind: nil, health: healthy, at: now), first)
        XCTAssertNotNil(ProviderCatalogJSON.shared.value(for: nil), "remembered for this thread")
        // The caller's health differs: written afresh with it.
        let failing: [ProviderID: ProviderHealthState] = [.openai: ProviderHealthState(consecutiveFailures: 2, lastErrorCode: "rate_limited",
                                                                                        lastErrorAt: now.addingTimeInterval(-5))]
        let withFailures = try ProviderCatalogJSON.body(of: catalog, kind: nil, health: failing, at: now)
        XCTAssertEqual(withFailures, try plainProviders(catalog, kind: nil, health: failing, at: now))
        XCTAssertNotEqual(withFailures, first, "the health must be written differently for this test to mean anything")
        XCTAssertEqual(try ProviderCatalogJSON.body(of: catalog, kind: nil, health: healthy, at: now), first)
        // A kind filter is remembered apart.
        let images = try ProviderCatalogJSON.body(of: catalog, kind: .image, health: healthy, at: now)
        XCTAssertEqual(images, try plainProviders(catalog, kind: .image, health: healthy, at: now))
        XCTAssertNotEqual(images, first)
        // Another catalog (rebuilt after a pricing change) is written afresh.
        let rebuilt = [ProviderCapabilities(provider: .openai, models: [ModelCapability(id: "gpt-other", kind: .text, parameters: [])])]
        let other = try ProviderCatalogJSON.body(of: rebuilt, kind: nil, health: healthy, at: now)
        XCTAssertEqual(other, try plainProviders(rebuilt, kind: nil, health: healthy, at: now))
        XCTAssertNotEqual(other, first)
    }
}
