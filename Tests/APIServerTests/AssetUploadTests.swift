@testable import APIServer
import Foundation
import TestSupport
import XCTest

/// `POST /v1/assets`: streamed to storage, recognised by its bytes, limited per kind, named safely.
final class AssetUploadTests: XCTestCase {
    private var server: TestServer!

    override func setUpWithError() throws {
        server = try TestServer(environment: ["ASSET_MAX_IMAGE_BYTES": "1000000"])
    }

    override func tearDown() {
        server?.stop()
    }

    func testPNGUploadIsStoredWithItsDimensionsAndServedBackByteForByte() throws {
        let (token, project) = try server.assetUser("png@example.com")
        let png = MediaSamples.png(width: 37, height: 21)
        let response = try server.upload(png, type: "image/png", project: project, query: "&filename=kite.png", token: token)
        XCTAssertEqual(response.status, 201, response.text)
        let asset = try response.json()
        let id = try XCTUnwrap(asset["id"] as? String)
        XCTAssertEqual(response.header("location"), "/v1/assets/\(id)")
        XCTAssertEqual(asset["source"] as? String, "uploaded")
        XCTAssertEqual(asset["kind"] as? String, "image")
        XCTAssertEqual(asset["name"] as? String, "kite.png")
        XCTAssertEqual(asset["bytes"] as? Int, png.count)
        let preview = try XCTUnwrap(asset["preview"] as? [String: Any])
        XCTAssertEqual(preview["width"] as? Int, 37)
        XCTAssertEqual(preview["height"] as? Int, 21)
        let content = try server.get("/v1/assets/\(id)/content", token: token)
        XCTAssertEqual(content.status, 200)
        XCTAssertEqual(content.body, png)
        XCTAssertEqual(content.header("content-type"), "image/png")
        XCTAssertEqual(content.header("etag"), "\"\(asset["sha256"] as? String ?? "")\"")
        XCTAssertEqual(content.header("content-disposition"), "inline; filename=\"kite.png\"; filename*=UTF-8''kite.png")
        let read = try server.get("/v1/assets/\(id)", token: token)
        XCTAssertEqual(read.status, 200)
        let again = try server.connect().request("GET", "/v1/assets/\(id)",
                                                 headers: ["Authorization": "Bearer \(token)", "If-None-Match": read.header("etag") ?? ""])
        XCTAssertEqual(again.status, 304)
    }

