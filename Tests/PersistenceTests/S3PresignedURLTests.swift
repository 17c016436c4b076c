import Domain
import Foundation
@testable import Persistence
import TestSupport
import XCTest

/// Presigned URLs checked by another implementation: botocore (installed with moto) recomputes
/// the signature of the URL as it stands. moto serves presigned GETs without checking their
/// signatures, so a tampered URL is shown to fail here, where the signature is recomputed the
/// way S3 recomputes it.
final class S3PresignedURLTests: XCTestCase {
    /// Prints `valid` when X-Amz-Signature is botocore's S3 query signature for the rest of the URL.
    private static let verifier = """
        import sys
        from urllib.parse import urlsplit, urlunsplit, parse_qsl, urlencode, quote
        from botocore.auth import S3SigV4QueryAuth
        from botocore.awsrequest import AWSRequest
        from botocore.credentials import Credentials
        url, access_key, secret, region = sys.argv[1:5]
        parts = urlsplit(url)
        params = parse_qsl(parts.query, keep_blank_values=True)
        auth_values = {k: v for k, v in params if k.startswith("X-Amz-")}
        operation = [(k, v) for k, v in params if not k.startswith("X-Amz-")]
        bare = urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(operation, quote_via=quote), ""))
        request = AWSRequest(method="GET", url=bare, headers={})
        request.context["timestamp"] = auth_values["X-Amz-Date"]
        auth = S3SigV4QueryAuth(Credentials(access_key, secret), "s3", region, expires=int(auth_values["X-Amz-Expires"]))
        auth._modify_request_before_signing(request)
        canonical = auth.canonical_request(request)
        signature = auth.signature(auth.string_to_sign(request, canonical), request)
        print("valid" if signature == auth_values["X-Amz-Signature"] else "invalid")
        """

    private func verify(_ url: String, secret: String = "test-secret") throws -> String {
        let python = try S3MotoServer.python()
        let child = try ChildProcess(python, ["-c", Self.verifier, url, "AKIDTEST", secret, "us-east-1"])
        defer { try? FileManager.default.removeItem(atPath: child.outputPath) }
        let status = child.wait()
        guard status == 0 else { throw TestSupportError("verifier exited \(status): \(child.output)") }
        return child.output.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func testBotocoreAcceptsThePresignedURLAndRejectsEveryTamperedCopy() throws {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("s3-presign-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let settings = try S3MotoServer.shared().settings(bucket: "presign-bucket")
        let store = try S3BlobStore(settings: settings, primitives: .crypto, scratchDirectory: scratch)
        let key = BlobKey.make(owner: blobOwner, hex: String(repeating: "5e", count: 32))
        let url = try XCTUnwrap(try store.presignedURL(key, expiresInSeconds: 900, contentType: "image/png",
                                                       contentDisposition: "inline; filename=\"a b.png\""))
        XCTAssertEqual(try verify(url), "valid")
        XCTAssertEqual(try verify(url, secret: "another-secret"), "invalid", "signed with this secret only")

        let tampered = [
            url.replacingOccurrences(of: "inline", with: "attachment"),
            url.replacingOccurrences(of: "image%2Fpng", with: "text%2Fhtml"),
            url.replacingOccurrences(of: "X-Amz-Expires=900", with: "X-Amz-Expires=604800"),
            url.replacingOccurrences(of: String(repeating: "5e", count: 32), with: String(repeating: "5e", count: 31) + "5f"),
        ]
        XCTAssertEqual(Set(tampered).count, 4)
        XCTAssertFalse(tampered.contains(url), "every copy differs from the original")
        XCTAssertEqual(try tampered.map { try verify($0) }, ["invalid", "invalid", "invalid", "invalid"])
    }
}
