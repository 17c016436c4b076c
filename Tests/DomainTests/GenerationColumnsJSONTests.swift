@testable import Domain
import Foundation
import XCTest

/// The direct writers and readers of the generation's JSON columns against Foundation's coders,
/// as the store falls back to them (`GenerationColumnsFoundation`), on many generated values: the same bytes written, the
/// same values read (from the compact text and from text spaced as PostgreSQL prints jsonb).
final class GenerationColumnsJSONTests: XCTestCase {
    private func foundation<T: Encodable>(_ value: T) throws -> String {
        try GenerationColumnsFoundation.text(value)
    }

    private func foundation<T: Decodable>(_ type: T.Type, _ text: String) throws -> T {
        try GenerationColumnsFoundation.decode(type, text)
    }

    private static let rounds = 400

    func testSettingsAreWrittenAsFoundationWritesThemAndReadBackTheSame() throws {
        var random = SeededRandom(seed: 1)
        var decodedFast = 0
        for round in 0..<Self.rounds {
            let settings = random.settings()
            let expected = try foundation(settings)
            XCTAssertEqual(try GenerationColumnsEncoding.settings(settings), expected, "round \(round)")
            let reference = try foundation(GenerationSettings.self, expected)
            for text in [expected, Self.spacedAsJSONB(expected)] {
                guard let fast = GenerationColumnsDecoding.settings(text) else {
                    // Only a top-level number with a fraction is left to Foundation (its Int-or-Decimal judgement).
                    XCTAssertTrue(Self.hasFractionalParameter(settings), "round \(round): \(text)")
                    continue
                }
                decodedFast += 1
                XCTAssertEqual(fast, reference, "round \(round): \(text)")
            }
        }
        XCTAssertGreaterThan(decodedFast, Self.rounds)
    }

    func testChatSettingsAreReadWithoutFoundation() throws {
        var random = SeededRandom(seed: 2)
        for round in 0..<Self.rounds {
            var settings = GenerationSettings(maxOutputTokens: random.bool() ? random.int() : nil)
            settings.parameters.chat = random.chatOptions()
            let text = try GenerationColumnsEncoding.settings(settings)
            XCTAssertEqual(text, try foundation(settings), "round \(round)")
            let fast = try XCTUnwrap(GenerationColumnsDecoding.settings(Self.spacedAsJSONB(text)), "round \(round): \(text)")
            XCTAssertEqual(fast, try foundation(GenerationSettings.self, text), "round \(round)")
            XCTAssertEqual(fast.parameters.chat, settings.parameters.chat, "round \(round)")
        }
    }

    func testCandidatesAreWrittenAsFoundationWritesThemAndReadBackTheSame() throws {
        var random = SeededRandom(seed: 3)
        for round in 0..<Self.rounds {
            let candidates = (0..<random.below(5)).map { _ in random.candidate() }
            let text = GenerationColumnsEncoding.candidates(candidates)
            XCTAssertEqual(text, try foundation(candidates), "round \(round)")
            for form in [text, Self.spacedAsJSONB(text)] {
                let fast = try XCTUnwrap(GenerationColumnsDecoding.candidates(form), "round \(round): \(form)")
                XCTAssertEqual(fast, try foundation([GenerationCandidate].self, form), "round \(round)")
                XCTAssertEqual(fast, candidates, "round \(round)")
            }
        }
    }

    func testCostBreakdownsAreWrittenAsFoundationWritesThemAndReadBackTheSame() throws {
        var random = SeededRandom(seed: 4)
        for round in 0..<Self.rounds {
            let breakdown = random.breakdown()
            let text = try GenerationColumnsEncoding.costBreakdown(breakdown)
            XCTAssertEqual(text, try foundation(breakdown), "round \(round)")
            for form in [text, Self.spacedAsJSONB(text)] {
                let fast = try XCTUnwrap(GenerationColumnsDecoding.costBreakdown(form), "round \(round): \(form)")
                XCTAssertEqual(fast, try foundation(CostBreakdown.self, form), "round \(round)")
            }
        }
    }

    func testUsageIsWrittenAsFoundationWritesItWithAndWithoutCountedWith() throws {
        var random = SeededRandom(seed: 5)
        for round in 0..<Self.rounds {
            let usage = random.usage()
            let countedWith = random.bool() ? random.string() : nil
            XCTAssertEqual(try GenerationColumnsEncoding.usage(usage, countedWith: countedWith),
                           try GenerationColumnsFoundation.usage(usage, countedWith: countedWith), "round \(round)")
            XCTAssertEqual(try GenerationColumnsEncoding.usage(usage, countedWith: nil), try foundation(usage), "round \(round)")
        }
    }

