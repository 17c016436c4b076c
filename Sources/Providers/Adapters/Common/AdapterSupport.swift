import Domain
import Foundation

/// Small pieces every adapter needs, kept in one place so they behave the same everywhere.
enum AdapterSupport {
    static func requireKey(_ key: ProviderAPIKey?, for provider: ProviderID) throws(ProviderError) -> ProviderAPIKey {
        guard let key, !key.plaintext.isEmpty else {
            throw ProviderError(.invalidKey, provider: provider, message: "no API key configured for \(provider.displayName)")
        }
        return key
    }

    /// The model's capability after checking the request against it, so a bad request fails
    /// here, before anything is sent or paid for.
    static func validated(_ request: GenerationRequest, against capabilities: ProviderCapabilities) throws(ProviderError) -> ModelCapability {
        guard let model = capabilities.model(request.model, kind: request.kind) else {
            let offered = capabilities.models(for: request.kind).map(\.id)
            let detail = offered.isEmpty ? "offers no \(request.kind.rawValue) models"
                : "offers \(offered.joined(separator: ", ")) for \(request.kind.rawValue)"
            throw ProviderError(.unsupported, provider: capabilities.provider,
                                message: "unknown model \(request.model): \(capabilities.displayName) \(detail)")
        }
        let problems = model.validate(request)
        guard problems.isEmpty else {
            throw ProviderError(.badRequest, provider: capabilities.provider,
                                message: problems.map { "\($0.field): \($0.message)" }.joined(separator: "; "))
        }
        return model
    }

    static func jsonRequest(_ method: HTTPMethod, _ url: String, headers: [RequestHeader], body: WireJSON? = nil,
                            idempotent: Bool? = nil, maxResponseBytes: Int64? = nil) -> OutboundRequest {
        var all = headers
        if body != nil { all.append(RequestHeader("Content-Type", "application/json")) }
        all.append(RequestHeader("Accept", "application/json"))
        return OutboundRequest(method: method, url: url, headers: all, body: body?.serialized(),
                           maxResponseBytes: maxResponseBytes, isIdempotent: idempotent)
    }

