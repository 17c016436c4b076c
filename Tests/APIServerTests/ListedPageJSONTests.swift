@testable import APIServer
@testable import Domain
import Foundation
import Persistence
import XCTest

/// The list body is what `GenerationPageBody` writes (and Foundation's encoder), and an item's
/// remembered JSON is used only for the very version object it was written for.
final class ListedPageJSONTests: XCTestCase {
    private static func record(id: UUID = UUID(), prompt: String = "A \"quoted\" ünïcode prompt", cost: Money? = nil,
                               status: GenerationStatus = .succeeded) throws -> GenerationRecord {
        let line = CostLine(unit: .inputToken, dimension: .none, quantity: 12, billedQuantity: 12, price: try Money(parsing: "0.15"),
                            per: 1_000_000, subtotal: try Money(parsing: "0.0000018"), source: "catalog", confidence: .verified,
                            estimateOnly: false)
        let breakdown = CostBreakdown(provider: "openai", model: "gpt-4o-mini", pricingVersionId: "v1", currency: "USD", status: .priced,
                                      lines: [line], total: try Money(parsing: "0.0000018"), missing: [])
        return GenerationRecord(
            id: id, userID: UUID(), projectID: UUID(), kind: .text, prompt: prompt, settings: GenerationSettings(),
            requestedProvider: .openai, requestedModel: "gpt-4o-mini", provider: .openai, model: "gpt-4o-mini",
            candidates: [GenerationCandidate(provider: .openai, model: "gpt-4o-mini", estimate: try Money(parsing: "0.0001"))],
            status: status, estimate: try Money(parsing: "0.0001"), actualCost: try cost ?? Money(parsing: "0.0000018"),
            providerReportedCost: nil, costBreakdown: breakdown, maxCost: nil, pricingVersion: "v1", errorCode: nil, errorMessage: nil,
            outputText: "Hello.", providerTask: nil, cancelRequested: false, createdAt: Date(timeIntervalSince1970: 1_764_500_000.123),
            updatedAt: Date(timeIntervalSince1970: 1_764_500_001), startedAt: Date(timeIntervalSince1970: 1_764_500_000.5),
            finishedAt: Date(timeIntervalSince1970: 1_764_500_001), costStatus: "priced")
    }

    private func reference(_ page: GenerationPage) throws -> String {
        let body = GenerationPageBody(data: page.items.map { GenerationBody($0) }, nextCursor: page.next?.token)
        let foundation = String(decoding: try JSONCoding.foundationEncoder.encode(body), as: UTF8.self)
        XCTAssertEqual(String(decoding: try JSONCoding.encoder.encode(body), as: UTF8.self), foundation)
        return foundation
    }

    private func written(_ page: GenerationPage) throws -> String {
        String(decoding: try ListedPageJSON.generations.body(of: page), as: UTF8.self)
    }

    func testTheBodyIsWhatThePageBodyWrites() throws {
        let pages = [
            GenerationPage(items: [], next: nil),
            GenerationPage(items: [try Self.record()], next: nil),
            GenerationPage(items: [try Self.record(), try Self.record(prompt: "cafe\u{301}", status: .failed), try Self.record(prompt: "")],
                           next: GenerationCursor(createdMicroseconds: 1_764_500_000_123_000, id: UUID())),
        ]
        for page in pages {
            XCTAssertEqual(try written(page), try reference(page), "\(page.items.count) items")
            XCTAssertEqual(try written(page), try reference(page), "\(page.items.count) items, again through the memo")
        }
        XCTAssertTrue(try written(pages[0]).hasPrefix(#"{"data":[],"next_cursor":null}"#))
    }

    func testAnItemIsReusedOnlyForTheSameVersion() throws {
        let id = UUID()
        let version = RowVersion()
        let first = try Self.record(id: id, cost: try Money(parsing: "0.5"))
        let page = GenerationPage(items: [first], versions: [version], next: nil)
        XCTAssertEqual(try written(page), try reference(page))
        // The same version stands for the same row, so its remembered JSON is sent: the proof is
        // the object, not the record (a store never hands one version two different records).
        let changed = try Self.record(id: id, cost: try Money(parsing: "0.75"))
        XCTAssertEqual(try written(GenerationPage(items: [changed], versions: [version], next: nil)), try reference(page))
        // A new version (the store read other bytes) is written afresh, even for an equal record.
        let fresh = GenerationPage(items: [changed], versions: [RowVersion()], next: nil)
        XCTAssertEqual(try written(fresh), try reference(fresh))
        XCTAssertNotEqual(try reference(fresh), try reference(page), "the two costs must be written differently")
        let equalAmount = try Self.record(id: id, cost: try Money(units: 750, scale: 3))
        let padded = GenerationPage(items: [equalAmount], versions: [RowVersion()], next: nil)
        XCTAssertEqual(try written(padded), try reference(padded))
    }

    func testAPageWithoutVersionsGetsOneNewVersionPerItem() throws {
        let records = [try Self.record(), try Self.record()]
        let page = GenerationPage(items: records, versions: [RowVersion()], next: nil)
        XCTAssertEqual(page.versions.count, 2, "a versions list of the wrong length is replaced")
        XCTAssertFalse(page.versions[0] === page.versions[1])
        XCTAssertEqual(try written(page), try reference(page))
    }

    private static func asset(name: String?, tags: [String], thumbnail: ThumbnailState) -> Asset {
        Asset(id: UUID(), projectID: UUID(), generationID: UUID(), kind: .image, contentType: "image/png", bytes: 1_234, sha256: String(repeating: "ab", count: 32),
              storageKey: "k", name: name, description: "A \"quoted\" description", tags: tags, favourite: true, archived: false,
              source: .generated, metadata: MediaMetadata(width: 512, height: 512), thumbnailKey: "t", thumbnailState: thumbnail,
              originalFilename: nil, prompt: "cafe\u{301}", version: 2, createdAt: Date(timeIntervalSince1970: 1_764_500_000.25),
              updatedAt: Date(timeIntervalSince1970: 1_764_500_100))
    }

    func testTheAssetsBodyIsWhatTheAssetPageBodyWritesAndReusesOnlyTheSameVersion() throws {
        let page = AssetPage(items: [Self.asset(name: "Sunset", tags: ["sky", "ünïcode"], thumbnail: .ready),
                                     Self.asset(name: nil, tags: [], thumbnail: .pending)],
                             next: GenerationCursor(createdMicroseconds: 1_764_500_000_250_000, id: UUID()))
        let reference = String(decoding: try JSONCoding.foundationEncoder.encode(
            AssetPageBody(data: page.items.map(AssetBody.init), nextCursor: page.next?.token)), as: UTF8.self)
        XCTAssertEqual(String(decoding: try ListedPageJSON.assets.body(of: page), as: UTF8.self), reference)
        XCTAssertEqual(String(decoding: try ListedPageJSON.assets.body(of: page), as: UTF8.self), reference, "again, through the memo")
        // The same asset read as another row (a new version) is written afresh.
        var renamed = page.items[0]
        renamed.name = "Dusk"
        let changed = AssetPage(items: [renamed], next: nil)
        let written = String(decoding: try ListedPageJSON.assets.body(of: changed), as: UTF8.self)
        XCTAssertTrue(written.contains(#""name":"Dusk""#), written)
        XCTAssertEqual(written, String(decoding: try JSONCoding.foundationEncoder.encode(
            AssetPageBody(data: [AssetBody(renamed)], nextCursor: nil)), as: UTF8.self))
    }
}