    func testStringMapsAreWrittenInFoundationsKeyOrder() throws {
        var random = SeededRandom(seed: 6)
        for round in 0..<Self.rounds {
            var map: [String: String] = [:]
            for _ in 0..<random.below(6) { map[random.string()] = random.string() }
            XCTAssertEqual(GenerationColumnsEncoding.stringMap(map), try foundation(map), "round \(round)")
            let maps = (0..<random.below(3)).map { _ in map }
            XCTAssertEqual(GenerationColumnsEncoding.stringMaps(maps), try foundation(maps), "round \(round)")
        }
        XCTAssertEqual(GenerationColumnsEncoding.stringMap(["é": "1", "z": "2", "B": "3", "a_b": "4", "aB": "5", "/": "\u{0}"]),
                       try foundation(["é": "1", "z": "2", "B": "3", "a_b": "4", "aB": "5", "/": "\u{0}"]))
    }

    func testAmountsAndDecimalsAreWrittenAsTheirDescriptionAndJSONString() throws {
        var random = SeededRandom(seed: 7)
        var values: [Decimal] = [0, 1, -1, 10, 100, Decimal(string: "0.5")!, Decimal(string: "-0.05")!, Decimal(string: "1234.5678")!,
                                 Decimal(UInt64.max), -Decimal(UInt64.max), Decimal(UInt64.max) + 1, Decimal.greatestFiniteMagnitude,
                                 Decimal.leastNonzeroMagnitude, -Decimal.leastFiniteMagnitude,
                                 // Significands with trailing zeros, as arithmetic can leave them.
                                 Decimal(sign: .plus, exponent: -3, significand: 1000), Decimal(sign: .minus, exponent: -1, significand: 120),
                                 Decimal(sign: .plus, exponent: 5, significand: 30), Decimal(string: "0.10")! * 10, Decimal(1) / 3]
        for _ in 0..<Self.rounds { values.append(random.decimal()) }
        for _ in 0..<Self.rounds { values.append(random.money().amount) }
        for value in values {
            var json = StoredJSONWriter()
            try json.decimal(value)
            XCTAssertEqual(json.text, value.description, "\(value)")
            let money = Money(roundingToMaximumScale: value)
            XCTAssertEqual(StoredJSONWriter.moneyText(money), money.jsonString, "\(value)")
            var moneyJSON = StoredJSONWriter()
            moneyJSON.money(money)
            XCTAssertEqual(moneyJSON.text, try foundation(money), "\(value)")
        }
        XCTAssertEqual(values.count, 19 + 2 * Self.rounds)
    }

