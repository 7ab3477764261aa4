import ArgumentParser
import Foundation
import TokenLedger

/// JSON with sorted keys on one line, ending in a newline (as ``printJSON(_:)`` prints it).
func jsonText(_ value: some Encodable) throws -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    return String(decoding: try encoder.encode(value), as: UTF8.self) + "\n"
}

/// Usage rows as CSV with a header row (as ``printCSV(_:)`` prints them).
func csvText(_ usages: [UserUsage]) -> String {
    var text = usageColumns.joined(separator: ",") + "\n"
    for usage in usages { text += usageCells(usage).map(csvField).joined(separator: ",") + "\n" }
    return text
}

/// Rows as aligned columns, the first row the header (as ``printTable(_:)`` prints them).
func tableText(_ rows: [[String]]) -> String {
    guard let header = rows.first else { return "" }
    var widths = header.map(\.count)
    for row in rows {
        for (index, cell) in row.enumerated() where index < widths.count { widths[index] = max(widths[index], cell.count) }
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

/// The `--format` of operations commands (`rollover`, `migrate`).
enum OperationFormat: String, ExpressibleByArgument, CaseIterable {
    case table, json
}
