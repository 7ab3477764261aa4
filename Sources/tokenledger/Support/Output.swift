import ArgumentParser
import Foundation
import TokenLedger

/// The `--format` of read commands.
enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case table, json, csv
}

/// Options of commands that print a result.
struct FormatOptions: ParsableArguments {
    @Option(name: .long, help: "Output format: table, json (sorted keys) or csv.")
    var format: OutputFormat = .table
}

/// The `--at` option: evaluate at an instant instead of now.
struct AtOption: ParsableArguments {
    @Option(name: .long, help: "Evaluate at this ISO 8601 instant (e.g. 2026-03-08T07:30:00Z); default now.")
    var at: String?

    /// The instant, or now.
    func instant() throws -> Date {
        guard let at else { return Date() }
        return try ISO8601Instant.parse(at, field: "--at")
    }
}

/// Writes JSON with sorted keys on one line to stdout.
func printJSON(_ value: some Encodable) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    print(String(decoding: try encoder.encode(value), as: UTF8.self))
}

/// Writes a JSON object, built from an encodable value plus extra fields, with sorted keys.
func printJSON(_ value: some Encodable, adding extra: [String: Any]) throws {
    let encoder = JSONEncoder()
    let data = try encoder.encode(value)
    guard var object = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
        throw CLIFailure(exitCode: .internalError, message: "could not encode the result as a JSON object")
    }
    for (key, item) in extra { object[key] = item }
    let output = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
    print(String(decoding: output, as: UTF8.self))
}

/// One CSV field, quoted when it holds a comma, quote, CR or LF (RFC 4180).
func csvField(_ text: String) -> String {
    if text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) {
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
    return text
}

/// Prints rows as aligned columns (the first row is the header).
func printTable(_ rows: [[String]]) {
    guard let header = rows.first else { return }
    var widths = header.map(\.count)
    for row in rows {
        for (index, cell) in row.enumerated() where index < widths.count { widths[index] = max(widths[index], cell.count) }
    }
    for row in rows {
        let cells = row.enumerated().map { index, cell in
            index == 0 ? cell.padding(toLength: widths[index], withPad: " ", startingAt: 0)
                : String(repeating: " ", count: max(0, widths[index] - cell.count)) + cell
        }
        print(cells.joined(separator: "  ").trimmingCharacters(in: .whitespaces))
    }
}

/// The columns of usage rows in csv and table output.
let usageColumns = [
    "user", "cycle", "cycle_end", "input_tokens", "output_tokens", "cached_input_tokens", "cache_write_tokens",
    "reasoning_tokens", "total_tokens", "calls", "limit", "reserved", "remaining",
]

/// One usage as cells in ``usageColumns`` order (empty cells for unlimited).
func usageCells(_ usage: UserUsage) -> [String] {
    [
        usage.user, usage.cycle.description, usage.cycleEnd.description, String(usage.inputTokens),
        String(usage.outputTokens), String(usage.cachedInputTokens), String(usage.cacheWriteTokens),
        String(usage.reasoningTokens), String(usage.totalTokens), String(usage.calls), usage.limit.map(String.init) ?? "",
        String(usage.reserved), usage.remaining.map(String.init) ?? "",
    ]
}

/// Prints usage rows as CSV with a header row.
func printCSV(_ usages: [UserUsage]) {
    print(usageColumns.joined(separator: ","))
    for usage in usages { print(usageCells(usage).map(csvField).joined(separator: ",")) }
}

/// Whether standard error is a terminal (progress and colour only then).
var standardErrorIsTerminal: Bool { isatty(2) == 1 }
