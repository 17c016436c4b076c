import Crypto
import Domain
import Foundation
@testable import Persistence
import XCTest

/// SigV4 against AWS's published vectors.
///
/// The general cases are the AWS Signature Version 4 test suite (`aws-sig-v4-test-suite`,
/// formerly at docs.aws.amazon.com/general/latest/gr/signature-v4-test-suite.html), copied from
/// the files `<case>/<case>.req/.creq/.sts/.authz` as github.com/mhart/aws4 ships them under
/// test/aws-sig-v4-test-suite (commit 9d00a5acf4df38ec80f6918fa7f17fc06492e01f). Credentials
/// AKIDEXAMPLE / wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY, region us-east-1, service `service`,
/// 2015-08-30T12:36:00Z. The `normalize-path` cases are signed with path normalisation on (as
/// every service but S3 does); the S3 store signs with it off.
///
/// The S3 cases are the worked examples in the S3 API reference: "Example: GET Object"
/// (docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html) and the presigned
/// URL example (docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html), both
/// examplebucket / test.txt at 2013-05-24T00:00:00Z with AKIAIOSFODNN7EXAMPLE.
final class S3SigV4VectorTests: XCTestCase {
    struct SuiteCase {
        let name: String
        let request: String
        let canonicalRequest: String
        let stringToSign: String
        let authorization: String
    }

    static let suiteInstant = Date(timeIntervalSince1970: 1_440_938_160)  // 2015-08-30T12:36:00Z
    static let s3Instant = Date(timeIntervalSince1970: 1_369_353_600)  // 2013-05-24T00:00:00Z

    func testTimestampFormsMatchTheSuite() {
        XCTAssertEqual(SigV4Timestamp(Self.suiteInstant).date, "20150830")
        XCTAssertEqual(SigV4Timestamp(Self.suiteInstant).dateTime, "20150830T123600Z")
        XCTAssertEqual(SigV4Timestamp(Self.s3Instant).dateTime, "20130524T000000Z")
    }

