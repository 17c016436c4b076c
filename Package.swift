// swift-tools-version:6.0
import PackageDescription

// No package dependencies by design: the only external code is the system's C libraries,
// reached through the `C*` system-library targets below (see docs/architecture.md).
let package = Package(
    name: "MediaWorkspace",
    products: [
        .executable(name: "apiserver", targets: ["APIServer"]),
        .executable(name: "fake-providers", targets: ["FakeProviders"]),
    ],
    targets: [
        // C wrappers. Each header adds typed, non-variadic wrappers where the C API is variadic.
        .systemLibrary(name: "CMicroHTTPD", pkgConfig: "libmicrohttpd", providers: [.apt(["libmicrohttpd-dev"])]),
        .systemLibrary(name: "CLibPQ", pkgConfig: "libpq", providers: [.apt(["libpq-dev"])]),
        .systemLibrary(name: "COpenSSL", pkgConfig: "openssl", providers: [.apt(["libssl-dev"])]),
        .systemLibrary(name: "CCurl", pkgConfig: "libcurl", providers: [.apt(["libcurl4-openssl-dev"])]),
        .systemLibrary(name: "CXCrypt", pkgConfig: "libxcrypt", providers: [.apt(["libcrypt-dev"])]),

        .target(name: "Domain"),
        .target(name: "Crypto", dependencies: ["Domain", "COpenSSL", "CXCrypt"]),
        .target(name: "Persistence", dependencies: ["Domain", "CLibPQ", "CCurl"]),
        .target(name: "Providers", dependencies: ["Domain", "CCurl"]),
        .executableTarget(
            name: "APIServer",
            dependencies: ["Domain", "Persistence", "Providers", "Crypto", "CMicroHTTPD"],
            // Release on Linux: lld, so that the relative relocations of the position-independent
            // binary are packed (RELR, glibc ≥ 2.36): the loader reads ~2 MB less at every start,
            // pages that stayed resident (BENCHMARKS.md, "Footprint").
            linkerSettings: [.unsafeFlags(["-use-ld=lld", "-Xlinker", "-z", "-Xlinker", "pack-relative-relocs"],
                                          .when(platforms: [.linux], configuration: .release))]
        ),
        .executableTarget(name: "Benchmarks", dependencies: ["Crypto", "Domain"]),
        // Every provider's wire format on one loopback port, for tests and key-less runs (README).
        .executableTarget(name: "FakeProviders", dependencies: ["CMicroHTTPD"]),

        // Shared by the test targets only: throwaway PostgreSQL clusters, loopback HTTP helpers.
        .target(name: "TestSupport", dependencies: ["Persistence"], path: "Tests/TestSupport"),

        .testTarget(name: "DomainTests", dependencies: ["Domain"]),
        .testTarget(name: "CryptoTests", dependencies: ["Crypto", "Domain"]),
        .testTarget(name: "PersistenceTests", dependencies: ["Persistence", "Crypto", "TestSupport"]),
        .testTarget(name: "ProvidersTests", dependencies: ["Providers", "TestSupport"]),
        .testTarget(name: "APIServerTests", dependencies: ["APIServer", "Persistence", "TestSupport"]),
    ]
)
