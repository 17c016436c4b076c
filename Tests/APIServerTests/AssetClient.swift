@testable import APIServer
import Foundation
@testable import Providers
import TestSupport
import XCTest

/// Helpers that speak /v1/assets to a TestServer, and small media files built in memory.
extension TestServer {
    func upload(_ bytes: Data, type: String, project: String, query: String = "", token: String) throws -> HTTPTestConnection.Response {
        try connect().request("POST", "/v1/assets?project_id=\(project)" + query,
                              headers: ["Authorization": "Bearer \(token)", "Content-Type": type], body: bytes)
    }

    /// Uploads and returns the asset's JSON, failing the test on anything but 201.
    func uploadAsset(_ bytes: Data, type: String, project: String, query: String = "", token: String,
                     file: StaticString = #filePath, line: UInt = #line) throws -> [String: Any] {
        let response = try upload(bytes, type: type, project: project, query: query, token: token)
        XCTAssertEqual(response.status, 201, response.text, file: file, line: line)
        return try response.json()
    }

    /// A user with one project: (token, project id).
    func assetUser(_ email: String) throws -> (token: String, project: String) {
        let token = try signUp(email).accessToken
        let project = try XCTUnwrap(try createProject(["name": "Assets"], token: token)["id"] as? String)
        return (token, project)
    }
}

enum MediaSamples {
    /// A real PNG (stored deflate), `width` × `height`, one colour.
    static func png(width: Int, height: Int) -> Data {
        PNGWriter.encode(width: width, height: height, rgb: [UInt8](repeating: 0x7F, count: width * height * 3))
    }

    /// PCM WAV: 16-bit mono at 8 kHz (16,000 bytes a second) lasting `milliseconds`.
    static func wav(milliseconds: Int) -> Data {
        let dataBytes = milliseconds * 16
        func le32(_ value: Int) -> [UInt8] { (0..<4).map { UInt8((value >> (8 * $0)) & 0xFF) } }
        func le16(_ value: Int) -> [UInt8] { (0..<2).map { UInt8((value >> (8 * $0)) & 0xFF) } }
        var bytes = Array("RIFF".utf8) + le32(36 + dataBytes) + Array("WAVE".utf8)
        bytes += Array("fmt ".utf8) + le32(16) + le16(1) + le16(1) + le32(8000) + le32(16000) + le16(2) + le16(16)
        bytes += Array("data".utf8) + le32(dataBytes) + [UInt8](repeating: 0, count: dataBytes)
        return Data(bytes)
    }

    /// The head of an MP4 (an `ftyp` box) followed by `size` bytes in all: recognised as video/mp4 by its magic.
    static func mp4Head() -> Data {
        Data([0, 0, 0, 0x18] + Array("ftypisom".utf8) + [0, 0, 2, 0] + Array("isomiso2".utf8))
    }

    /// Resident memory of this process (the in-process test server's too), in bytes.
    static func residentBytes() -> Int {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
        let fields = text.split(separator: " ")
        guard fields.count > 1, let pages = Int(fields[1]) else { return 0 }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }

    /// Sends a body with chunked transfer encoding, `chunks` pieces of `piece`, sampling resident
    /// memory after each; returns the response and the highest sample.
    static func chunkedUpload(_ server: TestServer, path: String, type: String, token: String, head: Data, piece: Data,
                              chunks: Int) throws -> (HTTPTestConnection.Response, peakResident: Int) {
        let connection = try server.connect()
        try connection.send("POST \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(token)\r\nContent-Type: \(type)\r\n"
                            + "Transfer-Encoding: chunked\r\n\r\n")
        var peak = residentBytes()
        func chunk(_ data: Data) throws {
            try connection.send(Data(String(data.count, radix: 16).utf8) + Data("\r\n".utf8) + data + Data("\r\n".utf8))
        }
        try chunk(head)
        for _ in 0..<chunks {
            try chunk(piece)
            peak = max(peak, residentBytes())
        }
        try connection.send("0\r\n\r\n")
        let response = try connection.readResponse()
        return (response, max(peak, residentBytes()))
    }
}
