// swift-tools-version:6.0
import PackageDescription

// No package dependencies by design: the only external code is the system's C libraries,
// reached through the `C*` system-library targets below (see docs/architecture.md).

// Release on Linux: each function in a section of its own, so that lld can place the code that
// runs at start-up and at rest together (scripts/startup-order.txt, see `apiserverLinking`).
let functionSections: [SwiftSetting] = [.unsafeFlags(["-Xfrontend", "-function-sections"], .when(platforms: [.linux], configuration: .release))]

// Release on Linux: lld, so that the relative relocations of the position-independent binary are
// packed (RELR, glibc ≥ 2.36): the loader reads ~2 MB less at every start, pages that stayed
// resident. The functions a start and an idle server run are laid out first, in the order of
// scripts/startup-order.txt (written by scripts/startup-order.sh), so that they share pages
// instead of each touching its own 64 KiB window of the 18 MB of code (BENCHMARKS.md, "Footprint").
let apiserverLinking: [LinkerSetting] = [.unsafeFlags([
    "-use-ld=lld", "-Xlinker", "-z", "-Xlinker", "pack-relative-relocs",
    "-Xlinker", "--symbol-ordering-file=\(Context.packageDirectory)/scripts/startup-order.txt",
    "-Xlinker", "--no-warn-symbol-ordering",
    // Functions without a symbol cannot be ordered by name: scripts/startup-order.ld gathers them
    // into one small section just before the ordered block instead of one window each.
    "-Xlinker", "-T", "-Xlinker", "\(Context.packageDirectory)/scripts/startup-order.ld",
    // The C++ runtime the Swift runtime needs, linked in: the toolchain's link arguments name
    // `-lstdc++`, and a search directory given here comes before the system's, so lld finds
    // scripts/link/libstdc++.a (a link to GCC 12's archive, as on Debian bookworm and in the
    // Dockerfile) first. The shared library cost 1.4 MiB resident at rest and no other library
    // loads it; where the link dangles (another GCC), lld skips it and links the shared one.
    "-L\(Context.packageDirectory)/scripts/link",
    // The static standard library's link arguments export every public symbol of our modules
    // (6,600): the loader then looks each library's imports up in those tables first, and they
    // stayed resident. Nothing looks our symbols up at run time (backtraces read the file).
    "-Xlinker", "--no-export-dynamic",
], .when(platforms: [.linux], configuration: .release))]

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

        .target(name: "Domain", swiftSettings: functionSections),
        .target(name: "Crypto", dependencies: ["Domain", "COpenSSL", "CXCrypt"], swiftSettings: functionSections),
        .target(name: "Persistence", dependencies: ["Domain", "CLibPQ", "CCurl"], swiftSettings: functionSections),
        .target(name: "Providers", dependencies: ["Domain", "CCurl"], swiftSettings: functionSections),
        .executableTarget(
            name: "APIServer",
            dependencies: ["Domain", "Persistence", "Providers", "Crypto", "CMicroHTTPD"],
            swiftSettings: functionSections,
            linkerSettings: apiserverLinking
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
