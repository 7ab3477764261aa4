// swift-tools-version: 6.0
import PackageDescription

let package = Package(
    name: "TokenLedger",
    products: [
        .library(name: "TokenLedger", targets: ["TokenLedger"]),
        .library(name: "TokenLedgerService", targets: ["TokenLedgerService"]),
        .executable(name: "tokenledger", targets: ["tokenledger"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.5.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.6.0"),
        .package(url: "https://github.com/apple/swift-configuration", from: "1.0.0"),
        .package(url: "https://github.com/apple/swift-crypto", "3.12.0"..<"5.0.0"),
        // `tokenledger serve`: the HTTP service and its Prometheus metrics.
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.0.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.0.0"),
        // The proxy routes of `tokenledger serve` forward to the providers with it (HummingbirdTesting
        // builds it for the tests already).
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.30.0"),
        // `swift package generate-documentation` (./scripts/docs): the DocC catalog and Snippets/.
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.4.0"),
    ],
    targets: [
        // hiredis 0.14 from Debian's libhiredis-dev, found through pkg-config.
        .systemLibrary(
            name: "CHiredis",
            pkgConfig: "hiredis",
            providers: [.apt(["libhiredis-dev"])]
        ),
        // zlib from Debian's zlib1g-dev, for reading .tiktoken.gz rank files.
        .systemLibrary(
            name: "CZlib",
            pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"])]
        ),
        // The closed error-code protocol every module's error `Code` conforms to. Nothing else.
        .target(name: "ErrorCodes"),
        // Exact, tiktoken-compatible BPE token counting (o200k_base, cl100k_base). No domain words.
        .target(
            name: "BytePairEncoding",
            dependencies: ["CZlib", "ErrorCodes"]
        ),
        // A Redis client over hiredis: configuration, connections, pool, pipelines, scripts.
        // No TokenLedger domain words live here.
        .target(
            name: "RedisClient",
            dependencies: [
                "CHiredis",
                "ErrorCodes",
                .product(name: "Configuration", package: "swift-configuration"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // The accounting domain: usage records, cycles, quotas, repository, handlers.
        .target(
            name: "TokenLedger",
            dependencies: [
                "RedisClient",
                "BytePairEncoding",
                "ErrorCodes",
                .product(name: "Configuration", package: "swift-configuration"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            resources: [.copy("Scripts"), .copy("Pricing/default-prices.json")]
        ),
        // The HTTP service (`tokenledger serve`): routes, auth, problems, metrics, the OpenAPI document.
        .target(
            name: "TokenLedgerService",
            dependencies: [
                "TokenLedger",
                "RedisClient",
                "ErrorCodes",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Configuration", package: "swift-configuration"),
            ],
            resources: [.copy("Resources/openapi.yaml")]
        ),
        // The admin CLI; thin over the library.
        .executableTarget(
            name: "tokenledger",
            dependencies: [
                "TokenLedger",
                "TokenLedgerService",
                "RedisClient",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Configuration", package: "swift-configuration"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
        // Prints the heuristic estimator's error against tiktoken counts (scripts/estimator-accuracy).
        .executableTarget(
            name: "EstimatorAccuracy",
            dependencies: ["TokenLedger", "BytePairEncoding"]
        ),
        // Prints BPE throughput (MB/s) next to tiktoken's on the same text (scripts/bench-bpe).
        .executableTarget(
            name: "BPEBenchmark",
            dependencies: ["BytePairEncoding"]
        ),
        // The recording benchmark (scripts/bench): throughput, latency, reports, redis-benchmark;
        // its `loadgen` mode is the deterministic workload of scripts/chaos.
        .executableTarget(
            name: "TokenLedgerBenchmark",
            dependencies: [
                "TokenLedger", "RedisClient",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // Starts throwaway redis-server processes for integration tests.
        .target(
            name: "RedisTestSupport",
            dependencies: ["RedisClient", .product(name: "MetricsTestKit", package: "swift-metrics")],
            path: "Tests/RedisTestSupport"
        ),
        .testTarget(
            name: "BytePairEncodingTests",
            dependencies: ["BytePairEncoding"]
        ),
        .testTarget(
            name: "RedisClientTests",
            dependencies: [
                "RedisClient", "RedisTestSupport", .product(name: "MetricsTestKit", package: "swift-metrics"),
            ]
        ),
        .testTarget(
            name: "TokenLedgerTests",
            dependencies: [
                "TokenLedger", "RedisClient", "RedisTestSupport",
                .product(name: "MetricsTestKit", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            // The provider-response fixtures the extraction tests read (a clone alone passes its tests).
            resources: [.copy("Fixtures")]
        ),
        .testTarget(
            name: "TokenLedgerServiceTests",
            dependencies: [
                "TokenLedgerService", "TokenLedger", "RedisClient", "RedisTestSupport",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ]
        ),
        .testTarget(
            name: "TokenLedgerCLITests",
            // TokenLedgerBenchmark: its `loadgen` mode drives the spool durability test.
            dependencies: ["tokenledger", "TokenLedgerBenchmark", "RedisTestSupport"]
        ),
    ]
)
