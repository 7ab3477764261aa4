import ArgumentParser
import Foundation
import TokenLedger

/// `tokenledger spool parked`: events whose cycle's call ids were dropped after the dedupe window
/// (the `parked.jsonl` file of the spool directory; docs/operations.md, "Parked events").
struct SpoolParkedCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "parked",
        abstract: "List, apply or drop events parked because their cycle's call ids were dropped.",
        subcommands: [List.self, Apply.self, Drop.self]
    )

    /// Which parked events a command acts on: all, or those of one call id.
    struct Selection: ParsableArguments {
        @Option(name: .customLong("call-id"), help: "Only the events of this call id (default: every parked event).")
        var callID: String?

        func matches(_ entry: ParkedEvents.Entry) -> Bool { callID.map { $0 == entry.event.callID } ?? true }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "list",
            abstract: "The parked events, oldest first.",
            discussion:
                #"Prints [{"call_id","cycle","namespace","operation","parked_at","reason","total_tokens","user"}]."#)

        @OptionGroup(visibility: .hidden) var global: GlobalOptions
        @OptionGroup var output: FormatOptions

        func run() async throws {
            try await reportingFailures {
                let formatter = try output.formatter()
                guard let spool = try await openSpool(global) else { throw noSpoolDirectory }
                try formatter.print(ParkedListOutput(ParkedEvents(directory: spool.directory).list()))
            }
        }
    }

    struct Apply: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "apply",
            abstract: "Apply parked events anyway (each may count a call twice). Needs --yes.",
            discussion:
                #"Applies each event to its cycle even though the cycle's call ids were dropped, and removes it from the parked file. Prints {"applied","duplicates","failed","remaining"}."#
        )

        @OptionGroup var global: GlobalOptions
        @OptionGroup var output: JSONFormatOptions
        @OptionGroup var selection: Selection
        @Flag(help: "Confirm: a parked call that was counted before its call ids were dropped counts twice.")
        var yes = false

        func validate() throws {
            if !yes {
                throw ArgumentParser.ValidationError(
                    "applying a parked event may count its call twice; add --yes to confirm")
            }
        }

        func run() async throws {
            try await reportingFailures {
                let formatter = try output.formatter()
                guard let spool = try await openSpool(global) else { throw noSpoolDirectory }
                let parked = ParkedEvents(directory: spool.directory)
                var result = try await global.withRepository { repository in
                    var result = ParkedApplyOutput()
                    try await parked.remove { entry in
                        guard selection.matches(entry) else { return false }
                        do {
                            let written = try await repository.applyParked(entry.event)
                            if written.applied { result.applied += 1 } else { result.duplicates += 1 }
                            return true
                        } catch let error where ErrorCategory.of(error) == .unavailable {
                            throw error
                        } catch {
                            result.failed += 1
                            printError("call id \(entry.event.callID.prefix(64)) stays parked: \(error)")
                            return false
                        }
                    }
                    return result
                }
                result.remaining = parked.count
                try formatter.print(result)
            }
        }
    }

    struct Drop: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "drop",
            abstract: "Discard parked events (they are never counted). Needs --yes.",
            discussion: #"Prints {"dropped","remaining"}."#)

        @OptionGroup(visibility: .hidden) var global: GlobalOptions
        @OptionGroup var output: JSONFormatOptions
        @OptionGroup var selection: Selection
        @Flag(help: "Confirm: dropped events are never counted.") var yes = false

        func validate() throws {
            if !yes { throw ArgumentParser.ValidationError("dropped events are never counted; add --yes to confirm") }
        }

        func run() async throws {
            try await reportingFailures {
                let formatter = try output.formatter()
                guard let spool = try await openSpool(global) else { throw noSpoolDirectory }
                let parked = ParkedEvents(directory: spool.directory)
                let dropped = try await parked.remove { selection.matches($0) }
                try formatter.print(ParkedDropOutput(dropped: dropped.count, remaining: parked.count))
            }
        }
    }
}

/// The parked events, one row each.
struct ParkedListOutput: CommandResult {
    struct Row: Encodable {
        var user: String
        var callID: String
        var operation: String
        var cycle: String?
        var namespace: String?
        var totalTokens: Int
        var parkedAt: String
        var reason: String

        enum CodingKeys: String, CodingKey {
            case user, operation, cycle, namespace, reason
            case callID = "call_id"
            case totalTokens = "total_tokens"
            case parkedAt = "parked_at"
        }
    }

    var rows: [Row]

    init(_ entries: [ParkedEvents.Entry]) {
        rows = entries.map {
            Row(
                user: $0.event.user, callID: $0.event.callID, operation: $0.event.operation.rawValue,
                cycle: $0.event.cycle?.description, namespace: $0.event.namespace,
                totalTokens: $0.event.usage.totalTokens, parkedAt: $0.parkedAt, reason: $0.reason)
        }
    }

    func encode(to encoder: any Encoder) throws { try rows.encode(to: encoder) }

    func renderTable() throws -> String {
        if rows.isEmpty { return "no parked events\n" }
        return alignedColumns(
            [["parked_at", "user", "call_id", "operation", "total_tokens"]]
                + rows.map { [$0.parkedAt, $0.user, $0.callID, $0.operation, String($0.totalTokens)] })
    }

    func csvRows() throws -> [[String]] {
        [["parked_at", "user", "call_id", "operation", "cycle", "total_tokens", "reason"]]
            + rows.map {
                [$0.parkedAt, $0.user, $0.callID, $0.operation, $0.cycle ?? "", String($0.totalTokens), $0.reason]
            }
    }
}

/// `{"applied","duplicates","failed","remaining"}`.
struct ParkedApplyOutput: CommandResult {
    var applied = 0
    var duplicates = 0
    var failed = 0
    var remaining = 0
}

/// `{"dropped","remaining"}`.
struct ParkedDropOutput: CommandResult {
    var dropped: Int
    var remaining: Int
}

let noSpoolDirectory = CLIFailure(
    exitCode: .usage,
    message: "TOKENLEDGER_SPOOL_DIR is not set; it names the spool directory (or tokenledger.spoolDir in --config)")
