import Domain
import Foundation

/// The second half of an upload, on the assets work queue once the body is on disk: the bytes
/// must be what the Content-Type says, metadata is read, the blob stored and the row written;
/// a thumbnail follows as its own job.
struct AssetIngest {
    let components: AssetComponents
    let opened: AssetUploadReceiver.Opened
    let path: String
    let prefix: [UInt8]
    let validText: Bool
    let size: Int64

    func run() throws -> HTTPResponse {
        let declared = opened.declared
        guard MediaSniffer.agrees(declared: declared, sniffed: MediaSniffer.sniff(prefix)) else {
            throw AssetProblems.contentMismatch(declared)
        }
        if declared.kind == .text {
            guard validText else { throw AssetProblems.contentMismatch(declared) }
            if declared == .json, (try? JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path)),
                                                                    options: [.fragmentsAllowed])) == nil {
                throw AssetProblems.contentMismatch(declared)
            }
        }
        let metadata = readMetadata()
        let thumbnails = components.tools.ffmpeg != nil && (declared.kind == .image || declared.kind == .video)
        let name = opened.filename ?? "upload-\(opened.uploadID.lowercasedString.prefix(8))"
        let blobs = components.blobs
        var placed: String?
        let asset: Asset
        do {
            asset = try components.store.createUpload(project: opened.projectID, claimsJSON: opened.identity.claimsJSON,
                                                      quota: components.storage.quota, put: {
                let blob = try blobs.put(fileAt: path, owner: opened.identity.userID)
                placed = blob.key
                return NewUpload(id: opened.uploadID, projectID: opened.projectID, kind: declared.kind, contentType: declared.storedContentType,
                                 blob: blob, name: name, originalFilename: opened.filename, metadata: metadata,
                                 thumbnailState: thumbnails ? .pending : .unavailable, parents: opened.parents)
            }, stillStored: { try blobs.exists($0) })
        } catch {
            // The row was not written (a parent not the caller's, the database gone): the blob goes
            // again unless another asset names the same bytes.
            if let placed { _ = try? components.store.deleteIfUnreferenced(placed, deleteBlob: { try blobs.delete($0) }) }
            throw error
        }
        components.storage.forget(opened.identity.userID)
        if thumbnails { scheduleThumbnail(asset) }
        var response = try HTTPResponse.json(AssetBody(asset), status: 201)
        response.headers.append(("Location", "/v1/assets/\(asset.id.lowercasedString)"))
        response.headers.append(("ETag", asset.entityTag))
        return response
    }

    /// Container headers first (durations of WAV, MP4/MOV, MP3, OGG, FLAC, WebM; image sizes);
    /// ffprobe, when present, for what they leave out (video sizes, a header without a duration).
    private func readMetadata() -> MediaMetadata {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return MediaMetadata() }
        defer { close(descriptor) }
        var metadata = HeaderMetadata.read(opened.declared, size: size) { offset, count in
            var bytes = [UInt8](repeating: 0, count: max(0, count))
            let got = bytes.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress, $0.count, off_t(offset)) }
            return got > 0 ? Array(bytes.prefix(got)) : []
        }
        let kind = opened.declared.kind
        if kind == .audio || kind == .video, metadata.durationMilliseconds == nil || (kind == .video && metadata.width == nil),
           let probed = components.tools.probe(path, scratch: (path as NSString).deletingLastPathComponent) {
            metadata.durationMilliseconds = metadata.durationMilliseconds ?? probed.durationMilliseconds
            if kind == .video {
                metadata.width = metadata.width ?? probed.width
                metadata.height = metadata.height ?? probed.height
            }
        }
        return metadata
    }

    /// Makes the thumbnail (or poster frame) from the stored blob on the assets queue; when the
    /// queue is full or ffmpeg fails, the asset says `unavailable`.
    private func scheduleThumbnail(_ asset: Asset) {
        let components = self.components
        let claims = opened.identity.claimsJSON
        let owner = opened.identity.userID
        guard let slot = components.queue.reserve() else {
            try? components.store.setThumbnail(asset.id, state: .unavailable, key: nil, claimsJSON: claims)
            return
        }
        slot.run {
            let scratchID = UUID()
            defer { try? components.blobs.delete(scratchOf: scratchID) }
            var key: String?
            if let scratch = try? components.blobs.scratchDirectory(for: scratchID),
               let source = try? Self.copy(asset.storageKey, from: components.blobs, to: scratch + "/source"),
               let thumbnail = components.tools.thumbnail(source, kind: asset.kind, scratch: scratch) {
                key = try? components.blobs.put(fileAt: thumbnail, owner: owner).key
            }
            do {
                try components.store.setThumbnail(asset.id, state: key == nil ? .unavailable : .ready, key: key, claimsJSON: claims)
            } catch {
                components.logger.warn("asset thumbnail not recorded", ["asset": .string(asset.id.lowercasedString),
                                                                        "error": .string(String(reflecting: error))])
            }
        }
    }

    /// Copies a blob to a local file piece by piece (ffmpeg reads files; the store may be remote).
    static func copy(_ key: String, from blobs: any BlobStore, to path: String) throws -> String? {
        guard let reader = try blobs.reader(key) else { return nil }
        guard FileManager.default.createFile(atPath: path, contents: nil) else { return nil }
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        defer { try? handle.close() }
        var offset: Int64 = 0
        while offset < reader.size {
            let piece = try reader.read(offset: offset, count: 1 << 20)
            guard !piece.isEmpty else { break }
            try handle.write(contentsOf: piece)
            offset += Int64(piece.count)
        }
        return path
    }
}
