import Domain
import Foundation
import Synchronization

/// The settings and candidates of generations this process read lately, by generation id, with
/// the column texts they were decoded from. Both are written once, at creation, and a generation
/// may be read several times before it ends (by the runner's steps, a status poll) and once more
/// when it does (admission builds its record from what it sent, `GenerationSQL.admitted`, and reads
/// none of it): a later read finds the same texts and takes the values decoded from them instead of
/// parsing the conversation and the candidates again. A value is reused only for the identical
/// text, so what a read returns is what decoding that text returns. Entries go when their
/// generation is read ended; past `capacity` (generations read and never seen to end) all are dropped.
final class GenerationColumnsMemo: Sendable {
    struct Columns: Sendable {
        let parametersText: String
        let settings: GenerationSettings
        let candidatesText: String
        let candidates: [GenerationCandidate]
    }

    static let shared = GenerationColumnsMemo()

    private let entries = Mutex<[UUID: Columns]>([:])
    let capacity: Int

    init(capacity: Int = 4096) {
        self.capacity = max(1, capacity)
    }

    /// The generation's settings and candidates from these texts: remembered ones when the texts
    /// are the ones they were decoded from, else `decode`'s, remembered unless it has `ended`.
    func columns(of id: UUID, parametersText: String, candidatesText: String, ended: Bool,
                 decode: () throws -> (GenerationSettings, [GenerationCandidate])) rethrows -> (GenerationSettings, [GenerationCandidate]) {
        let known = entries.withLock { entries in ended ? entries.removeValue(forKey: id) : entries[id] }
        if let known, known.parametersText == parametersText, known.candidatesText == candidatesText {
            return (known.settings, known.candidates)
        }
        let (settings, candidates) = try decode()
        if !ended {
            let columns = Columns(parametersText: parametersText, settings: settings, candidatesText: candidatesText, candidates: candidates)
            entries.withLock { entries in
                if entries.count >= capacity, entries[id] == nil { entries.removeAll(keepingCapacity: true) }
                entries[id] = columns
            }
        }
        return (settings, candidates)
    }

    var count: Int { entries.withLock { $0.count } }
}
