import ArgumentParser
import Foundation
import TokenLedger

/// The `--format` of every command that prints a result: the same value rendered as an aligned
/// table, one line of JSON (sorted keys) or CSV with a header row. `html` is `report`'s only.
enum OutputFormat: String, ExpressibleByArgument, CaseIterable, Sendable {
    case table, json, csv, html

    /// The formats every command takes (`html` is `report`'s only).
    static let common: [OutputFormat] = [.table, .json, .csv]

    /// Parses a `--format` every command takes, so `--help` lists only those and `html` is a usage
    /// error (exit 64) outside `report`.
    @Sendable static func parseCommon(_ text: String) throws -> OutputFormat {
        guard let format = OutputFormat(rawValue: text), common.contains(format) else {
            throw ArgumentParser.ValidationError(
                text == "html"
                    ? "--format html is only for report; use table, json or csv" : "--format must be table, json or csv"
            )
        }
        return format
    }
}

/// The `--format` a command uses when none is given.
protocol DefaultOutputFormat {
    /// The format.
    static var format: OutputFormat { get }
}

/// Read and operations commands print a table by default.
enum TableByDefault: DefaultOutputFormat {
    static var format: OutputFormat { .table }
}

/// Commands that have always printed one JSON line keep JSON as their default.
enum JSONByDefault: DefaultOutputFormat {
    static var format: OutputFormat { .json }
}

/// `--format table|json|csv`, with `Default` when not given.
struct FormatChoice<Default: DefaultOutputFormat>: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp(
            "Output format: table, json (sorted keys, one line) or csv (default: \(Default.format.rawValue))."),
        transform: OutputFormat.parseCommon)
    var format: OutputFormat = Default.format

    /// The formatter for the chosen format.
    func formatter() throws -> OutputFormatter { try OutputFormatter(common: format) }
}

/// `--format`, defaulting to `table` (read and operations commands).
typealias FormatOptions = FormatChoice<TableByDefault>

/// `--format`, defaulting to `json` (commands that have always printed one JSON line).
typealias JSONFormatOptions = FormatChoice<JSONByDefault>

/// A command's result: `Encodable` (its JSON form), with table and CSV renderings of the same value.
///
/// The defaults render the value's JSON object: a two-column `field value` table, and CSV with the
/// field names as the header and one row. Results with rows of their own (usage, report, history)
/// override them.
protocol CommandResult: Encodable {
    /// The table rendering, ending in a newline.
    func renderTable() throws -> String
    /// The CSV rows, the header row first (fields are quoted by the formatter).
    func csvRows() throws -> [[String]]
}

extension CommandResult {
    func renderTable() throws -> String {
        alignedColumns(try EncodedValue.fields(of: self).map { [$0.name, $0.value] })
    }

    func csvRows() throws -> [[String]] {
        let fields = try EncodedValue.fields(of: self)
        return [fields.map(\.name), fields.map(\.value)]
    }
}

/// Renders a ``CommandResult`` in one ``OutputFormat``; the one place the CLI writes results.
struct OutputFormatter {
    /// The format to render in.
    var format: OutputFormat

    init(_ format: OutputFormat) { self.format = format }

    /// A formatter for a format every command takes.
    ///
    /// - Throws: ``CLIFailure`` (exit 64) for `html`, which only `report` writes.
    init(common format: OutputFormat) throws {
        guard OutputFormat.common.contains(format) else {
            throw CLIFailure(
                exitCode: .usage, message: "--format \(format.rawValue) is only for report; use table, json or csv")
        }
        self.format = format
    }

    /// The CLI's one JSON configuration: sorted keys, slashes unescaped, one line (the field names
    /// are snake_case through each type's coding keys).
    static func jsonEncoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }

    /// One line of JSON for `value`, newline included.
    static func json(_ value: some Encodable) throws -> String {
        String(decoding: try jsonEncoder().encode(value), as: UTF8.self) + "\n"
    }

    /// The text of `value` in this format, ending in a newline.
    func render(_ value: some CommandResult) throws -> String {
        switch format {
        case .json: return try Self.json(value)
        case .csv: return try value.csvRows().map { $0.map(csvField).joined(separator: ",") + "\n" }.joined()
        case .table: return try value.renderTable()
        case .html:
            throw CLIFailure(exitCode: .usage, message: "--format html is only for report; use table, json or csv")
        }
    }

    /// Writes `value` in this format to stdout.
    func print(_ value: some CommandResult) throws {
        Swift.print(try render(value), terminator: "")
    }
}