    func testTheSubmissionInFlightIsReadAsFoundationReadsIt() throws {
        for provider in ProviderID.allCases {
            let submission = InFlightSubmission(provider: provider, model: "m/é\"x")
            let text = Self.spacedAsJSONB(try foundation(submission))
            XCTAssertEqual(GenerationColumnsDecoding.submission(text), try foundation(InFlightSubmission.self, text))
            XCTAssertEqual(GenerationColumnsDecoding.submission(text), submission)
        }
        XCTAssertNil(GenerationColumnsDecoding.submission(#"{"provider": "nobody", "model": "m"}"#))
        XCTAssertNil(GenerationColumnsDecoding.submission(#"{"provider": "openai"}"#))
    }

    func testANaNDecimalIsLeftToFoundation() {
        var settings = GenerationSettings()
        settings.parameters.speed = .nan
        XCTAssertThrowsError(try GenerationColumnsEncoding.settings(settings))
        var usage = Usage()
        usage.credits = .nan
        XCTAssertThrowsError(try GenerationColumnsEncoding.usage(usage, countedWith: nil))
    }

    /// Forms the columns never hold are refused by the fast readers, so Foundation reads them as it always did.
    func testFormsOutsideTheWrittenOnesAreLeftToFoundation() throws {
        let settings = [#"{"count": 2.0}"#, #"{"max_output_tokens": 1e2}"#, #"{"n": "3"}"#, #"{"n": 1.5}"#, #"[1]"#,
                        #"{"chat": {"messages": [{"role": "user"}]}}"#, #"{"chat": {"messages": [], "seed": 1.0}}"#,
                        "not json"]
        for text in settings {
            XCTAssertNil(GenerationColumnsDecoding.settings(text), text)
        }
        XCTAssertEqual(try foundation(GenerationSettings.self, #"{"count": 2.0}"#).parameters.count, 2)
        // Digits past `Int` are a decimal to both (and so no token count).
        let huge = #"{"max_output_tokens": 99999999999999999999, "speed": 99999999999999999999}"#
        XCTAssertEqual(try XCTUnwrap(GenerationColumnsDecoding.settings(huge)), try foundation(GenerationSettings.self, huge))
        XCTAssertNil(GenerationColumnsDecoding.settings(huge)?.parameters.maxOutputTokens)
        let candidates = [#"[{"provider": "openai", "model": "m", "estimate": "1.00", "unpriced": false}]"#,
                          #"[{"provider": "nobody", "model": "m", "estimate": "1.00"}]"#,
                          #"[{"provider": "openai", "model": "m", "estimate": 1.00}]"#, #"{}"#]
        for text in candidates {
            XCTAssertNil(GenerationColumnsDecoding.candidates(text), text)
        }
        XCTAssertEqual(try foundation([GenerationCandidate].self, candidates[0]).first?.unpriced, false)
        XCTAssertNil(GenerationColumnsDecoding.costBreakdown(#"{"provider": "openai"}"#))
        // Members the types do not have are ignored by both.
        let extra = #"{"max_output_tokens": 5, "other": {"x": [1, 2]}, "voice_settings": {"speed": 1}}"#
        XCTAssertEqual(GenerationColumnsDecoding.settings(extra), try foundation(GenerationSettings.self, extra))
        // Legacy `n` and explicit nulls.
        let legacy = #"{"n": 3, "size": null, "chat": null}"#
        XCTAssertEqual(GenerationColumnsDecoding.settings(legacy), try foundation(GenerationSettings.self, legacy))
        XCTAssertEqual(GenerationColumnsDecoding.settings(legacy)?.parameters.count, 3)
    }

    // MARK: Support

    private static func hasFractionalParameter(_ settings: GenerationSettings) -> Bool {
        ParameterName.allCases.contains {
            if case .decimal(let number)? = settings.parameters.value(of: $0) { return number.description.contains(".") }
            return false
        }
    }

    /// Compact JSON as PostgreSQL prints jsonb: a space after every `:` and `,` outside strings.
    static func spacedAsJSONB(_ text: String) -> String {
        var out = ""
        var inString = false
        var escaped = false
        for character in text {
            out.append(character)
            if inString {
                if escaped { escaped = false } else if character == "\\" { escaped = true } else if character == "\"" { inString = false }
            } else if character == "\"" {
                inString = true
            } else if character == ":" || character == "," {
                out.append(" ")
            }
        }
        return out
    }
}

/// Reproducible values (`SeededGenerator`'s SplitMix64), so a failing round can be run again.
struct SeededRandom {
    private var generator: SeededGenerator

    init(seed: UInt64) { generator = SeededGenerator(seed: seed) }

    mutating func next() -> UInt64 { generator.next() }

    mutating func below(_ bound: Int) -> Int { Int(next() % UInt64(bound)) }
    mutating func bool() -> Bool { next() & 1 == 1 }
    mutating func pick<T>(_ values: [T]) -> T { values[below(values.count)] }

    static let pieces = ["", "hello", "Say hello.", "é", "中文", "🎉", "\u{1F468}\u{200D}\u{1F469}", "\"", "\\", "/", "</script>",
                         "\u{0}", "\u{1}", "\u{1F}", "\t", "\n", "\r", "\u{8}", "\u{C}", "\u{7F}", "\u{2028}", "\u{2029}",
                         "\u{FEFF}", "a b", "{\"x\":[1,2]}", "\\u0000", "null", "true", "0.1"]

    mutating func string() -> String {
        (0..<below(5)).map { _ in pick(Self.pieces) }.joined()
    }

    mutating func int() -> Int {
        switch below(5) {
        case 0: pick([0, 1, -1, Int.max, Int.min, 16, 4096])
        case 1: Int(truncatingIfNeeded: next())
        default: below(100_000)
        }
    }

    mutating func decimal() -> Decimal {
        switch below(6) {
        case 0: pick([Decimal(0), Decimal(1), Decimal(-1), Decimal.greatestFiniteMagnitude, -Decimal.greatestFiniteMagnitude,
                      Decimal.leastNonzeroMagnitude, Decimal(string: "0.7")!, Decimal(string: "1e-20")!,
                      Decimal(string: "12345678901234567890123456789012345678")!, Decimal(string: "-0.000001")!])
        case 1: Decimal(sign: bool() ? .minus : .plus, exponent: below(60) - 30, significand: Decimal(below(1_000_000)))
        case 2: Decimal(Int(truncatingIfNeeded: next()))
        default: Decimal(below(10_000)) / Decimal(pick([1, 10, 100, 1000, 1_000_000]))
        }
    }

    mutating func money() -> Money {
        pick([Money.zero, Money(roundingToMaximumScale: Decimal(below(1_000_000)) / 1_000_000),
              Money(roundingToMaximumScale: Decimal(below(100_000_000)) / 100), Money(roundingToMaximumScale: -Decimal(below(1000)) / 7),
              Money(roundingToMaximumScale: Decimal(string: "99999999999.999999")!)])
    }

    mutating func settings() -> GenerationSettings {
        var parameters = GenerationParameters()
        if bool() { parameters.systemPrompt = string() }
        if bool() { parameters.maxOutputTokens = int() }
        if bool() { parameters.temperature = bool() ? Decimal(below(3)) : decimal() }
        if bool() { parameters.size = pick(["1024x1024", "auto", string()]) }
        if bool() { parameters.quality = string() }
        if bool() { parameters.count = int() }
        if bool() { parameters.durationSeconds = int() }
        if bool() { parameters.resolution = string() }
        if bool() { parameters.aspectRatio = "16:9" }
        if bool() { parameters.voice = string() }
        if bool() { parameters.voiceSettings = VoiceSettings(stability: 0.5) }
        if bool() { parameters.speed = bool() ? Decimal(1) : decimal() }
        if bool() { parameters.outputFormat = string() }
        if bool() { parameters.seed = int() }
        if bool() { parameters.negativePrompt = string() }
        if bool() { parameters.inputImage = .url("https://example.com/a.png") }
        if bool() { parameters.audio = bool() }
        if bool() { parameters.chat = chatOptions() }
        return GenerationSettings(parameters: parameters)
    }

    mutating func chatOptions() -> ChatOptions {
        let messages = (0..<below(4)).map { _ in
            ChatMessage(role: pick(["system", "developer", "user", "assistant"]), content: string(), name: bool() ? string() : nil)
        }
        return ChatOptions(messages: messages, temperature: bool() ? decimal() : nil, topP: bool() ? decimal() : nil,
                           seed: bool() ? int() : nil, stop: bool() ? (0..<below(4)).map { _ in string() } : nil,
                           presencePenalty: bool() ? decimal() : nil, frequencyPenalty: bool() ? decimal() : nil,
                           store: bool() ? bool() : nil)
    }

    mutating func candidate() -> GenerationCandidate {
        GenerationCandidate(provider: pick(ProviderID.allCases), model: string(), estimate: money(), unpriced: bool(),
                            inputTokens: bool() ? int() : nil)
    }

    mutating func dimension() -> PriceDimension {
        PriceDimension(size: bool() ? string() : nil, quality: bool() ? "high" : nil, resolution: bool() ? "720p" : nil,
                       audio: bool() ? pick(["on", "off"]) : nil)
    }

    mutating func breakdown() -> CostBreakdown {
        let lines = (0..<below(4)).map { _ in
            CostLine(unit: bool() ? pick(PriceUnit.allCases) : nil, dimension: dimension(), quantity: decimal(), billedQuantity: decimal(),
                     price: money(), per: int(), subtotal: money(), source: string(),
                     confidence: bool() ? pick([PriceConfidence.verified, .litellm, .unverified]) : nil, estimateOnly: bool())
        }
        let missing = (0..<below(3)).map { _ in
            MissingPrice(unit: bool() ? pick(PriceUnit.allCases) : nil, dimension: dimension(),
                         reason: pick([MissingReason.unknownModel, .noPrice, .missingDimension, .invalidUsage]),
                         missingKeys: (0..<below(3)).map { _ in pick(PriceDimension.Key.allCases) })
        }
        return CostBreakdown(provider: pick(["openai", "anthropic", string()]), model: string(), pricingVersionId: string(),
                             currency: "USD", status: pick([CostStatus.priced, .unpriced, .providerReported, .free]), lines: lines,
                             total: bool() ? money() : nil, missing: missing)
    }

    mutating func usage() -> Usage {
        Usage(inputTokens: int(), cachedInputReadTokens: int(), cachedInputWriteTokens: int(), cachedInputWriteOneHourTokens: int(),
              cachedInputWriteTwelveHourTokens: int(), outputTokens: int(), reasoningTokens: int(), imageInputTokens: int(),
              imageOutputTokens: int(), audioInputTokens: int(), audioOutputTokens: int(),
              images: (0..<below(3)).map { _ in ImageQuantity(count: int(), size: bool() ? string() : nil, quality: bool() ? "low" : nil,
                                                              resolution: bool() ? "4k" : nil) },
              video: (0..<below(3)).map { _ in VideoQuantity(seconds: decimal(), resolution: bool() ? "1080p" : nil,
                                                             audio: bool() ? "on" : nil, count: int()) },
              characters: int(), megapixels: decimal(), requests: int(), credits: decimal(), providerReportedCost: bool() ? money() : nil)
    }
}
