import Domain
import Foundation

extension S3BlobStore {
    /// S3 allows at most 10,000 parts per upload.
    static let maximumParts: Int64 = 10_000

    /// CreateMultipartUpload, one UploadPart per `partSize` bytes (each read, hashed and sent on
    /// its own, so memory holds one part), CompleteMultipartUpload; on any failure the upload is
    /// aborted so S3 keeps no orphaned parts.
    func multipartUpload(_ blob: StoredBlob, readPart: (_ offset: Int64, _ length: Int) throws -> Data) throws {
        let partSize = Self.partSize(for: blob.bytes, configured: settings.partSize)
        let uploadID = try createMultipartUpload(blob.key)
        do {
            var etags: [String] = []
            var offset: Int64 = 0
            while offset < blob.bytes {
                let length = Int(min(Int64(partSize), blob.bytes - offset))
                let data = try readPart(offset, length)
                etags.append(try uploadPart(blob.key, uploadID: uploadID, number: etags.count + 1, data: data))
                offset += Int64(length)
            }
            try completeMultipartUpload(blob.key, uploadID: uploadID, etags: etags)
        } catch {
            try? abortMultipartUpload(blob.key, uploadID: uploadID)
            throw error
        }
    }

    /// The configured size, grown when the object would otherwise need more than 10,000 parts.
    static func partSize(for bytes: Int64, configured: Int) -> Int {
        let needed = (bytes + maximumParts - 1) / maximumParts
        return Int(max(Int64(configured), needed))
    }

    private func createMultipartUpload(_ key: String) throws -> String {
        let operation = "CreateMultipartUpload \(key)"
        let response = try requester.send(operation, method: "POST", key: key, query: [(name: "uploads", value: "")],
                                          headers: [(name: "content-type", value: "application/octet-stream")],
                                          payloadHash: Self.emptyPayloadHash)
        let text = String(decoding: response.body, as: UTF8.self)
        guard let uploadID = S3XML.first("UploadId", in: text), (1...1024).contains(uploadID.utf8.count),
              uploadID.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value < 0x7f }) else {
            throw S3StoreError.invalidResponse(operation: operation, detail: "no usable UploadId")
        }
        return uploadID
    }

    private func uploadPart(_ key: String, uploadID: String, number: Int, data: Data) throws -> String {
        let operation = "UploadPart \(number) of \(key)"
        let response = try requester.send(operation, method: "PUT", key: key,
                                          query: [(name: "partNumber", value: String(number)), (name: "uploadId", value: uploadID)],
                                          body: .data(data), payloadHash: Hex.encode(try primitives.sha256(data)))
        guard let etag = response.header("etag"), (1...256).contains(etag.utf8.count) else {
            throw S3StoreError.invalidResponse(operation: operation, detail: "no ETag")
        }
        return etag
    }

    private func completeMultipartUpload(_ key: String, uploadID: String, etags: [String]) throws {
        let operation = "CompleteMultipartUpload \(key)"
        let parts = etags.enumerated().map { index, etag in
            "<Part><PartNumber>\(index + 1)</PartNumber><ETag>\(S3XML.escape(etag))</ETag></Part>"
        }
        let body = Data(("<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
            + parts.joined() + "</CompleteMultipartUpload>").utf8)
        let response = try requester.send(operation, method: "POST", key: key, query: [(name: "uploadId", value: uploadID)],
                                          headers: [(name: "content-type", value: "application/xml")],
                                          body: .data(body), payloadHash: Hex.encode(try primitives.sha256(body)))
        // S3 may answer 200 and report the failure in the body (the answer starts before the
        // parts are joined).
        let text = String(decoding: response.body.prefix(64 * 1024), as: UTF8.self)
        if text.contains("<Error>") {
            throw S3StoreError.fromResponse(operation: operation, status: response.status, body: response.body,
                                            requestID: response.header("x-amz-request-id"))
        }
    }

    private func abortMultipartUpload(_ key: String, uploadID: String) throws {
        _ = try requester.send("AbortMultipartUpload \(key)", method: "DELETE", key: key,
                               query: [(name: "uploadId", value: uploadID)], payloadHash: Self.emptyPayloadHash,
                               accepting: [404])
    }
}