    /// A fresh path in the request's output folder (created if needed).
    static func outputPath(in directory: String, fileExtension: String, provider: ProviderID) throws(ProviderError) -> String {
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw ProviderError(.generationFailed, provider: provider, message: "cannot create output folder: \(error.localizedDescription)",
                                retryOverride: false)
        }
        return (directory as NSString).appendingPathComponent("\(provider.rawValue)-\(UUID().lowercasedString).\(fileExtension)")
    }

    static func write(_ data: Data, to path: String, provider: ProviderID) throws(ProviderError) {
        do {
            try data.write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw ProviderError(.generationFailed, provider: provider, message: "cannot write output file: \(error.localizedDescription)",
                                retryOverride: false)
        }
    }

    static func fileSize(_ path: String) -> Int64 {
        ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber)?.int64Value ?? 0
    }

    /// Bytes and MIME type of an input image, for providers that want it inline.
    static func imageBytes(_ reference: ImageReference, provider: ProviderID) throws(ProviderError) -> (Data, String) {
        switch reference {
        case let .file(path, mimeType):
            guard let data = FileManager.default.contents(atPath: path) else {
                throw ProviderError(.badRequest, provider: provider, message: "input image file cannot be read")
            }
            return (data, mimeType)
        case let .url(text):
            guard let (data, mimeType) = parseDataURI(text) else {
                throw ProviderError(.badRequest, provider: provider,
                                    message: "\(provider.displayName) needs the input image's bytes: pass a file or a data: URI")
            }
            return (data, mimeType)
        }
    }

    /// A URL the provider fetches itself, or a `data:` URI built from a local file.
    static func imageURL(_ reference: ImageReference, provider: ProviderID) throws(ProviderError) -> String {
        switch reference {
        case let .url(text):
            let lower = text.lowercased()
            guard lower.hasPrefix("https://") || lower.hasPrefix("http://") || lower.hasPrefix("data:") else {
                throw ProviderError(.badRequest, provider: provider, message: "input image must be an http(s) or data: URL")
            }
            return text
        case .file:
            let (data, mimeType) = try imageBytes(reference, provider: provider)
            return "data:\(mimeType);base64,\(data.base64EncodedString())"
        }
    }

    static func parseDataURI(_ text: String) -> (Data, String)? {
        guard text.lowercased().hasPrefix("data:"), let comma = text.firstIndex(of: ",") else { return nil }
        let header = text[text.index(text.startIndex, offsetBy: 5)..<comma]
        guard header.hasSuffix(";base64"), let data = Data(base64Encoded: String(text[text.index(after: comma)...])) else {
            return nil
        }
        let mimeType = String(header.dropLast(7))
        return (data, mimeType.isEmpty ? "application/octet-stream" : mimeType)
    }

    /// The path part of a URL for `KeyValidation.checkedWith` (never the host or query).
    static func describe(_ method: HTTPMethod, _ url: String) -> String {
        "\(method.rawValue) \(URLComponents(string: url)?.path ?? url)"
    }

    /// A health probe: any HTTP answer below 500 other than 429 means the provider is up (a 401
    /// without a key still proves it answers); 429/5xx mean degraded; no answer means down.
    static func probe(_ http: ProviderHTTP, _ request: OutboundRequest, secrets: [String]) -> ProviderHealth {
        let started = Date()
        let outcome = http.client.perform(request)
        let latency = Int(Date().timeIntervalSince(started) * 1000)
        switch outcome {
        case let .success(response) where response.status == 429 || response.status >= 500:
            return ProviderHealth(provider: http.provider, status: .degraded, latencyMilliseconds: latency,
                                  detail: "HTTP \(response.status)")
        case let .success(response):
            return ProviderHealth(provider: http.provider, status: .up, latencyMilliseconds: latency,
                                  detail: "HTTP \(response.status)")
        case let .failure(error):
            return ProviderHealth(provider: http.provider, status: .down, latencyMilliseconds: latency,
                                  detail: SecretScrubber.scrub(error.message, secrets: secrets))
        }
    }

    static func mimeType(forExtension ext: String) -> String {
        switch ext.lowercased() {
        case "png": "image/png"
        case "jpg", "jpeg": "image/jpeg"
        case "webp": "image/webp"
        case "mp3": "audio/mpeg"
        case "wav": "audio/wav"
        case "flac": "audio/flac"
        case "aac": "audio/aac"
        case "opus", "ogg": "audio/ogg"
        case "pcm": "audio/pcm"
        case "mp4": "video/mp4"
        default: "application/octet-stream"
        }
    }

    static func fileExtension(forMIME mime: String) -> String? {
        switch mime.lowercased().split(separator: ";").first.map(String.init) ?? "" {
        case "image/png": "png"
        case "image/jpeg", "image/jpg": "jpg"
        case "image/webp": "webp"
        case "video/mp4": "mp4"
        case "video/webm": "webm"
        case "video/quicktime": "mov"
        case "audio/mpeg": "mp3"
        case "audio/wav", "audio/x-wav": "wav"
        default: nil
        }
    }

    /// Downloads a provider output URL to a file. Output URLs point at storage hosts (Runway's
    /// CDN, fal.media), so no credentials are sent unless `headers` carries them on purpose.
    ///
    /// The URL comes from the provider's answer, which for FAL can be any app a user deployed: the
    /// download connects to public internet addresses only (`PublicAddress`), unless the provider
    /// itself is configured on this machine or a private network (`providerBaseURL`: a test's fake,
    /// a gateway beside the server). The stored type is the answer's only when it is an image,
    /// video or audio type (not SVG, which can carry script); otherwise the extension's.
    static func download(_ url: String, http: ProviderHTTP, outputDirectory: String, defaultExtension: String,
                         headers: [RequestHeader] = [], maxRedirects: Int = 0, providerBaseURL: String,
                         secrets: [String]) async throws(ProviderError) -> OutputFile {
        let urlExtension = URL(string: url).map { $0.pathExtension.lowercased() } ?? ""
        let ext = urlExtension.isEmpty || urlExtension.count > 4 ? defaultExtension : urlExtension
        let path = try outputPath(in: outputDirectory, fileExtension: ext, provider: http.provider)
        var request = OutboundRequest(method: .get, url: url, headers: headers, destination: .file(path),
                                      maxRedirects: maxRedirects, isIdempotent: true)
        request.publicAddressesOnly = !PublicAddress.isLocalHost(ofURL: providerBaseURL)
        let response = try await http.send(request, secrets: secrets)
        let mime = response.headers["content-type"].flatMap(mediaType) ?? mimeType(forExtension: ext)
        return OutputFile(path: path, mimeType: mime, byteCount: response.bodyByteCount)
    }

    /// A Content-Type's media type when it is an image, video or audio type other than SVG; else nil.
    static func mediaType(_ contentType: String) -> String? {
        let base = contentType.split(separator: ";", omittingEmptySubsequences: false).first
            .map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
        guard ["image/", "video/", "audio/"].contains(where: base.hasPrefix), !base.contains("svg"), base.count <= 100,
              base.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "/.+-".contains($0)) }) else { return nil }
        return base
    }
}

/// Numbers read from provider responses, bounded where they enter (`ReportedNumbers`).
extension WireJSON {
    /// A count (tokens, characters, images): a whole number in 0...10¹²; anything else is nil.
    var count: Int? { ReportedNumbers.count(wholeNumber) }

    /// A charge in USD or credits: a finite decimal in 0...10⁶; anything else is nil.
    var amount: Decimal? { ReportedNumbers.amount(decimal) }

    /// A moment as whole seconds since 1970, within 1970...9999 (`ReportedNumbers.unixTime`); anything else is nil.
    var unixTime: Date? { ReportedNumbers.unixTime(wholeNumber) }

    /// `int` checked against the exact decimal, because converting a huge integral decimal to
    /// `Int` wraps instead of failing, and a wrapped value could look plausible.
    private var wholeNumber: Int? {
        guard let value = int, let exact = decimal, Decimal(value) == exact else { return nil }
        return value
    }
}
