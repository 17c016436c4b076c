import Domain
import Foundation
import Persistence

/// The bodies of `GET /v1/providers` written lately, per kind filter. Most of the body is the
/// catalog (every model with its parameters, about 50 KB), the same for every user until the
/// pricing changes; only the health part is the caller's. Writing it all took about 2.5 ms of CPU
/// a request, so the body is remembered with the catalog and the health it was written from.
///
/// The health is written (a few hundred bytes) on every request and compared byte for byte; the
/// catalog must be the very one the body was written from (the registry hands back the same built
/// catalog until the pricing changes, and the entry keeps it alive, so its storage cannot be reused
/// by another). Anything else is written afresh, so the body is always what `ProviderCatalogBody`
/// writes.
enum ProviderCatalogJSON {
    struct Entry: Sendable {
        let catalog: [ProviderCapabilities]
        let health: Data
        let json: Data
    }

    /// Keyed by the kind filter (nil: every kind). Each entry weighs its body's bytes, at most
    /// 256 KiB a shard: 4 MiB in all.
    static let shared = ThreadShardedMemo<MediaKind?, Entry>(capacityPerShard: 8, weightPerShard: 256 << 10)

    static func body(of catalog: [ProviderCapabilities], kind: MediaKind?, health: [ProviderID: ProviderHealthState],
                     at now: Date) throws -> Data {
        let shown = kind.map { kind in catalog.filter { $0.supports(kind) } } ?? catalog
        let healthBodies = shown.map { ProviderHealthBody(health[$0.provider] ?? .unknown, at: now) }
        let healthJSON = try JSONCoding.encoder.encode(healthBodies)
        if let known = shared.value(for: kind), isSame(known.catalog, catalog), known.health == healthJSON { return known.json }
        let json = try JSONCoding.encoder.encode(ProviderCatalogBody(data: zip(shown, healthBodies).map {
            ProviderBody($0, health: $1)
        }))
        shared.remember(Entry(catalog: catalog, health: healthJSON, json: json), for: kind, weight: json.count + healthJSON.count)
        return json
    }

    private static func isSame(_ a: [ProviderCapabilities], _ b: [ProviderCapabilities]) -> Bool {
        a.withUnsafeBufferPointer { a in b.withUnsafeBufferPointer { b in a.baseAddress == b.baseAddress && a.count == b.count } }
    }
}
