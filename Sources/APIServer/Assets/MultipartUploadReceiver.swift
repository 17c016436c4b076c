import Domain
import Foundation
import Synchronization

/// `POST /v1/assets` with `multipart/form-data` (an HTML form's file input): the one file part is
/// found and its bytes handed to an `AssetUploadReceiver` as they arrive, never gathered. The part's
/// own `Content-Type` is the declared type and its `filename` the name; other parts are skipped
/// (at most 64 KiB of them). The parser keeps only a delimiter's length of look-behind between pieces.
final class MultipartUploadReceiver: UploadReceiver {
    /// Builds the file receiver once the part's headers say what the file is.
    typealias Open = @Sendable (_ declared: UploadMediaType, _ filename: String?) throws -> AssetUploadReceiver

    private enum Phase {
        /// Before the first delimiter, or between parts.
        case seekingPart
        case headers
        /// Inside the file part (`file` set) or a skipped part.
        case body
        case done
    }

    private struct State {
        var phase = Phase.seekingPart
        var pending: [UInt8] = []
        var file: AssetUploadReceiver?
        var inFile = false
        var skipped = 0
        var finished = false
    }

    static let maximumHeaderBytes = 8 * 1024
    static let maximumSkippedBytes = 64 * 1024

    private let delimiter: [UInt8]
    private let open: Open
    private let state = Mutex(State())

    /// nil when `contentType` is not multipart/form-data with a usable boundary.
    init?(contentType: String, open: @escaping Open) {
        let parts = contentType.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
        guard parts.first?.lowercased() == "multipart/form-data",
              let parameter = parts.dropFirst().first(where: { $0.lowercased().hasPrefix("boundary=") })
        else { return nil }
        var boundary = String(parameter.dropFirst("boundary=".count))
        if boundary.hasPrefix("\""), boundary.hasSuffix("\""), boundary.count >= 2 { boundary = String(boundary.dropFirst().dropLast()) }
        guard (1...70).contains(boundary.utf8.count) else { return nil }
        // The first delimiter may open the body without a CRLF before it: one is assumed.
        delimiter = Array("\r\n--\(boundary)".utf8)
        self.open = open
        state.withLock { $0.pending = Array("\r\n".utf8) }
    }

    func receive(_ bytes: UnsafeRawBufferPointer) throws {
        try state.withLock { state in
            state.pending.append(contentsOf: bytes)
            try advance(&state)
        }
    }

    private func advance(_ state: inout State) throws {
        while true {
            switch state.phase {
            case .done:
                state.pending.removeAll()
                return
            case .seekingPart, .body:
                if let index = find(delimiter, in: state.pending) {
                    try deliver(&state, count: index)
                    state.pending.removeFirst(index + delimiter.count)
                    if state.inFile { state.finished = true }
                    state.inFile = false
                    state.phase = .headers
                } else {
                    // Everything but a possible delimiter's start is body.
                    let safe = max(0, state.pending.count - delimiter.count + 1)
                    try deliver(&state, count: safe)
                    state.pending.removeFirst(safe)
                    return
                }
            case .headers:
                guard let end = find(Array("\r\n\r\n".utf8), in: state.pending) else {
                    if state.pending.count >= 2, state.pending[0] == UInt8(ascii: "-"), state.pending[1] == UInt8(ascii: "-") {
                        state.phase = .done
                        continue
                    }
                    guard state.pending.count <= Self.maximumHeaderBytes else { throw Self.malformed() }
                    return
                }
                let block = String(decoding: state.pending[..<end], as: UTF8.self)
                state.pending.removeFirst(end + 4)
                try startPart(&state, headers: block)
            }
        }
    }

    private func startPart(_ state: inout State, headers block: String) throws {
        var disposition = ""
        var type: String?
        for line in block.split(separator: "\r\n") {
            let pair = line.split(separator: ":", maxSplits: 1)
            guard pair.count == 2 else { continue }
            let name = pair[0].trimmingCharacters(in: .whitespaces).lowercased()
            let value = pair[1].trimmingCharacters(in: .whitespaces)
            if name == "content-disposition" { disposition = value }
            if name == "content-type" { type = value }
        }
        let filename = Self.parameter("filename", in: disposition)
        state.phase = .body
        guard filename != nil || type != nil else { return }  // a plain form field: skipped
        guard state.file == nil else { throw Self.malformed("Send one file per upload.") }
        guard let declared = type.flatMap(UploadMediaType.init(declared:)) else { throw AssetProblems.unsupportedType(type) }
        state.file = try open(declared, filename.flatMap(FileNames.sanitised))
        state.inFile = true
    }

    private func deliver(_ state: inout State, count: Int) throws {
        guard count > 0 else { return }
        if state.inFile, let file = state.file {
            try state.pending.withUnsafeBytes { try file.receive(UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
        } else if state.phase == .body {
            state.skipped += count
            guard state.skipped <= Self.maximumSkippedBytes else { throw Self.malformed("Form fields besides the file are limited to 64 KiB.") }
        }
    }

    func finish() throws -> DeferredWork {
        let file = try state.withLock { state -> AssetUploadReceiver in
            guard let file = state.file, state.finished || state.phase == .done else { throw Self.malformed("The form has no complete file part.") }
            return file
        }
        return try file.finish()
    }

    func discard() {
        state.withLock { $0.file }?.discard()
    }

    private func find(_ needle: [UInt8], in haystack: [UInt8]) -> Int? {
        guard haystack.count >= needle.count, let first = needle.first else { return nil }
        var index = 0
        while index <= haystack.count - needle.count {
            if haystack[index] == first, haystack[index..<(index + needle.count)].elementsEqual(needle) { return index }
            index += 1
        }
        return nil
    }

    /// `name="value"` (or unquoted) in a Content-Disposition header.
    static func parameter(_ name: String, in header: String) -> String? {
        for part in header.split(separator: ";").dropFirst() {
            let pair = part.split(separator: "=", maxSplits: 1)
            guard pair.count == 2, pair[0].trimmingCharacters(in: .whitespaces).lowercased() == name else { continue }
            var value = pair[1].trimmingCharacters(in: .whitespaces)
            if value.hasPrefix("\""), value.hasSuffix("\""), value.count >= 2 { value = String(value.dropFirst().dropLast()) }
            return value
        }
        return nil
    }

    static func malformed(_ detail: String = "The multipart/form-data body is malformed.") -> Problem {
        Problem(status: 400, code: "bad_multipart", title: "Bad Request", detail: detail)
    }
}
