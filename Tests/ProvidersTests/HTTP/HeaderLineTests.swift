@testable import Providers
import XCTest

/// libcurl hands each response header line to `CurlTransferState.receiveHeaderLine` as bytes,
/// CRLF included; these pin what is read from them.
final class HeaderLineTests: XCTestCase {
    private func receive(_ lines: [String]) -> CurlTransferState {
        let state = CurlTransferState(destinationPath: nil, maxBodyBytes: 1 << 20)
        for line in lines {
            Array(line.utf8).withUnsafeBytes { state.receiveHeaderLine($0) }
        }
        return state
    }

    func testStatusAndFieldsAreTrimmedOfHTTPWhitespace() {
        let state = receive(["HTTP/1.1 429 Too Many Requests\r\n", "Retry-After:  7 \r\n", "x-ratelimit-remaining-requests:\t0\r\n",
                             "X-Empty:\r\n", "\r\n"])
        XCTAssertEqual(state.status, 429)
        XCTAssertEqual(state.headers.fields.map(\.name), ["Retry-After", "x-ratelimit-remaining-requests", "X-Empty"])
        XCTAssertEqual(state.headers.fields.map(\.value), ["7", "0", ""])
    }

    func testANewStatusLineStartsANewBlock() {
        let state = receive(["HTTP/1.1 100 Continue\r\n", "X-Early: 1\r\n", "\r\n", "HTTP/2 200\r\n", "content-type: application/json\r\n"])
        XCTAssertEqual(state.status, 200, "HTTP/2's status line has no reason phrase")
        XCTAssertEqual(state.headers.fields.map(\.name), ["content-type"], "the 100's fields are not the answer's")
    }

    func testAStatusThatIsNotThreeDigitsReadsAsZero() {
        XCTAssertEqual(receive(["HTTP/1.1 99999999999999999999999 Huge\r\n"]).status, 0)
        XCTAssertEqual(receive(["HTTP/1.1 2x0 OK\r\n"]).status, 0)
        XCTAssertEqual(receive(["HTTP/1.1\r\n"]).status, 0)
    }

    func testALineWithoutAColonIsIgnoredAndAValueKeepsItsInnerColons() {
        let state = receive(["HTTP/1.1 200 OK\r\n", "garbage line\r\n", "Location: https://example.com:8443/a\r\n"])
        XCTAssertEqual(state.headers.fields.count, 1)
        XCTAssertEqual(state.headers.values("location"), ["https://example.com:8443/a"])
    }
}
