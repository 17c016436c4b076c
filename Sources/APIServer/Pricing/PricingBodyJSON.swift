import Domain
import Foundation
import Persistence

/// The bodies of `GET /v1/pricing` written lately, per filter. The body is the same for every
/// user, changes only with the current pricing version, and writing it (every model's prices, each
/// amount formatted from its `Decimal`, about 100 KB) cost about 4 ms of CPU a request: apps and SDKs
/// read it at start-up and dashboards with every cost view.
///
/// A body is reused only for the very version it was written from: the store hands back the same
/// decoded version (the same storage of its models) until another one is current, and the entry
/// keeps that version alive, so its storage cannot be reused by another. Any other version, equal
/// or not, is written afresh.
enum PricingBodyJSON {
    struct Filter: Hashable, Sendable {
        let provider: String?
        let model: String?
    }

    struct Entry: Sendable {
        let version: PricingVersion
        let json: Data
    }

    /// Each entry weighs its body's bytes, at most 256 KiB a shard (two unfiltered bodies): 4 MiB in all.
    static let shared = ThreadShardedMemo<Filter, Entry>(capacityPerShard: 32, weightPerShard: 256 << 10)

    static func body(of version: PricingVersion, provider: String?, model: String?) throws -> Data {
        let filter = Filter(provider: provider, model: model)
        if let known = shared.value(for: filter), isSameVersion(known.version, version) { return known.json }
        let models = version.models.filter { priced in
            (provider == nil || priced.provider == provider) && (model == nil || priced.model == model)
        }
        let json = try JSONCoding.encoder.encode(PricingBody(version: version, models: models))
        shared.remember(Entry(version: version, json: json), for: filter, weight: json.count)
        return json
    }

    /// The same decoded models (alive in both) and the same texts around them, byte for byte. The
    /// fingerprint is computed from the models, so the same models have the same one.
    static func isSameVersion(_ a: PricingVersion, _ b: PricingVersion) -> Bool {
        let sameModels = a.models.withUnsafeBufferPointer { a in
            b.models.withUnsafeBufferPointer { b in a.baseAddress == b.baseAddress && a.count == b.count }
        }
        return sameModels && a.id.utf8.elementsEqual(b.id.utf8) && a.label.utf8.elementsEqual(b.label.utf8)
            && a.effectiveFrom.utf8.elementsEqual(b.effectiveFrom.utf8) && a.currency.utf8.elementsEqual(b.currency.utf8)
    }
}
