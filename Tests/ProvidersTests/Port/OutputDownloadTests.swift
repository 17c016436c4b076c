import Domain
import Foundation
@testable import Providers
import TestSupport
import XCTest

/// A provider's output URL is named by its answer, which for FAL can come from any app a user
/// deployed: downloads reach public addresses only (never this machine, its network or a cloud's
/// metadata service), unless the provider itself is configured on such an address, and a stored
/// type is a media type the answer could honestly have.
final class OutputDownloadTests: ProviderTestCase {
    func testPublicAndNonPublicIPv4Addresses() {
        for address in ["127.0.0.1", "10.1.2.3", "172.16.0.1", "172.31.255.255", "192.168.1.1", "169.254.169.254", "100.64.0.1",
                        "0.0.0.0", "255.255.255.255", "224.0.0.1", "192.0.2.5", "198.18.0.1"] {
            XCTAssertFalse(PublicAddress.isPublic(ipv4: Self.bytes(AF_INET, address)), address)
        }
        for address in ["8.8.8.8", "172.32.0.1", "1.1.1.1", "100.128.0.1", "151.101.1.1"] {
            XCTAssertTrue(PublicAddress.isPublic(ipv4: Self.bytes(AF_INET, address)), address)
        }
    }

    func testPublicAndNonPublicIPv6Addresses() {
        for address in ["::1", "::", "::ffff:127.0.0.1", "::ffff:169.254.169.254", "fe80::1", "fd00::1", "fc12::3", "ff02::1",
                        "2001:db8::1", "64:ff9b::a9fe:a9fe", "fec0::1"] {
            XCTAssertFalse(PublicAddress.isPublic(ipv6: Self.bytes(AF_INET6, address)), address)
        }
        for address in ["2001:4860:4860::8888", "2606:4700::1111", "::ffff:8.8.8.8"] {
            XCTAssertTrue(PublicAddress.isPublic(ipv6: Self.bytes(AF_INET6, address)), address)
        }
    }

    func testAProviderOnThisMachineOrAPrivateNetworkIsLocal() {
        for url in ["http://127.0.0.1:8080/v1", "http://localhost:9000", "http://[::1]:8080/x", "http://10.0.0.5/fal", "http://api.localhost/"] {
            XCTAssertTrue(PublicAddress.isLocalHost(ofURL: url), url)
        }
        for url in ["https://queue.fal.run", "https://api.runwayml.com/v1", "https://8.8.8.8/", "not a url"] {
            XCTAssertFalse(PublicAddress.isLocalHost(ofURL: url), url)
        }
    }

    /// The attack: an answer from a provider on the internet names a URL on this machine.
    func testAnOutputOnThisMachineIsRefusedForAProviderOnTheInternet() async throws {
        let inside = try FakeHTTPServer { _ in .bytes(200, Data("secret".utf8), contentType: "image/png") }
        _ = track(inside)
        let error = await expectProviderError { () async throws(ProviderError) in
            _ = try await AdapterSupport.download(inside.baseURL + "/latest/meta-data", http: http(), outputDirectory: outputDirectory,
                                                  defaultExtension: "png", providerBaseURL: "https://queue.fal.run", secrets: [])
        }
        XCTAssertEqual(error?.kind, .malformedResponse)
        XCTAssertTrue(error?.message.contains("not a public address") ?? false, error?.message ?? "no error")
        XCTAssertEqual(inside.requests.count, 0, "no connection reached it")
        XCTAssertEqual((try? FileManager.default.contentsOfDirectory(atPath: outputDirectory)) ?? [], [])
    }

    /// A connection the client keeps open to the same host (a gateway configured beside the
    /// server) is not reused, which would skip the check.
    func testAKeptConnectionToAPrivateHostIsNotReusedForAnOutput() async throws {
        let gateway = try FakeHTTPServer { _ in .bytes(200, Data("x".utf8), contentType: "image/png") }
        _ = track(gateway)
        let shared = http()
        _ = try await AdapterSupport.download(gateway.baseURL + "/first", http: shared, outputDirectory: outputDirectory,
                                              defaultExtension: "png", providerBaseURL: gateway.baseURL, secrets: [])
        let error = await expectProviderError { () async throws(ProviderError) in
            _ = try await AdapterSupport.download(gateway.baseURL + "/second", http: shared, outputDirectory: outputDirectory,
                                                  defaultExtension: "png", providerBaseURL: "https://queue.fal.run", secrets: [])
        }
        XCTAssertEqual(error?.kind, .malformedResponse)
        XCTAssertEqual(gateway.requests.map(\.path), ["/first"])
    }

    func testAnOutputBesideAProviderOnThisMachineIsDownloaded() async throws {
        let fake = try FakeHTTPServer { _ in .bytes(200, Data("png".utf8), contentType: "image/webp") }
        _ = track(fake)
        let file = try await AdapterSupport.download(fake.baseURL + "/out.webp", http: http(), outputDirectory: outputDirectory,
                                                     defaultExtension: "png", providerBaseURL: fake.baseURL, secrets: [])
        XCTAssertEqual(file.mimeType, "image/webp")
        XCTAssertEqual(file.byteCount, 3)
    }

    /// HTML or SVG served as an output would be given back inline from the API's origin.
    func testAnOutputsTypeIsKeptOnlyWhenItIsAMediaType() async throws {
        for (contentType, stored) in [("text/html; charset=utf-8", "image/png"), ("image/svg+xml", "image/png"), ("", "image/png"),
                                      ("IMAGE/JPEG", "image/jpeg"), ("video/mp4; codecs=avc1", "video/mp4"), ("application/javascript", "image/png")] {
            let fake = try FakeHTTPServer { _ in .bytes(200, Data("x".utf8), contentType: contentType) }
            _ = track(fake)
            let file = try await AdapterSupport.download(fake.baseURL + "/out", http: http(), outputDirectory: outputDirectory,
                                                         defaultExtension: "png", providerBaseURL: fake.baseURL, secrets: [])
            XCTAssertEqual(file.mimeType, stored, contentType)
        }
    }

    private func http() -> ProviderHTTP {
        makeContext().http(.fal, mapError: FALErrors.map)
    }

    private static func bytes(_ family: Int32, _ text: String) -> [UInt8] {
        if family == AF_INET {
            var address = in_addr()
            XCTAssertEqual(inet_pton(AF_INET, text, &address), 1, text)
            return withUnsafeBytes(of: &address) { Array($0) }
        }
        var address = in6_addr()
        XCTAssertEqual(inet_pton(AF_INET6, text, &address), 1, text)
        return withUnsafeBytes(of: &address) { Array($0) }
    }
}
