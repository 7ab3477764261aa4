import ArgumentParser
import Foundation
import TokenLedger

/// `tokenledger spool`: the local spool of events Redis could not take.
struct SpoolCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "spool",
        abstract: "Show or replay the local spool of events Redis could not take (TOKENLEDGER_SPOOL_DIR).",
        subcommands: [Status.self, Flush.self, SpoolParkedCommand.self]
    )

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "status",
            abstract: "Events waiting in the spool.",
            discussion: #"Prints {"bytes","directory","events","maximum_bytes","parked","rejected","segments"}."#)

        @OptionGroup(visibility: .hidden) var global: GlobalOptions
        @OptionGroup var output: FormatOptions

        func run() async throws {
            try await reportingFailures {
                let formatter = try output.formatter()
                guard let spool = try await openSpool(global) else { throw noSpool }
                try formatter.print(SpoolStatusOutput(spool.status()))
            }
        }
    }

    struct Flush: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "flush",
            abstract: "Replay the spool into Redis now (idempotent). Exit 69 if Redis is unavailable.",
            discussion:
                #"Prints {"applied","duplicates","rejected","remaining","torn"} (and "other_namespace" when events of another namespace stay spooled)."#
        )

        @OptionGroup var global: GlobalOptions
        @OptionGroup var output: JSONFormatOptions

        func run() async throws {
            try await reportingFailures {
                let formatter = try output.formatter()
                guard let spool = try await openSpool(global) else { throw noSpool }
                let (result, namespaceName) = try await global.withRepository { repository in
                    let recorder = UsageRecorder(
                        repository: repository, spool: spool, options: .init(replaysInBackground: false))
                    return (
                        try await recorder.withRunning { try await recorder.flush() },
                        repository.configuration.namespace
                    )
                }
                try formatter.print(result)
                if result.otherNamespace > 0 {
                    printError(
                        "\(result.otherNamespace) spooled event(s) belong to another namespace than '\(namespaceName)' and stay "
                            + "in the spool; flush them with that --namespace")
                }
            }
        }
    }
}

private let noSpool = CLIFailure(
    exitCode: .usage,
    message: "TOKENLEDGER_SPOOL_DIR is not set; it names the spool directory (or tokenledger.spoolDir in --config)")

/// The spool status with snake_case keys.
struct SpoolStatusOutput: CommandResult {
    var directory: String
    var events: Int
    var bytes: Int
    var segments: Int
    var maximumBytes: Int
    var rejected: Int
    var parked: Int

    init(_ status: SpoolStatus) {
        directory = status.directory
        events = status.events
        bytes = status.bytes
        segments = status.segments
        maximumBytes = status.maximumBytes
        rejected = status.rejected
        parked = status.parked
    }

    enum CodingKeys: String, CodingKey {
        case directory, events, bytes, segments, rejected, parked
        case maximumBytes = "maximum_bytes"
    }
}

extension SpoolStatusOutput {
    /// `spool DIR: N events, B bytes in S segments (bound M bytes); R rejected; P parked`.
    func renderTable() throws -> String {
        "spool \(directory): \(events) events, \(bytes) bytes in \(segments) segments (bound \(maximumBytes) bytes); "
            + "\(rejected) rejected; \(parked) parked\n"
    }

    /// `directory,events,bytes,segments,maximum_bytes,rejected` and the row.
    func csvRows() throws -> [[String]] {
        [
            ["directory", "events", "bytes", "segments", "maximum_bytes", "rejected", "parked"],
            [
                directory, String(events), String(bytes), String(segments), String(maximumBytes), String(rejected),
                String(parked),
            ],
        ]
    }
}

extension ReplayResult: CommandResult {}