    func testAudioDurationAndTextPreviewComeFromTheBytes() throws {
        let (token, project) = try server.assetUser("meta@example.com")
        let wav = try server.uploadAsset(MediaSamples.wav(milliseconds: 1250), type: "audio/wav", project: project, token: token)
        XCTAssertEqual((wav["preview"] as? [String: Any])?["duration_ms"] as? Int, 1250)
        XCTAssertEqual((wav["preview"] as? [String: Any])?["thumbnail"] as? String, "unavailable")
        let text = String(repeating: "Grüße, ", count: 60)
        let note = try server.uploadAsset(Data(text.utf8), type: "text/markdown; charset=utf-8", project: project, token: token)
        XCTAssertEqual(note["content_type"] as? String, "text/markdown; charset=utf-8")
        XCTAssertEqual((note["preview"] as? [String: Any])?["text"] as? String, String(text.prefix(200)))
        // Each character a letter with 20 combining marks: 200 graphemes would be 4,200 scalars.
        let zalgo = String(repeating: "a" + String(repeating: "\u{0301}", count: 20), count: 300)
        let heavy = try server.uploadAsset(Data(zalgo.utf8), type: "text/plain", project: project,
                                           query: "&filename=" + String(repeating: "e%CC%81", count: 130), token: token)
        XCTAssertEqual(((heavy["preview"] as? [String: Any])?["text"] as? String)?.unicodeScalars.count, 200)
        XCTAssertEqual((heavy["name"] as? String)?.unicodeScalars.count, 255)
        let json = try server.uploadAsset(Data(#"{"a": [1, 2]}"#.utf8), type: "application/json", project: project, token: token)
        XCTAssertEqual(json["kind"] as? String, "text")
    }

    func testBytesThatAreNotTheDeclaredTypeAre415() throws {
        let (token, project) = try server.assetUser("mismatch@example.com")
        let jpegBytes = Data([0xFF, 0xD8, 0xFF, 0xE0] + [UInt8](repeating: 1, count: 100))
        let cases: [(Data, String, String)] = [
            (jpegBytes, "image/png", "content_type_mismatch"),
            (MediaSamples.png(width: 2, height: 2), "video/mp4", "content_type_mismatch"),
            (MediaSamples.png(width: 2, height: 2), "text/plain", "content_type_mismatch"),
            (Data([0x61, 0x00, 0x62]), "text/plain", "content_type_mismatch"),
            (Data([0x61, 0xC3]), "text/plain", "content_type_mismatch"),
            (Data("{not json".utf8), "application/json", "content_type_mismatch"),
            (Data("hello".utf8), "application/x-msdownload", "unsupported_media_type"),
        ]
        for (bytes, type, code) in cases {
            let response = try server.upload(bytes, type: type, project: project, token: token)
            XCTAssertEqual(response.status, 415, "\(type): \(response.text)")
            XCTAssertEqual(try response.json()["code"] as? String, code, type)
        }
        let listed = try server.get("/v1/assets", token: token)
        XCTAssertEqual((try listed.json()["data"] as? [Any])?.count, 0, "nothing refused was stored")
        XCTAssertEqual(try scratchEntries(), [], "refused uploads leave no scratch files")
    }

    func testHostileFileNamesAreSanitisedAndNeverReachThePath() throws {
        let (token, project) = try server.assetUser("names@example.com")
        let hostile: [(String, String?)] = [
            ("..%2F..%2Fetc%2Fpasswd", "passwd"),
            ("..%5C..%5Cwindows%5Cwin.ini", "win.ini"),
            ("%2E%2E", nil),
            ("evil%0D%0AX-Injected%3A%201.png", "evilX-Injected 1.png"),
            ("%E2%80%AEgnp.exe", "gnp.exe"),
            ("%22quoted%22%3B.txt", "quoted.txt"),
        ]
        for (raw, expected) in hostile {
            let response = try server.upload(Data("hi".utf8), type: "text/plain", project: project, query: "&filename=\(raw)", token: token)
            guard let expected else {
                XCTAssertEqual(response.status, 422, raw)
                continue
            }
            XCTAssertEqual(response.status, 201, "\(raw): \(response.text)")
            let asset = try response.json()
            XCTAssertEqual(asset["name"] as? String, expected, raw)
            let content = try server.get("/v1/assets/\(asset["id"] as? String ?? "")/content?disposition=attachment", token: token)
            let disposition = try XCTUnwrap(content.header("content-disposition"))
            XCTAssertTrue(disposition.hasPrefix("attachment; filename=\""), disposition)
            XCTAssertFalse(disposition.contains("\r") || disposition.contains("\n") || disposition.contains("/"), disposition)
        }
        let bad = try server.get("/v1/assets/\(UUID().uuidString)/content?disposition=sideways", token: token)
        XCTAssertEqual(bad.status, 404, "an unknown asset is 404 before its query is judged")
    }

    func testAFormUploadStreamsItsFilePart() throws {
        let (token, project) = try server.assetUser("form@example.com")
        let png = MediaSamples.png(width: 9, height: 4)
        func form(_ type: String, _ file: Data, boundary: String = "XyZzy-42") -> Data {
            Data("preamble\r\n--\(boundary)\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nhello\r\n--\(boundary)\r\n".utf8)
                + Data("Content-Disposition: form-data; name=\"file\"; filename=\"../x/photo.png\"\r\nContent-Type: \(type)\r\n\r\n".utf8)
                + file + Data("\r\n--\(boundary)--\r\n".utf8)
        }
        let created = try server.upload(form("image/png", png), type: "multipart/form-data; boundary=XyZzy-42", project: project, token: token)
        XCTAssertEqual(created.status, 201, created.text)
        let asset = try created.json()
        XCTAssertEqual(asset["name"] as? String, "photo.png")
        XCTAssertEqual((asset["preview"] as? [String: Any])?["width"] as? Int, 9)
        XCTAssertEqual(try server.get("/v1/assets/\(asset["id"] as? String ?? "")/content", token: token).body, png,
                       "the part's bytes exactly, without the delimiter's CRLF")
        // The same form sent in 7-byte pieces, so delimiters straddle the pieces.
        let connection = try server.connect()
        let body = form("image/png", png)
        try connection.send("POST /v1/assets?project_id=\(project) HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(token)\r\n"
                            + "Content-Type: multipart/form-data; boundary=XyZzy-42\r\nTransfer-Encoding: chunked\r\n\r\n")
        var offset = 0
        while offset < body.count {
            let piece = body[offset..<min(offset + 7, body.count)]
            try connection.send(Data(String(piece.count, radix: 16).utf8) + Data("\r\n".utf8) + piece + Data("\r\n".utf8))
            offset += 7
        }
        try connection.send("0\r\n\r\n")
        let pieced = try connection.readResponse()
        XCTAssertEqual(pieced.status, 201, pieced.text)
        XCTAssertEqual(try pieced.json()["sha256"] as? String, asset["sha256"] as? String)
        let mismatch = try server.upload(form("image/png", Data([0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3])), type: "multipart/form-data; boundary=XyZzy-42",
                                         project: project, token: token)
        XCTAssertEqual(mismatch.status, 415, mismatch.text)
        for (type, bytes) in [("multipart/form-data; boundary=b", Data("--b\r\n".utf8)), ("multipart/form-data", Data("x".utf8)),
                              ("multipart/form-data; boundary=b", Data("--b\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nx\r\n--b--\r\n".utf8))] {
            let response = try server.upload(bytes, type: type, project: project, token: token)
            XCTAssertEqual(response.status, 400, "\(type): \(response.text)")
            XCTAssertEqual(try response.json()["code"] as? String, "bad_multipart")
        }
        // The accepted PNGs' thumbnails are made in scratch folders too, after the answer: wait for them.
        let deadline = Date().addingTimeInterval(20)
        while try !scratchEntries().isEmpty, Date() < deadline { Thread.sleep(forTimeInterval: 0.1) }
        XCTAssertEqual(try scratchEntries(), [], "refused forms leave no scratch files")
    }

    func testRefusedBeforeTheBody() throws {
        let (token, project) = try server.assetUser("refused@example.com")
        let noToken = try server.connect().request("POST", "/v1/assets?project_id=\(project)", headers: ["Content-Type": "image/png"],
                                                   body: MediaSamples.png(width: 1, height: 1))
        XCTAssertEqual(noToken.status, 401)
        let noProject = try server.connect().request("POST", "/v1/assets", headers: ["Authorization": "Bearer \(token)", "Content-Type": "image/png"],
                                                     body: MediaSamples.png(width: 1, height: 1))
        XCTAssertEqual(noProject.status, 422, noProject.text)
        let unknownProject = try server.upload(MediaSamples.png(width: 1, height: 1), type: "image/png", project: UUID().uuidString, token: token)
        XCTAssertEqual(unknownProject.status, 404, unknownProject.text)
        // A declared length over the image limit (1 MB here) is refused on the headers alone.
        let connection = try server.connect()
        try connection.send("POST /v1/assets?project_id=\(project) HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(token)\r\n"
                            + "Content-Type: image/png\r\nContent-Length: 600000000\r\n\r\n")
        let declared = try connection.readResponse()
        XCTAssertEqual(declared.status, 413)
        XCTAssertEqual(try declared.json()["code"] as? String, "payload_too_large")
    }

    func testABodyThatCrossesTheLimitIs413AndMemoryStaysFlat() throws {
        let (token, project) = try server.assetUser("big@example.com")
        let piece = Data(repeating: 0x5A, count: 1 << 20)
        let before = MediaSamples.residentBytes()
        // 64 MiB, chunked (no length to refuse early), against the 1 MB image limit.
        let (response, peak) = try MediaSamples.chunkedUpload(server, path: "/v1/assets?project_id=\(project)", type: "image/png", token: token,
                                                              head: MediaSamples.png(width: 4, height: 4), piece: piece, chunks: 64)
        XCTAssertEqual(response.status, 413, response.text)
        XCTAssertEqual(response.header("connection"), "close")
        XCTAssertLessThan(peak - before, 24 << 20, "resident memory grew by \((peak - before) >> 20) MiB during a 64 MiB upload")
        XCTAssertEqual(try scratchEntries(), [], "the refused upload's file is gone")
    }

    func testALargeUploadIsStreamedToStorageNotMemory() throws {
        let (token, project) = try server.assetUser("video@example.com")
        let piece = Data(repeating: 0, count: 1 << 20)
        let before = MediaSamples.residentBytes()
        let (response, peak) = try MediaSamples.chunkedUpload(server, path: "/v1/assets?project_id=\(project)", type: "video/mp4", token: token,
                                                              head: MediaSamples.mp4Head(), piece: piece, chunks: 96)
        XCTAssertEqual(response.status, 201, response.text)
        XCTAssertEqual(try response.json()["bytes"] as? Int, 96 << 20 + MediaSamples.mp4Head().count)
        XCTAssertLessThan(peak - before, 24 << 20, "resident memory grew by \((peak - before) >> 20) MiB during a 96 MiB upload")
    }

    private func scratchEntries() throws -> [String] {
        let root = server.environment.config.storageDirectory + "/scratch"
        return try FileManager.default.contentsOfDirectory(atPath: root)
    }
}
