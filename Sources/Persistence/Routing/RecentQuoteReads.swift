import Domain
import Foundation
import Synchronization

/// Admissions' quote reads kept for a short time (`ADMISSION_READ_REUSE_MS`), so the next admission
/// of the same project under the same token skips that round trip. Only a read that found the
/// project, a pricing version and (when it checked one) a live session is kept; a kept read is
/// handed out marked `reused`, and what an admission refuses on one is decided again on fresh reads
/// (`GenerationAdmission.admit`). This process forgets every kept read whenever it writes through
/// the API anything they show (`forgetAll`, called after such a request); writes made elsewhere
/// (another server, an operator's SQL, the attempt reports' health and rate observations) show
/// once a kept read is older than the maximum age.
public final class RecentQuoteReads: Sendable {
    /// The most reads kept: beyond it the expired ones are dropped, and all of them if none is.
    public static let capacity = 4_096
    /// The longest reuse configurable, in milliseconds.
    public static let maximumAgeLimitMilliseconds = 10_000

    public let maximumAgeMilliseconds: Int
    private let maximumAgeNanoseconds: UInt64
    private struct Kept {
        let reads: QuoteReads
        /// When the read began (monotonic): its age counts from before anything it shows was read.
        let readAt: UInt64
    }
    private let state = Mutex<(kept: [SharedQuoteReadKey: Kept], epoch: UInt64)>(([:], 0))

    /// `maximumAgeMilliseconds` is clamped to 0...`maximumAgeLimitMilliseconds`; 0 keeps nothing.
    public init(maximumAgeMilliseconds: Int) {
        let age = min(max(maximumAgeMilliseconds, 0), Self.maximumAgeLimitMilliseconds)
        self.maximumAgeMilliseconds = age
        maximumAgeNanoseconds = UInt64(age) * 1_000_000
    }

    public var isEnabled: Bool { maximumAgeNanoseconds > 0 }

    /// How many reads are kept now (expired ones not yet dropped included).
    public var count: Int { state.withLock { $0.kept.count } }

    /// Drops every kept read. A read in flight meanwhile is not kept either: it may have begun
    /// before the write that called this.
    public func forgetAll() {
        state.withLock { state in
            state.kept.removeAll()
            state.epoch &+= 1
        }
    }

    /// The kept read for `key` if it is young enough (marked `reused`) and `renew` is false, else
    /// `read()`, kept in its place when it may be (and the old one dropped when it may not).
    func reads(for key: SharedQuoteReadKey, renew: Bool = false, read: () throws -> QuoteReads) throws -> QuoteReads {
        guard isEnabled else { return try read() }
        let began = DispatchTime.now().uptimeNanoseconds
        let (kept, epoch) = state.withLock { state -> (QuoteReads?, UInt64) in
            guard !renew, let kept = state.kept[key], began &- kept.readAt < maximumAgeNanoseconds else { return (nil, state.epoch) }
            return (kept.reads, state.epoch)
        }
        if var kept {
            kept.reused = true
            return kept
        }
        let fresh = try read()
        guard Self.mayKeep(fresh, checkedSession: key.checksSession, at: Date()) else {
            state.withLock { _ = $0.kept.removeValue(forKey: key) }
            return fresh
        }
        state.withLock { state in
            guard state.epoch == epoch else { return }
            if state.kept.count >= Self.capacity, state.kept[key] == nil {
                let now = DispatchTime.now().uptimeNanoseconds
                state.kept = state.kept.filter { now &- $0.value.readAt < maximumAgeNanoseconds }
                if state.kept.count >= Self.capacity { state.kept.removeAll() }
            }
            state.kept[key] = Kept(reads: fresh, readAt: began)
        }
        return fresh
    }

    /// Only reads an admission can go ahead on: refusals are always read afresh.
    static func mayKeep(_ reads: QuoteReads, checkedSession: Bool, at now: Date) -> Bool {
        guard reads.project != nil, reads.pricingVersionID != nil else { return false }
        guard checkedSession else { return true }
        guard let session = reads.session else { return false }
        return session.refusal(at: now) == nil
    }
}
