import Domain
import Foundation

extension GenerationRunner {
    /// Renews the generation's lease every third of its length while `body` (a step) runs: a
    /// provider call or an output's download may outlast the lease, and a worker must not take
    /// over (and end as an unknown outcome, or submit again) a generation this live process is
    /// still waiting on. Single generations and batch items alike.
    func renewingLease<T>(of id: UUID, claimsJSON: String, while body: () async throws -> T) async throws -> T {
        let interval = max(1, Double(leaseSeconds) / 3)
        let heartbeat = RepeatingDeadline(every: interval) { [self] in
            _ = try? store.advance(id, to: nil, changes: GenerationChanges(leaseSeconds: leaseSeconds), event: nil, claimsJSON: claimsJSON)
        }
        defer { heartbeat.stop() }
        return try await body()
    }
}