    func testEverySuiteCaseGivesItsCanonicalRequestStringToSignAndAuthorization() throws {
        XCTAssertEqual(Self.suite.count, 16)
        let signer = SigV4Signer(credentials: SigV4Credentials(accessKeyID: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"),
                                 region: "us-east-1", service: "service", normalizesPath: true, primitives: .crypto)
        let timestamp = SigV4Timestamp(Self.suiteInstant)
        var checked = 0
        for suiteCase in Self.suite {
            let request = try Self.parse(suiteCase.request)
            let canonical = signer.canonicalRequest(request)
            XCTAssertEqual(canonical, suiteCase.canonicalRequest, "\(suiteCase.name): canonical request")
            let stringToSign = try signer.stringToSign(canonicalRequest: canonical, timestamp: timestamp)
            XCTAssertEqual(stringToSign, suiteCase.stringToSign, "\(suiteCase.name): string to sign")
            XCTAssertEqual(try signer.authorization(for: request, at: timestamp), suiteCase.authorization, "\(suiteCase.name): Authorization")
            checked += 1
        }
        XCTAssertEqual(checked, 16)
    }

    func testS3PathsAreNotNormalised() {
        let signer = SigV4Signer(credentials: SigV4Credentials(accessKeyID: "a", secretAccessKey: "b"), region: "us-east-1",
                                 service: "s3", normalizesPath: false, primitives: .crypto)
        XCTAssertEqual(signer.canonicalURI("/bucket/my-object//example//photo.user"), "/bucket/my-object//example//photo.user")
        XCTAssertEqual(signer.canonicalURI("/bucket/a b/ሴ"), "/bucket/a%20b/%E1%88%B4")
    }

    /// "Example: GET Object" from the S3 API reference, signed through the store's own request path.
    func testS3HeaderExampleGetObjectWithRange() throws {
        let store = try Self.exampleStore()
        let request = try store.requester.signedRequest(
            method: "GET", key: "test.txt", headers: [(name: "range", value: "bytes=0-9")],
            payloadHash: S3BlobStore.emptyPayloadHash, at: Self.s3Instant, maxResponseBytes: 10)
        XCTAssertEqual(request.url, "https://examplebucket.s3.amazonaws.com/test.txt")
        let canonical = store.requester.signer.canonicalRequest(SigV4Request(
            method: "GET", path: "/test.txt",
            headers: [(name: "host", value: "examplebucket.s3.amazonaws.com"), (name: "range", value: "bytes=0-9"),
                      (name: "x-amz-content-sha256", value: S3BlobStore.emptyPayloadHash), (name: "x-amz-date", value: "20130524T000000Z")],
            payloadHash: S3BlobStore.emptyPayloadHash))
        let stringToSign = try store.requester.signer.stringToSign(canonicalRequest: canonical, timestamp: SigV4Timestamp(Self.s3Instant))
        XCTAssertEqual(stringToSign, """
            AWS4-HMAC-SHA256
            20130524T000000Z
            20130524/us-east-1/s3/aws4_request
            7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972
            """)
        let authorization = request.headers.first { $0.name == "Authorization" }?.value
        XCTAssertEqual(authorization, "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
            + "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41")
    }

    /// The presigned-URL example from the S3 API reference (virtual-host style, expires 86400).
    func testS3PresignedURLExample() throws {
        let store = try Self.exampleStore()
        let url = try store.requester.presignedURL(method: "GET", key: "test.txt", expiresInSeconds: 86400, query: [], at: Self.s3Instant)
        XCTAssertEqual(url, "https://examplebucket.s3.amazonaws.com/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256"
            + "&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z"
            + "&X-Amz-Expires=86400&X-Amz-SignedHeaders=host"
            + "&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404")
    }

    static func exampleStore() throws -> S3BlobStore {
        let settings = try S3Settings.validated(endpoint: "https://s3.amazonaws.com", region: "us-east-1", bucket: "examplebucket",
                                                accessKeyID: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                                                addressing: "virtual", requireHTTPS: true).get()
        return try S3BlobStore(settings: settings, primitives: .crypto,
                               scratchDirectory: FileManager.default.temporaryDirectory.appendingPathComponent("s3-vectors").path,
                               now: { s3Instant })
    }

    /// A suite `.req` file: request line, `Name:value` headers, a blank line, then the body.
    static func parse(_ text: String) throws -> SigV4Request {
        let (head, body) = text.range(of: "\n\n").map { (String(text[..<$0.lowerBound]), String(text[$0.upperBound...])) } ?? (text, "")
        var lines = head.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let requestLine = lines.removeFirst()
        guard let firstSpace = requestLine.firstIndex(of: " "), let lastSpace = requestLine.lastIndex(of: " ") else {
            throw S3StoreError.invalidArgument("bad request line \(requestLine)")
        }
        let target = String(requestLine[requestLine.index(after: firstSpace)..<lastSpace])
        let pathAndQuery = target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        let query: [(name: String, value: String)] = pathAndQuery.count > 1 ? pathAndQuery[1].split(separator: "&").map { pair in
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            return (name: String(parts[0]), value: parts.count > 1 ? String(parts[1]) : "")
        } : []
        let headers = lines.compactMap { line -> (name: String, value: String)? in
            guard let colon = line.firstIndex(of: ":") else { return nil }
            return (name: String(line[..<colon]), value: String(line[line.index(after: colon)...]))
        }
        return SigV4Request(method: String(requestLine[..<firstSpace]), path: String(pathAndQuery[0]), query: query, headers: headers,
                            payloadHash: Hex.encode(try SHA256.hash(Data(body.utf8))))
    }

    static let suite: [SuiteCase] = [
        SuiteCase(
            name: "get-vanilla",
            request: """
            GET / HTTP/1.1
            Host:example.amazonaws.com
            X-Amz-Date:20150830T123600Z
            """,
            canonicalRequest: """
            GET
            /

            host:example.amazonaws.com
            x-amz-date:20150830T123600Z

            host;x-amz-date
            e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
            """,
            stringToSign: """
            AWS4-HMAC-SHA256
            20150830T123600Z
            20150830/us-east-1/service/aws4_request
            bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63
            """,
            authorization: """
            AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31
            """
        ),
        SuiteCase(
            name: "get-vanilla-query-order-key-case",
            request: """
            GET /?Param2=value2&Param1=value1 HTTP/1.1
            Host:example.amazonaws.com
            X-Amz-Date:20150830T123600Z
            """,
            canonicalRequest: """
            GET
            /
            Param1=value1&Param2=value2
            host:example.amazonaws.com
            x-amz-date:20150830T123600Z

            host;x-amz-date
            e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
            """,
            stringToSign: """
            AWS4-HMAC-SHA256
            20150830T123600Z
            20150830/us-east-1/service/aws4_request
            816cd5b414d056048ba4f7c5386d6e0533120fb1fcfa93762cf0fc39e2cf19e0
            """,
            authorization: """
            AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500
            """
        ),
        SuiteCase(
            name: "get-vanilla-query-unreserved",
            request: """
            GET /?-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz=-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz HTTP/1.1
            Host:example.amazonaws.com
            X-Amz-Date:20150830T123600Z
            """,
            canonicalRequest: """
            GET
            /
            -._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz=-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz
            host:example.amazonaws.com
            x-amz-date:20150830T123600Z

            host;x-amz-date
            e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
            """,
            stringToSign: """
            AWS4-HMAC-SHA256
            20150830T123600Z
            20150830/us-east-1/service/aws4_request
            c30d4703d9f799439be92736156d47ccfb2d879ddf56f5befa6d1d6aab979177
            """,
            authorization: """
            AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=9c3e54bfcdf0b19771a7f523ee5669cdf59bc7cc0884027167c21bb143a40197
            """
        ),
        SuiteCase(
            name: "get-vanilla-utf8-query",
            request: """
            GET /?ሴ=bar HTTP/1.1
            Host:example.amazonaws.com
            X-Amz-Date:20150830T123600Z
            """,
            canonicalRequest: """
            GET
            /
            %E1%88%B4=bar
            host:example.amazonaws.com
            x-amz-date:20150830T123600Z

            host;x-amz-date
            e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
            """,
            stringToSign: """
            AWS4-HMAC-SHA256
            20150830T123600Z
            20150830/us-east-1/service/aws4_request
            eb30c5bed55734080471a834cc727ae56beb50e5f39d1bff6d0d38cb192a7073
            """,
            authorization: """
            AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=2cdec8eed098649ff3a119c94853b13c643bcf08f8b0a1d91e12c9027818dd04
            """
        ),
        SuiteCase(
            name: "get-unreserved",
            request: """
            GET /-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz HTTP/1.1
            Host:example.amazonaws.com
            X-Amz-Date:20150830T123600Z
            """,
            canonicalRequest: """
            GET
            /-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz

            host:example.amazonaws.com
            x-amz-date:20150830T123600Z

            host;x-amz-date
            e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
            """,
            stringToSign: """
            AWS4-HMAC-SHA256
            20150830T123600Z
            20150830/us-east-1/service/aws4_request
            6a968768eefaa713e2a6b16b589a8ea192661f098f37349f4e2c0082757446f9
            """,
            authorization: """
            AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=07ef7494c76fa4850883e2b006601f940f8a34d404d0cfa977f52a65bbf5f24f
            """
        ),
        SuiteCase(
            name: "get-utf8",
            request: """
            GET /ሴ HTTP/1.1
            Host:example.amazonaws.com
            X-Amz-Date:20150830T123600Z
            """,
            canonicalRequest: """
            GET
            /%E1%88%B4

            host:example.amazonaws.com
            x-amz-date:20150830T123600Z

            host;x-amz-date
            e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
            """,
            stringToSign: """
            AWS4-HMAC-SHA256
            20150830T123600Z
            20150830/us-east-1/service/aws4_request
            2a0a97d02205e45ce2e994789806b19270cfbbb0921b278ccf58f5249ac42102
            """,
            authorization: """
            AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85
            """
        ),
        SuiteCase(
            name: "get-header-value-trim",
            request: """
            GET / HTTP/1.1
            Host:example.amazonaws.com
            My-Header1: value1
            My-Header2: "a   b   c"
            X-Amz-Date:20150830T123600Z
            """,
            canonicalRequest: """
            GET
            /

            host:example.amazonaws.com
            my-header1:value1
            my-header2:"a b c"
            x-amz-date:20150830T123600Z

            host;my-header1;my-header2;x-amz-date
            e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
            """,
            stringToSign: """
            AWS4-HMAC-SHA256
            20150830T123600Z
            20150830/us-east-1/service/aws4_request
            a726db9b0df21c14f559d0a978e563112acb1b9e05476f0a6a1c7d68f28605c7
            """,
            authorization: """
            AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;my-header1;my-header2;x-amz-date, Signature=acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736
            """
        ),
        SuiteCase(
            name: "get-header-key-duplicate",
            request: """
            GET / HTTP/1.1
            Host:example.amazonaws.com
            My-Header1:value2
            My-Header1:value2
            My-Header1:value1
            X-Amz-Date:20150830T123600Z
            """,
            canonicalRequest: """
            GET
            /

            host:example.amazonaws.com
            my-header1:value2,value2,value1
            x-amz-date:20150830T123600Z

            host;my-header1;x-amz-date
            e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
            """,
            stringToSign: """
            AWS4-HMAC-SHA256
            20150830T123600Z
            20150830/us-east-1/service/aws4_request
            dc7f04a3abfde8d472b0ab1a418b741b7c67174dad1551b4117b15527fbe966c
            """,
            authorization: """
            AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;my-header1;x-amz-date, Signature=c9d5ea9f3f72853aea855b47ea873832890dbdd183b4468f858259531a5138ea
            """
        ),
        SuiteCase(
            name: "post-header-key-sort",
            request: """
            POST / HTTP/1.1
            Host:example.amazonaws.com
            My-Header1:value1
            X-Amz-Date:20150830T123600Z
            """,
            canonicalRequest: """
            POST
            /

            host:example.amazonaws.com
            my-header1:value1
            x-amz-date:20150830T123600Z

            host;my-header1;x-amz-date
            e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
            """,
            stringToSign: """
            AWS4-HMAC-SHA256
            20150830T123600Z
            20150830/us-east-1/service/aws4_request
            9368318c2967cf6de74404b30c65a91e8f6253e0a8659d6d5319f1a812f87d65
            """,
            authorization: """
            AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;my-header1;x-amz-date, Signature=c5410059b04c1ee005303aed430f6e6645f61f4dc9e1461ec8f8916fdf18852c
            """
        ),
        SuiteCase(
            name: "post-x-www-form-urlencoded",
            request: """
            POST / HTTP/1.1
            Content-Type:application/x-www-form-urlencoded
            Host:example.amazonaws.com
            X-Amz-Date:20150830T123600Z

            Param1=value1
            """,
            canonicalRequest: """
            POST
            /

            content-type:application/x-www-form-urlencoded
            host:example.amazonaws.com
            x-amz-date:20150830T123600Z

            content-type;host;x-amz-date
            9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e
            """,
            stringToSign: """
            AWS4-HMAC-SHA256
            20150830T123600Z
            20150830/us-east-1/service/aws4_request
            42a5e5bb34198acb3e84da4f085bb7927f2bc277ca766e6d19c73c2154021281
            """,
            authorization: """
            AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a
            """
        ),
        SuiteCase(
            name: "post-x-www-form-urlencoded-parameters",
            request: """
            POST / HTTP/1.1
            Content-Type:application/x-www-form-urlencoded; charset=utf8
            Host:example.amazonaws.com
            X-Amz-Date:20150830T123600Z

            Param1=value1
            """,
            canonicalRequest: """
            POST
            /

            content-type:application/x-www-form-urlencoded; charset=utf8
            host:example.amazonaws.com
            x-amz-date:20150830T123600Z

            content-type;host;x-amz-date
            9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e
            """,
            stringToSign: """
            AWS4-HMAC-SHA256
            20150830T123600Z
            20150830/us-east-1/service/aws4_request
            2e1cf7ed91881a30569e46552437e4156c823447bf1781b921b5d486c568dd1c
            """,
            authorization: """
            AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=1a72ec8f64bd914b0e42e42607c7fbce7fb2c7465f63e3092b3b0d39fa77a6fe
            """
        ),
        SuiteCase(
            name: "normalize-path/get-space",
            request: """
            GET /example space/ HTTP/1.1
            Host:example.amazonaws.com
            X-Amz-Date:20150830T123600Z
            """,
            canonicalRequest: """
            GET
            /example%20space/

            host:example.amazonaws.com
            x-amz-date:20150830T123600Z

            host;x-amz-date
            e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
            """,
            stringToSign: """
            AWS4-HMAC-SHA256
            20150830T123600Z
            20150830/us-east-1/service/aws4_request
            63ee75631ed7234ae61b5f736dfc7754cdccfedbff4b5128a915706ee9390d86
            """,
            authorization: """
            AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=652487583200325589f1fba4c7e578f72c47cb61beeca81406b39ddec1366741
            """
        ),
        SuiteCase(
            name: "normalize-path/get-slash-dot-slash",
            request: """
            GET /./ HTTP/1.1
            Host:example.amazonaws.com
            X-Amz-Date:20150830T123600Z
            """,
            canonicalRequest: """
            GET
            /

            host:example.amazonaws.com
            x-amz-date:20150830T123600Z

            host;x-amz-date
            e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
            """,
            stringToSign: """
            AWS4-HMAC-SHA256
            20150830T123600Z
            20150830/us-east-1/service/aws4_request
            bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63
            """,
            authorization: """
            AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31
            """
        ),
        SuiteCase(
            name: "normalize-path/get-relative-relative",
            request: """
            GET /example1/example2/../.. HTTP/1.1
            Host:example.amazonaws.com
            X-Amz-Date:20150830T123600Z
            """,
            canonicalRequest: """
            GET
            /

            host:example.amazonaws.com
            x-amz-date:20150830T123600Z

            host;x-amz-date
            e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
            """,
            stringToSign: """
            AWS4-HMAC-SHA256
            20150830T123600Z
            20150830/us-east-1/service/aws4_request
            bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63
            """,
            authorization: """
            AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31
            """
        ),
        SuiteCase(
            name: "normalize-path/get-slashes",
            request: """
            GET //example// HTTP/1.1
            Host:example.amazonaws.com
            X-Amz-Date:20150830T123600Z
            """,
            canonicalRequest: """
            GET
            /example/

            host:example.amazonaws.com
            x-amz-date:20150830T123600Z

            host;x-amz-date
            e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
            """,
            stringToSign: """
            AWS4-HMAC-SHA256
            20150830T123600Z
            20150830/us-east-1/service/aws4_request
            cb96b4ac96d501f7c5c15bc6d67b3035061cfced4af6585ad927f7e6c985c015
            """,
            authorization: """
            AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=9a624bd73a37c9a373b5312afbebe7a714a789de108f0bdfe846570885f57e84
            """
        ),
        SuiteCase(
            name: "normalize-path/get-slash-pointless-dot",
            request: """
            GET /./example HTTP/1.1
            Host:example.amazonaws.com
            X-Amz-Date:20150830T123600Z
            """,
            canonicalRequest: """
            GET
            /example

            host:example.amazonaws.com
            x-amz-date:20150830T123600Z

            host;x-amz-date
            e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
            """,
            stringToSign: """
            AWS4-HMAC-SHA256
            20150830T123600Z
            20150830/us-east-1/service/aws4_request
            214d50c111a8edc4819da6a636336472c916b5240f51e9a51b5c3305180cf702
            """,
            authorization: """
            AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=ef75d96142cf21edca26f06005da7988e4f8dc83a165a80865db7089db637ec5
            """
        ),
    ]
}
