import Domain
import Foundation

/// The `parameters` member of a quote, a generation and a batch item, in the catalog's
/// vocabulary: each member is named as `GET /v1/providers` names the parameter, and is checked
/// against the chosen model's allowed values by the quote (and so by admission). Structured
/// inputs (`input_image`, `voice_settings`) are not taken in a request body yet.
struct ParametersBody: Decodable {
    let systemPrompt: String?
    let maxOutputTokens: Int?
    let temperature: Double?
    let size: String?
    let quality: String?
    let count: Int?
    let durationSeconds: Int?
    let resolution: String?
    let aspectRatio: String?
    let voice: String?
    let speed: Double?
    let outputFormat: String?
    let seed: Int?
    let negativePrompt: String?
    let audio: Bool?

    var settings: GenerationSettings {
        GenerationSettings(parameters: GenerationParameters(
            systemPrompt: systemPrompt, maxOutputTokens: maxOutputTokens, temperature: temperature.flatMap(Self.decimal),
            size: size, quality: quality, count: count, durationSeconds: durationSeconds, resolution: resolution,
            aspectRatio: aspectRatio, voice: voice, speed: speed.flatMap(Self.decimal), outputFormat: outputFormat,
            seed: seed, negativePrompt: negativePrompt, audio: audio))
    }

    /// The number as written (a JSON number's shortest form), so `0.7` is checked as 0.7 exactly.
    private static func decimal(_ value: Double) -> Decimal? {
        value.isFinite ? Decimal(string: String(value), locale: Locale(identifier: "en_US_POSIX")) : nil
    }
}
