import Foundation

struct FakeSettings: Sendable {
    /// The delay of `slow` when the selector gives none; longer than any sane client timeout.
    var slowSeconds: Double = 30
    var maximumBodyBytes = 8 << 20
}

/// Finds the provider by path prefix, chooses the behaviour, counts and records the request,
/// and applies transport misbehaviour on top of the provider's answer.
final class FakeRouter: Sendable {
    let providers: [any ProviderFake]
    let settings: FakeSettings
    let recorder = Recorder()
    let tasks = TaskStore()
    /// Streams held by `held` until `POST /_fake/release`.
    let holds = StreamHolds()
    private let control: ControlEndpoints

    init(settings: FakeSettings, providers: [any ProviderFake] = FakeRouter.allProviders) {
        self.providers = providers
        self.settings = settings
        self.control = ControlEndpoints(providers: providers)
    }

    static let allProviders: [any ProviderFake] = [
        OpenAIFake(), AnthropicFake(), OpenRouterFake(), ElevenLabsFake(), RunwayFake(), VeoFake(), FALFake(),
    ]

    /// The request header that selects a behaviour for clients that can set headers.
    static let behaviorHeader = "x-fake-behavior"

    func handle(_ request: FakeRequest) -> FakeResponse {
        if request.path == "/_fake" || request.path.hasPrefix("/_fake/") {
            return control.handle(request, router: self)
        }
        guard let (provider, prefix) = match(request.path) else {
            return .json(404, ["error": "no fake provider serves this path",
                               "prefixes": .array(providers.flatMap(\.prefixes).map(JSONValue.string))])
        }
        let path = String(request.path.dropFirst(prefix.count))
        let route = provider.route(method: request.method, path: path.isEmpty ? "/" : path)
        let routeName = route ?? "unmatched"
        let behavior = select(provider: provider, route: routeName, request: request)
        let sequence = recorder.record(provider: provider.name, route: routeName, request: request, behavior: behavior)
        var response = produce(provider: provider, route: route, path: path, prefix: prefix, behavior: behavior, request: request)
        response.headers += provider.commonHeaders(route: routeName, status: response.status)
        recorder.finish(provider: provider.name, sequence: sequence, status: response.status)
        return response
    }

    /// The longest matching prefix wins, so `/fal/queue` and `/fal/api` stay apart.
    func match(_ path: String) -> (any ProviderFake, String)? {
        var best: (any ProviderFake, String)?
        for provider in providers {
            for prefix in provider.prefixes where path == prefix || path.hasPrefix(prefix + "/") {
                if prefix.count > (best?.1.count ?? -1) { best = (provider, prefix) }
            }
        }
        return best
    }

    /// Scripted behaviour first, then the header, then a marker in the key, then in the body.
    func select(provider: any ProviderFake, route: String, request: FakeRequest) -> Behavior {
        if let scripted = recorder.takeScript(provider: provider.name, route: route) { return scripted }
        if let header = request.header(Self.behaviorHeader), let behavior = Behavior.parse(Substring(header)) {
            return behavior
        }
        if let key = provider.credential(request), let behavior = Behavior.marker(in: key) { return behavior }
        if let behavior = Behavior.marker(in: request.bodyText) { return behavior }
        return .success
    }

    private func produce(provider: any ProviderFake, route: String?, path: String, prefix: String, behavior: Behavior,
                         request: FakeRequest) -> FakeResponse {
        guard let route else {
            return provider.error(.notFound("Unknown request URL: \(request.method) \(request.path)"))
        }
        if let refusal = provider.authenticate(request, route: route) { return refusal }
        var effective = behavior
        if behavior.once {
            var hasher = Hasher()
            hasher.combine(provider.name)
            hasher.combine(route)
            hasher.combine(request.path)
            hasher.combine(request.body)
            if !recorder.firstTime(hasher.finalize()) { effective = .success }
        }
        switch effective.name {
        case .badRequest: return provider.error(.badRequest("Invalid request (fake: bad_request)"))
        case .unauthorized: return provider.error(.unauthorized)
        case .forbidden: return provider.error(.forbidden)
        case .notFound: return provider.error(.notFound("The requested resource does not exist (fake: not_found)"))
        case .rateLimited: return provider.error(.rateLimited(retryAfter: effective.value ?? 1))
        case .quotaExhausted: return provider.error(.quotaExhausted)
        case .serverError: return provider.error(.serverError)
        case .unavailable: return provider.error(.unavailable)
        case .overloaded: return provider.error(.overloaded)
        default: break
        }
        let call = FakeCall(request: request, path: path.isEmpty ? "/" : path, route: route, behavior: effective,
                            base: request.origin + prefix, tasks: tasks)
        var response = provider.respond(call)
        switch effective.name {
        case .slow:
            response.delay = effective.value ?? settings.slowSeconds
        case .paced:
            response.pace = effective.value ?? 0.05
        case .held:
            // `held:SECONDS` paces the events after the release.
            response.hold = true
            response.pace = effective.value ?? 0
        case .truncatedJSON where response.events != nil:
            response.cutOff = true
        case .truncatedJSON where response.isJSON:
            response.body = response.body.prefix(max(1, response.body.count / 2))
        case .truncatedJSON, .cutOff:
            response.cutOff = true
        case .invalidJSON:
            response = FakeResponse(status: 200, headers: [("Content-Type", "application/json")],
                                    body: Data("<html><body><h1>502 Bad Gateway</h1> not JSON {\"id\": </body></html>".utf8))
        default:
            break
        }
        return response
    }
}
