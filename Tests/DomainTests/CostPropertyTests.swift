import Foundation
import XCTest
@testable import Domain

/// Exactness and additivity over many seeded random usages: every cost is checked against the
/// same computation in integers of 10⁻¹⁹ dollars (prices × 10¹⁰, quantities × 10³, per-1M
/// scaled), so any rounding, float or lost digit on the money path would show.
final class CostPropertyTests: XCTestCase {
    static let unitsPerDollar: Int128 = 10_000_000_000_000_000_000  // 10^19

    func testRandomUsagesCostExactlyWhatIntegerArithmeticSays() throws {
        let catalog = try TestCatalog.load()
        let models = catalog.models.filter { $0.mode == .priced && $0.model != "*" && $0.prices.contains { !$0.estimateOnly } }
        var random = SeededGenerator(seed: 20_261_124)
        var checkedLines = 0
        for _ in 0..<3_000 {
            let model = models.randomElement(using: &random)!
            let usage = randomUsage(for: model, using: &random)
            let breakdown = CostCalculator.cost(of: usage, provider: model.provider, model: model.model, pricing: catalog)
            XCTAssertEqual(breakdown.status, .priced, "\(model.provider)/\(model.model) \(breakdown.missing)")
            let expected = try expectedUnits(usage, model: model, catalog: catalog)
            let total = try XCTUnwrap(breakdown.total)
            XCTAssertEqual(try Self.units(total.amount), expected, "\(model.provider)/\(model.model) \(usage)")
            XCTAssertEqual(total, Money.sum(breakdown.lines.map(\.subtotal)))
            checkedLines += breakdown.lines.count
        }
        XCTAssertGreaterThan(checkedLines, 5_000)
    }

    /// cost(a + b) = cost(a) + cost(b) wherever no minimum or long-context threshold is crossed.
    func testCostIsAdditive() throws {
        let catalog = try TestCatalog.load()
        let models = catalog.models.filter { model in
            model.mode == .priced && model.model != "*"
                && model.prices.contains { !$0.estimateOnly }
                && !model.prices.contains { $0.minimumQuantity != nil || $0.aboveInputTokens != nil }
        }
        var random = SeededGenerator(seed: 99)
        for _ in 0..<1_000 {
            let model = models.randomElement(using: &random)!
            let first = randomUsage(for: model, using: &random)
            let second = randomUsage(for: model, using: &random)
            func total(_ usage: Usage) -> Money? {
                CostCalculator.cost(of: usage, provider: model.provider, model: model.model, pricing: catalog).total
            }
            let separate = try XCTUnwrap(total(first)) + XCTUnwrap(total(second))
            XCTAssertEqual(total(Self.combine(first, second)), separate, "\(model.model)")
        }
    }

    // MARK: Helpers

    /// A usage with a random quantity for each unit the model charges, on one of its dimensions.
    func randomUsage(for model: PricedModel, using random: inout SeededGenerator) -> Usage {
        var usage = Usage()
        let billable = model.prices.filter { !$0.estimateOnly }
        for unit in Set(billable.map(\.unit)).sorted() {
            let row = billable.filter { $0.unit == unit && $0.aboveInputTokens == nil }.randomElement(using: &random)!
            let tokens = Int.random(in: 0...400_000, using: &random)
            switch unit {
            case .inputToken: usage.inputTokens = tokens
            case .cachedInputTokenRead: usage.cachedInputReadTokens = tokens
            case .cachedInputTokenWrite: usage.cachedInputWriteTokens = tokens / 4
            case .cachedInputTokenWrite1h: usage.cachedInputWriteOneHourTokens = tokens / 8
            case .cachedInputTokenWrite12h: usage.cachedInputWriteTwelveHourTokens = tokens / 8
            case .outputToken: usage.outputTokens = tokens / 10
            case .imageInputToken: usage.imageInputTokens = tokens / 10
            case .imageOutputToken: usage.imageOutputTokens = tokens / 10
            case .audioInputToken: usage.audioInputTokens = tokens
            case .audioOutputToken: usage.audioOutputTokens = tokens
            case .image:
                usage.images.append(ImageQuantity(count: Int.random(in: 1...10, using: &random), size: row.dimension.size,
                                                  quality: row.dimension.quality, resolution: row.dimension.resolution))
            case .videoSecond:
                let millis = Int.random(in: 1...60_000, using: &random)
                usage.video.append(VideoQuantity(seconds: Decimal(millis) / 1000, resolution: row.dimension.resolution,
                                                 audio: row.dimension.audio, count: Int.random(in: 1...4, using: &random)))
            case .characters1k: usage.characters = Int.random(in: 1...100_000, using: &random)
            case .megapixel: usage.megapixels = Decimal(Int.random(in: 1...50, using: &random))
            case .request: usage.requests = Int.random(in: 1...100, using: &random)
            case .credit: usage.credits = Decimal(Int.random(in: 1...100_000, using: &random)) / 100
            }
        }
        return usage
    }

    /// The expected total in 10⁻¹⁹ dollars, computed without Decimal arithmetic on amounts.
    func expectedUnits(_ usage: Usage, model: PricedModel, catalog: PricingVersion) throws -> Int128 {
        var total: Int128 = 0
        for quantity in usage.meteredQuantities {
            let candidates = model.prices.filter {
                $0.unit == quantity.unit && !$0.estimateOnly && $0.dimension.selects(quantity.dimension)
            }
            let base = try XCTUnwrap(candidates.first { $0.aboveInputTokens == nil })
            let tier = candidates.filter { ($0.aboveInputTokens ?? .max) < usage.promptTokens }.max {
                ($0.aboveInputTokens ?? 0) < ($1.aboveInputTokens ?? 0)
            }
            let row = tier ?? base
            let price = try Self.scaled(row.price.amount, by: 10)           // dollars × 10^10
            var amount = try Self.scaled(quantity.quantity, by: 3)          // units × 10^3
            if let minimum = row.minimumQuantity { amount = max(amount, try Self.scaled(minimum, by: 3)) }
            total += price * amount * Int128(1_000_000 / row.per)           // × 10^6 / per
        }
        return total
    }

    static func units(_ amount: Decimal) throws -> Int128 { try scaled(amount, by: 19) }

    /// `value × 10^digits` as an integer; fails if that is not a whole number.
    static func scaled(_ value: Decimal, by digits: Int) throws -> Int128 {
        let shifted = value * Decimal(sign: .plus, exponent: digits, significand: 1)
        let text = shifted.description
        return try XCTUnwrap(Int128(text), "\(value) has more than \(digits) decimals")
    }

    static func combine(_ a: Usage, _ b: Usage) -> Usage {
        var sum = a
        sum.inputTokens += b.inputTokens
        sum.cachedInputReadTokens += b.cachedInputReadTokens
        sum.cachedInputWriteTokens += b.cachedInputWriteTokens
        sum.cachedInputWriteOneHourTokens += b.cachedInputWriteOneHourTokens
        sum.outputTokens += b.outputTokens
        sum.imageInputTokens += b.imageInputTokens
        sum.imageOutputTokens += b.imageOutputTokens
        sum.audioInputTokens += b.audioInputTokens
        sum.audioOutputTokens += b.audioOutputTokens
        sum.images += b.images
        sum.video += b.video
        sum.characters += b.characters
        sum.megapixels += b.megapixels
        sum.requests += b.requests
        sum.credits += b.credits
        return sum
    }
}
