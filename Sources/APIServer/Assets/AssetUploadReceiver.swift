import Domain
import Foundation
import Synchronization

/// One `POST /v1/assets` body on its way to storage: written to a file in the store's scratch
/// area as it arrives, counted against the kind's limit, its first bytes kept for sniffing and
/// text checked as UTF-8 on the way. Nothing but those few bytes is held in memory.
final class AssetUploadReceiver: UploadReceiver {
    struct Opened {
        let uploadID: UUID
        let identity: AuthenticatedIdentity
        let projectID: UUID
        let declared: UploadMediaType
        let limit: Int64
        /// The bytes the user kept when the upload began, counted against the quota (nil: no quota).
        let stored: Int64?
        let filename: String?
        let parents: [UUID]
        let requestID: String
    }

    private struct State {
        var descriptor: Int32 = -1
        var received: Int64 = 0
        var prefix: [UInt8] = []
        var text = UTF8Validator()
        /// `finish` took the file over, or `discard` removed it.
        var done = false
    }

    let opened: Opened
    let filePath: String
    private let components: AssetComponents
    // MHD calls one connection's handler from one thread at a time; the lock covers `discard` from the completion callback.
    private let state: Mutex<State>

    init(_ opened: Opened, components: AssetComponents) throws {
        self.opened = opened
        self.components = components
        let folder = try components.blobs.scratchDirectory(for: opened.uploadID)
        filePath = folder + "/upload"
        let descriptor = open(filePath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            try? components.blobs.delete(scratchOf: opened.uploadID)
            throw Problem.internalError()
        }
        state = Mutex(State(descriptor: descriptor))
    }

    func receive(_ bytes: UnsafeRawBufferPointer) throws {
        try state.withLock { state in
            guard !state.done else { return }
            state.received += Int64(bytes.count)
            // Refused the moment the limit is crossed: nothing more is written.
            if state.received > opened.limit { throw AssetProblems.tooLarge(limit: opened.limit, kind: opened.declared.kind) }
            if let stored = opened.stored { try components.storage.quota.check(used: stored, adding: state.received) }
            if state.prefix.count < MediaSniffer.prefixBytes {
                state.prefix.append(contentsOf: bytes.prefix(MediaSniffer.prefixBytes - state.prefix.count))
            }
            if opened.declared.kind == .text { state.text.feed(bytes) }
            var offset = 0
            while offset < bytes.count {
                let written = write(state.descriptor, bytes.baseAddress.map { $0 + offset }, bytes.count - offset)
                if written < 0, errno == EINTR { continue }
                guard written > 0 else { throw Problem.internalError() }
                offset += written
            }
        }
    }

    func finish() throws -> DeferredWork {
        let (prefix, validText, size) = try state.withLock { state -> ([UInt8], Bool, Int64) in
            guard !state.done else { throw Problem.internalError() }
            state.done = true
            close(state.descriptor)
            state.descriptor = -1
            return (state.prefix, state.text.finish(), state.received)
        }
        let components = self.components
        let opened = self.opened
        let path = filePath
        return DeferredWork(queue: components.queue, run: {
            try AssetIngest(components: components, opened: opened, path: path, prefix: prefix, validText: validText, size: size).run()
        }, finally: {
            try? components.blobs.delete(scratchOf: opened.uploadID)
        })
    }

    func discard() {
        let wasOpen = state.withLock { state -> Bool in
            guard !state.done else { return false }
            state.done = true
            if state.descriptor >= 0 { close(state.descriptor) }
            state.descriptor = -1
            return true
        }
        if wasOpen { try? components.blobs.delete(scratchOf: opened.uploadID) }
    }
}
