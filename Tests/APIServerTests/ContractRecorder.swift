@testable import APIServer
import Foundation
import Synchronization

/// Appends every response the test servers send, as one JSON line, to the file named by
/// `CONTRACT_RECORD` (scripts/test.sh sets it). scripts/check-contract.py then checks each one
/// against openapi.yaml (status documented, content type, body schema) and that every documented
/// status of every operation was produced by some test.
final class ContractRecorder: Sendable {
    static let shared: ContractRecorder? = {
        guard let path = ProcessInfo.processInfo.environment["CONTRACT_RECORD"], !path.isEmpty else { return nil }
        return ContractRecorder(path: path)
    }()

    private let file: Mutex<FileHandle>

    init?(path: String) {
        if !FileManager.default.fileExists(atPath: path) {
            _ = FileManager.default.createFile(atPath: path, contents: nil)
        }
        guard let file = FileHandle(forWritingAtPath: path) else { return nil }
        file.seekToEndOfFile()
        self.file = Mutex(file)
    }

    /// Routes registered by a test on top of the real table (`extraRoutes`) are not in the spec;
    /// the checker ignores what it cannot attribute to a documented operation.
    func record(_ request: HTTPRequest, route: String, response: HTTPResponse) {
        var entry: [String: Any] = [
            "method": request.method, "path": request.path, "route": route, "status": response.status,
            "content_type": response.header("Content-Type") ?? NSNull(), "body_bytes": response.body.count,
            "headers": Dictionary(response.headers.map { ($0.0.lowercased(), $0.1) }) { first, _ in first },
        ]
        entry["body"] = String(data: response.body, encoding: .utf8) ?? NSNull()
        guard var line = try? JSONSerialization.data(withJSONObject: entry, options: [.sortedKeys]) else { return }
        line.append(0x0A)
        file.withLock { $0.write(line) }
    }
}
