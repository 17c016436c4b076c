import Foundation

/// `/_fake/...`: counters, recorded requests, scripted behaviours, reset. Not part of any
/// provider's API, so the paths cannot collide with one.
struct ControlEndpoints: Sendable {
    let providers: [any ProviderFake]

    func handle(_ request: FakeRequest, router: FakeRouter) -> FakeResponse {
        switch (request.method, request.path) {
        case ("GET", "/_fake/health"):
            return .json(200, ["status": "ok"])
        case ("GET", "/_fake/counters"):
            return .json(200, router.recorder.countersJSON())
        case ("GET", "/_fake/requests"):
            let provider = request.query["provider"].flatMap { name in providers.contains { $0.name == name } ? name : nil }
            if request.query["provider"] != nil && provider == nil { return problem(400, "unknown provider") }
            let limit = request.query["limit"].flatMap { Int($0) }.map { min(max($0, 1), Recorder.requestsKeptPerProvider * 7) }
            return .json(200, router.recorder.requestsJSON(provider: provider, route: request.query["route"],
                                                           limit: limit ?? Recorder.requestsKeptPerProvider))
        case ("POST", "/_fake/reset"):
            router.recorder.reset()
            router.tasks.reset()
            router.holds.release()
            return .empty(204)
        case ("POST", "/_fake/release"):
            return .json(200, ["released": .int(router.holds.release())])
        case ("POST", "/_fake/script"):
            return script(request, router: router)
        case ("GET", "/_fake/behaviors"):
            return .json(200, [
                "behaviors": .array(BehaviorName.allCases.map { .string($0.rawValue) }),
                "header": .string("X-Fake-Behavior"),
                "marker": "[fake:NAME] or [fake:NAME_once] or [fake:NAME:SECONDS] in the body or the API key",
                "providers": .object(providers.map { ($0.name, .array($0.prefixes.map(JSONValue.string))) }),
            ])
        default:
            return problem(404, "unknown control endpoint; see GET /_fake/behaviors")
        }
    }

    /// `{"provider":"runway","route":"GET /v1/tasks/{id}","behavior":"server_error","times":2}`:
    /// the next `times` matching requests get `behavior`, whatever they carry.
    private func script(_ request: FakeRequest, router: FakeRouter) -> FakeResponse {
        guard let body = RequestJSON.parse(request.body), let provider = body["provider"]?.string,
              providers.contains(where: { $0.name == provider }) else {
            return problem(400, "body must be {\"provider\": <name>, \"behavior\": <name>, \"route\"?, \"times\"?}")
        }
        guard let text = body["behavior"]?.string, let behavior = Behavior.parse(Substring(text)) else {
            return problem(400, "unknown behavior")
        }
        let route = body["route"]?.string.map { String($0.prefix(200)) }
        let times = body["times"].map { $0.int(in: 1...1000) } ?? 1
        guard let times else { return problem(400, "times must be a whole number from 1 to 1000") }
        guard router.recorder.addScript(Recorder.Script(provider: provider, route: route, behavior: behavior, remaining: times)) else {
            return problem(429, "too many scripts queued (at most \(Recorder.scriptsKept)); POST /_fake/reset")
        }
        return .json(201, ["provider": .string(provider), "route": .optional(route), "behavior": .string(behavior.header),
                           "times": .int(times)])
    }

    private func problem(_ status: Int, _ message: String) -> FakeResponse {
        .json(status, ["error": .string(message)])
    }
}
