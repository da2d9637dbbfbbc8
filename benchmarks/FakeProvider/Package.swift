// swift-tools-version:6.0
// The benchmarks' fake LLM provider: its own package so the main test suite never builds it.
// Release build: swift build -c release --package-path benchmarks/FakeProvider
import PackageDescription

let package = Package(
    name: "FakeProvider",
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
    ],
    targets: [
        .executableTarget(
            name: "FakeProvider",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
    ],
    swiftLanguageModes: [.v5]
)