/// One CSV field, quoted when it holds a comma, quote, CR or LF (RFC 4180).
func csvField(_ text: String) -> String {
    if text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) {
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
    return text
}

/// Rows as aligned columns, the first row the header: the first column left-aligned, the others
/// right-aligned, each line ending in a newline.
func alignedColumns(_ rows: [[String]]) -> String {
    guard let header = rows.first else { return "" }
    var widths = header.map(\.count)
    for row in rows {
        for (index, cell) in row.enumerated() where index < widths.count {
            widths[index] = max(widths[index], cell.count)
        }
    }
    var text = ""
    for row in rows {
        let cells = row.enumerated().map { index, cell in
            index == 0 || index >= widths.count
                ? cell.padding(toLength: index < widths.count ? widths[index] : cell.count, withPad: " ", startingAt: 0)
                : String(repeating: " ", count: max(0, widths[index] - cell.count)) + cell
        }
        text += cells.joined(separator: "  ").trimmingCharacters(in: .whitespaces) + "\n"
    }
    return text
}

/// A value read back from a result's JSON encoding, to render its fields as table or CSV cells
/// (integers stay integers, unlike the extraction's `JSONValue`, whose numbers are `Double`).
enum EncodedValue: Decodable {
    case bool(Bool), int(Int), double(Double), string(String), null
    case array([EncodedValue]), object([String: EncodedValue])

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Int.self) {
            self = .int(value)
        } else if let value = try? container.decode(Double.self) {
            self = .double(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([EncodedValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: EncodedValue].self))
        }
    }

    /// The value as one cell: scalars as text, null empty, arrays and objects as compact JSON.
    var cell: String {
        switch self {
        case .bool(let value): return String(value)
        case .int(let value): return String(value)
        case .double(let value): return String(value)
        case .string(let value): return value
        case .null: return ""
        case .array(let items): return "[" + items.map(\.jsonText).joined(separator: ",") + "]"
        case .object: return jsonText
        }
    }

    private var jsonText: String {
        switch self {
        case .string(let value):
            return (try? OutputFormatter.json(value).dropLast()).map(String.init) ?? value
        case .object(let fields):
            let members = fields.keys.sorted().map { key in
                ((try? OutputFormatter.json(key).dropLast()).map(String.init) ?? key) + ":" + fields[key]!.jsonText
            }
            return "{" + members.joined(separator: ",") + "}"
        case .null: return "null"
        default: return cell
        }
    }

    /// The fields of `value`'s JSON object in key order (a non-object is one field, `value`).
    static func fields(of value: some Encodable) throws -> [(name: String, value: String)] {
        let decoded = try JSONDecoder().decode(EncodedValue.self, from: try OutputFormatter.jsonEncoder().encode(value))
        guard case .object(let fields) = decoded else { return [("value", decoded.cell)] }
        return fields.keys.sorted().map { ($0, fields[$0]!.cell) }
    }
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

/// The columns of usage rows in csv and table output.
let usageColumns = [
    "user", "cycle", "cycle_end", "input_tokens", "output_tokens", "cached_input_tokens", "cache_write_tokens",
    "reasoning_tokens", "total_tokens", "calls", "limit", "reserved", "remaining",
    "cost_usd", "unpriced_calls", "reported_cost_usd",
]

/// One usage as cells in ``usageColumns`` order (empty cells for unlimited, and for a cost the
/// cycle does not hold).
func usageCells(_ usage: UserUsage) -> [String] {
    [
        usage.user, usage.cycle.description, usage.cycleEnd.description, String(usage.inputTokens),
        String(usage.outputTokens), String(usage.cachedInputTokens), String(usage.cacheWriteTokens),
        String(usage.reasoningTokens), String(usage.totalTokens), String(usage.calls),
        usage.limit.map(String.init) ?? "",
        String(usage.reserved), usage.remaining.map(String.init) ?? "",
        usage.money.cost?.description ?? "", String(usage.money.unpricedCalls),
        usage.money.reportedCost?.description ?? "",
    ]
}

/// Whether standard error is a terminal (progress and colour only then).
var standardErrorIsTerminal: Bool { isatty(2) == 1 }
