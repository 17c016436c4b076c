import Domain
import Foundation

/// The usage as the API takes it: provider-neutral, cached tokens apart from `input_tokens`.
struct CostUsageBody: Decodable {
    struct CacheWrite: Decodable {
        let ttl: String
        let tokens: Int
    }

    struct Images: Decodable {
        let count: Int
        let size: String?
        let quality: String?
        let resolution: String?
    }

    struct Video: Decodable {
        let seconds: String
        let resolution: String?
        let audio: Bool?
        let count: Int?
    }

    let inputTokens: Int?
    let cachedInputReadTokens: Int?
    let cacheWrites: [CacheWrite]?
    let outputTokens: Int?
    let reasoningTokens: Int?
    let imageInputTokens: Int?
    let imageOutputTokens: Int?
    let audioInputTokens: Int?
    let audioOutputTokens: Int?
    let images: [Images]?
    let megapixels: Int?
    let video: [Video]?
    let characters: Int?
    let requests: Int?
    let credits: String?
    let providerReportedCost: String?

    static let maximumEntries = 32
    static let maximumDimensionLength = 32

    /// The domain usage, or errors naming each field by its wire path.
    func usage(errors: inout [FieldError]) -> Usage {
        var usage = Usage(
            inputTokens: inputTokens ?? 0, cachedInputReadTokens: cachedInputReadTokens ?? 0, outputTokens: outputTokens ?? 0,
            reasoningTokens: reasoningTokens ?? 0, imageInputTokens: imageInputTokens ?? 0, imageOutputTokens: imageOutputTokens ?? 0,
            audioInputTokens: audioInputTokens ?? 0, audioOutputTokens: audioOutputTokens ?? 0,
            characters: characters ?? 0, megapixels: Decimal(megapixels ?? 0), requests: requests ?? 0
        )
        for (field, list) in [("usage.cache_writes", cacheWrites?.count), ("usage.images", images?.count), ("usage.video", video?.count)]
        where (list ?? 0) > Self.maximumEntries {
            errors.append(FieldError(field: field, code: "too_many", message: "At most \(Self.maximumEntries) entries."))
        }
        for (index, write) in (cacheWrites ?? []).prefix(Self.maximumEntries).enumerated() {
            let path = "usage.cache_writes[\(index)]"
            guard (0...ReportedNumbers.maximumCount).contains(write.tokens) else {
                errors.append(FieldError(field: "\(path).tokens", code: "out_of_range", message: "Must be 0 to \(ReportedNumbers.maximumCount)."))
                continue
            }
            switch write.ttl {
            case "5m": usage.cachedInputWriteTokens = Usage.saturatingSum([usage.cachedInputWriteTokens, write.tokens])
            case "1h": usage.cachedInputWriteOneHourTokens = Usage.saturatingSum([usage.cachedInputWriteOneHourTokens, write.tokens])
            case "12h": usage.cachedInputWriteTwelveHourTokens = Usage.saturatingSum([usage.cachedInputWriteTwelveHourTokens, write.tokens])
            default: errors.append(FieldError(field: "\(path).ttl", code: "invalid_value", message: "ttl is one of 5m, 1h, 12h."))
            }
        }
        func dimension(_ value: String?, _ path: String) -> String? {
            if let value, value.isEmpty || value.unicodeScalars.count > Self.maximumDimensionLength {
                errors.append(FieldError(field: path, code: "invalid_value", message: "1 to \(Self.maximumDimensionLength) characters."))
            }
            return value
        }
        for (index, image) in (images ?? []).prefix(Self.maximumEntries).enumerated() {
            let path = "usage.images[\(index)]"
            usage.images.append(ImageQuantity(
                count: image.count, size: dimension(image.size, "\(path).size"), quality: dimension(image.quality, "\(path).quality"),
                resolution: dimension(image.resolution, "\(path).resolution")))
        }
        for (index, clip) in (video ?? []).prefix(Self.maximumEntries).enumerated() {
            let path = "usage.video[\(index)]"
            guard let seconds = Self.seconds(clip.seconds) else {
                errors.append(FieldError(field: "\(path).seconds", code: "invalid_value",
                                         message: "A decimal string of at most \(ReportedNumbers.maximumSeconds) seconds, at most 3 decimals."))
                continue
            }
            usage.video.append(VideoQuantity(seconds: seconds, resolution: dimension(clip.resolution, "\(path).resolution"),
                                             audio: clip.audio.map { $0 ? "on" : "off" }, count: clip.count ?? 1))
        }
        if let credits {
            if let amount = try? Money(parsing: credits), ReportedNumbers.amount(amount.amount) != nil {
                usage.credits = amount.amount
            } else {
                errors.append(FieldError(field: "usage.credits", code: "invalid_value", message: "A decimal string, 0 to \(ReportedNumbers.maximumAmount)."))
            }
        }
        if let providerReportedCost {
            if let amount = try? Money(parsing: providerReportedCost), ReportedNumbers.amount(amount.amount) != nil {
                usage.providerReportedCost = amount
            } else {
                errors.append(FieldError(field: "usage.provider_reported_cost", code: "invalid_value",
                                         message: "A decimal string, 0 to \(ReportedNumbers.maximumAmount)."))
            }
        }
        errors += usage.validationErrors.map { FieldError(field: "usage." + $0.field, code: $0.code, message: $0.message) }
        return usage
    }

    static func isDigit(_ character: Character) -> Bool { character.isASCII && character.isWholeNumber }

    /// `8`, `5.5`, `0.125`: digits with at most 3 decimals, at most a day.
    static func seconds(_ text: String) -> Decimal? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), let whole = parts.first, (1...5).contains(whole.count),
              whole.allSatisfy(Self.isDigit), parts.count == 1 || (1...3).contains(parts[1].count) && parts[1].allSatisfy(Self.isDigit),
              let value = Decimal(string: text, locale: Locale(identifier: "en_US_POSIX")) else { return nil }
        return ReportedNumbers.seconds(value)
    }
}
