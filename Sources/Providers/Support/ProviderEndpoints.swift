import Domain
import Foundation

/// Each provider's base URL. Configurable so tests, fake servers and self-hosted proxies can
/// stand in for the real hosts; defaults are the real hosts (providers.md §0).
public struct ProviderEndpoints: Sendable, Equatable {
    public var openAI: String
    public var anthropic: String
    public var openRouter: String
    public var elevenLabs: String
    public var runway: String
    /// The Gemini API, where Veo runs.
    public var gemini: String
    /// FAL's queue host: submit, status, result, cancel.
    public var falQueue: String
    /// FAL's platform API, used only for the key check (pricing lookup).
    public var falAPI: String

    public init(openAI: String = "https://api.openai.com/v1",
                anthropic: String = "https://api.anthropic.com",
                openRouter: String = "https://openrouter.ai/api/v1",
                elevenLabs: String = "https://api.elevenlabs.io",
                runway: String = "https://api.dev.runwayml.com",
                gemini: String = "https://generativelanguage.googleapis.com/v1beta",
                falQueue: String = "https://queue.fal.run",
                falAPI: String = "https://api.fal.ai/v1") {
        self.openAI = openAI
        self.anthropic = anthropic
        self.openRouter = openRouter
        self.elevenLabs = elevenLabs
        self.runway = runway
        self.gemini = gemini
        self.falQueue = falQueue
        self.falAPI = falAPI
    }

    public static let defaults = ProviderEndpoints()

    public struct Variable: Sendable, Equatable {
        public let name: String
        public let defaultValue: String
        public let provider: ProviderID
    }

    /// Every environment variable `fromEnvironment` reads, with its default (for `.env.example`).
    public static let variables: [Variable] = [
        Variable(name: "OPENAI_BASE_URL", defaultValue: defaults.openAI, provider: .openai),
        Variable(name: "ANTHROPIC_BASE_URL", defaultValue: defaults.anthropic, provider: .anthropic),
        Variable(name: "OPENROUTER_BASE_URL", defaultValue: defaults.openRouter, provider: .openrouter),
        Variable(name: "ELEVENLABS_BASE_URL", defaultValue: defaults.elevenLabs, provider: .elevenlabs),
        Variable(name: "RUNWAY_BASE_URL", defaultValue: defaults.runway, provider: .runway),
        Variable(name: "GEMINI_BASE_URL", defaultValue: defaults.gemini, provider: .veo),
        Variable(name: "FAL_QUEUE_BASE_URL", defaultValue: defaults.falQueue, provider: .fal),
        Variable(name: "FAL_API_BASE_URL", defaultValue: defaults.falAPI, provider: .fal),
    ]

    /// Reads the variables, trimming a trailing slash. Unset or empty means the default; a value
    /// that is not an absolute http(s) URL is a configuration error, one problem per variable.
    public static func fromEnvironment(_ environment: [String: String]) throws(EndpointConfigurationError) -> ProviderEndpoints {
        var endpoints = ProviderEndpoints.defaults
        var problems: [String] = []
        for variable in variables {
            guard let raw = environment[variable.name]?.trimmingCharacters(in: .whitespaces), !raw.isEmpty else { continue }
            var value = raw
            while value.hasSuffix("/") { value.removeLast() }
            guard let url = URL(string: value), let scheme = url.scheme?.lowercased(),
                  scheme == "http" || scheme == "https", url.host != nil, url.query == nil else {
                problems.append("\(variable.name) must be an absolute http(s) URL without a query, got \"\(raw)\"")
                continue
            }
            switch variable.name {
            case "OPENAI_BASE_URL": endpoints.openAI = value
            case "ANTHROPIC_BASE_URL": endpoints.anthropic = value
            case "OPENROUTER_BASE_URL": endpoints.openRouter = value
            case "ELEVENLABS_BASE_URL": endpoints.elevenLabs = value
            case "RUNWAY_BASE_URL": endpoints.runway = value
            case "GEMINI_BASE_URL": endpoints.gemini = value
            case "FAL_QUEUE_BASE_URL": endpoints.falQueue = value
            case "FAL_API_BASE_URL": endpoints.falAPI = value
            default: break
            }
        }
        guard problems.isEmpty else { throw EndpointConfigurationError(problems: problems) }
        return endpoints
    }
}

public struct EndpointConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    public let problems: [String]
    public var description: String { problems.joined(separator: "\n") }
}
