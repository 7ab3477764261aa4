import Foundation

/// Renders a cycle's report as one self-contained HTML page: no scripts, no fonts, no images or
/// styles from the network (a Content-Security-Policy forbids any fetch), so it can be mailed,
/// archived or opened offline.
///
/// The page shows the cycle's totals (tokens and spend), an SVG bar chart of the top users by share
/// of their limit, each bar scaled to its own user's binding limit: the token limit or the currency
/// limit, whichever the user has used the larger share of (a bar turns red past the limit; users
/// without any limit come last and have no limit mark), a table of the same users with what remains
/// of each limit, and the per-model split of all users' tokens and cost. Numbers are written in full
/// with `,` as the thousands separator; amounts of money in the cards and captions in dollars and
/// cents, in the tables exactly (nine decimals).
public enum HTMLReport {
    /// Renders the page.
    ///
    /// - Parameters:
    ///   - report: The cycle's report with **every** user (the totals and the per-model split are
    ///     over all of them).
    ///   - top: How many users the chart and its table show (largest share of limit first). Default 10.
    ///   - namespace: The namespace, shown in the title.
    ///   - generatedAt: When the page was made, shown in the footer.
    /// - Returns: The HTML text (UTF-8).
    public static func render(_ report: UsageReport, top: Int = 10, namespace: String, generatedAt: Date = Date())
        -> String
    {
        let totals = report.totals
        let users = report.users.sorted(by: byShareOfLimit)
        let shown = Array(users.prefix(max(0, top)))
        var models: [String: UserUsage.ModelUsage] = [:]
        for usage in report.users {
            for (model, share) in usage.models {
                var entry = models[model] ?? UserUsage.ModelUsage()
                entry.inputTokens += share.inputTokens
                entry.outputTokens += share.outputTokens
                entry.totalTokens += share.totalTokens
                entry.calls += share.calls
                entry.unpricedCalls += share.unpricedCalls
                if let cost = share.cost {
                    // Each user's model cost is at most 2^53 - 1 nano-USD; a sum past 64 bits shows as unknown.
                    let (sum, overflow) = (entry.cost ?? .zero).addingReportingOverflow(cost)
                    entry.cost = overflow ? nil : sum
                }
                models[model] = entry
            }
        }
        let title = "Token usage \(report.cycle) (\(namespace))"
        var html = """
            <!DOCTYPE html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>\(escape(title))</title>
            <style>
            body { font-family: system-ui, sans-serif; margin: 24px; color: #1d2330; background: #ffffff; }
            h1 { font-size: 22px; margin: 0 0 4px; }
            h2 { font-size: 17px; margin: 28px 0 8px; }
            .sub { color: #5b6475; margin: 0 0 16px; }
            .cards { display: flex; flex-wrap: wrap; gap: 12px; }
            .card { border: 1px solid #d6dbe4; border-radius: 8px; padding: 10px 14px; min-width: 120px; background: #f5f7fb; }
            .card .label { color: #5b6475; font-size: 12px; text-transform: uppercase; letter-spacing: .04em; }
            .card .value { font-size: 20px; font-weight: 600; font-variant-numeric: tabular-nums; }
            table { border-collapse: collapse; font-variant-numeric: tabular-nums; }
            th, td { padding: 4px 10px; border-bottom: 1px solid #e3e7ee; text-align: right; white-space: nowrap; }
            th:first-child, td:first-child { text-align: left; white-space: normal; overflow-wrap: anywhere; min-width: 12ch; }
            .scroll { overflow-x: auto; max-width: 100%; }
            th { color: #5b6475; font-weight: 600; font-size: 13px; }
            .legend span { display: inline-block; margin-right: 16px; font-size: 13px; }
            .swatch { display: inline-block; width: 12px; height: 12px; vertical-align: -1px; margin-right: 4px; border-radius: 2px; }
            footer { margin-top: 28px; color: #8a93a3; font-size: 12px; }
            </style>
            </head>
            <body>
            <h1>\(escape(title))</h1>
            <p class="sub">Cycle starting \(report.cycle) · \(format(totals.users)) users</p>
            <section id="totals">
            <h2>Cycle totals</h2>
            <div class="cards">

            """
        let cards: [(String, Int)] = [
            ("Total tokens", totals.totalTokens), ("Input tokens", totals.inputTokens),
            ("Output tokens", totals.outputTokens), ("Calls", totals.calls), ("Users", totals.users),
            ("Cached input", totals.cachedInputTokens), ("Cache writes", totals.cacheWriteTokens),
            ("Reasoning", totals.reasoningTokens), ("Reserved now", totals.reserved),
        ]
        var textCards = cards.map { ($0.0, format($0.1)) }
        textCards.insert(("Spend (USD)", totals.money.cost.map { usd($0.nanoUSD) } ?? "-"), at: 1)
        if totals.money.unpricedCalls > 0 { textCards.append(("Unpriced calls", format(totals.money.unpricedCalls))) }
        for (label, value) in textCards {
            html +=
                "<div class=\"card\"><div class=\"label\">\(label)</div><div class=\"value\">\(value)</div></div>\n"
        }
        html += "</div>\n</section>\n"
        let heading =
            shown.count == report.users.count
            ? "All \(format(shown.count)) users against their limits"
            : "Top \(format(shown.count)) of \(format(report.users.count)) users against their limits"
        html += "<section id=\"top-users\">\n<h2>\(heading)</h2>\n"
        html += "<p class=\"sub\">Sorted by share of limit (users without a limit last, by total); each bar is"
        html += " scaled to its own user's binding limit (tokens, or USD when more of it is used), the dark mark at"
        html += " the limit.</p>\n"
        html += chart(shown)
        html += "</section>\n"
        html += "<section id=\"models\">\n<h2>Per-model split</h2>\n"
        html += modelSection(models, total: totals.totalTokens)
        html += "</section>\n"
        html +=
            "<footer>Generated \(ISO8601Instant.format(generatedAt)) by tokenledger \(TokenLedgerVersion.current).</footer>\n"
        html += "</body>\n</html>\n"
        return html
    }

    // MARK: - Parts

    static let usedColor = "#3b6fd8"
    static let overColor = "#d8453b"
    static let limitColor = "#dfe4ec"
    static let markColor = "#1d2330"

    /// The per-model table with each model's share of all tokens.
    static func modelSection(_ models: [String: UserUsage.ModelUsage], total: Int) -> String {
        if models.isEmpty { return "<p>No usage in this cycle.</p>\n" }
        let ordered = models.sorted {
            $0.value.totalTokens != $1.value.totalTokens ? $0.value.totalTokens > $1.value.totalTokens : $0.key < $1.key
        }
        var html =
            "<table class=\"models\">\n<tr><th>model</th><th>total</th><th>input</th><th>output</th><th>calls</th><th>share</th>"
            + "<th>cost (USD)</th></tr>\n"
        for (model, usage) in ordered {
            let share = total > 0 ? percent(usage.totalTokens, of: total) : "-"
            html +=
                "<tr><td>\(model.isEmpty ? "(unknown model)" : escape(model))</td><td>\(format(usage.totalTokens))</td>"
            html +=
                "<td>\(format(usage.inputTokens))</td><td>\(format(usage.outputTokens))</td><td>\(format(usage.calls))</td><td>\(share)</td>"
            let unpriced = usage.unpricedCalls > 0 ? " (\(format(usage.unpricedCalls)) unpriced)" : ""
            html += "<td>\(usage.cost?.description ?? "-")\(unpriced)</td></tr>\n"
        }
        return html + "</table>\n"
    }

    // MARK: - Text

    /// `1234567` → `1,234,567` (no locale).
    static func format(_ value: Int) -> String {
        let digits = String(value.magnitude)
        var grouped = ""
        for (index, character) in digits.enumerated() {
            if index > 0 && (digits.count - index) % 3 == 0 { grouped.append(",") }
            grouped.append(character)
        }
        return (value < 0 ? "-" : "") + grouped
    }

    /// Escapes `& < > " '` for HTML text and attributes.
    static func escape(_ text: String) -> String {
        var result = ""
        result.reserveCapacity(text.utf8.count)
        for character in text {
            switch character {
            case "&": result += "&amp;"
            case "<": result += "&lt;"
            case ">": result += "&gt;"
            case "\"": result += "&quot;"
            case "'": result += "&#39;"
            default: result.append(character)
            }
        }
        return result
    }

    /// Nano-USD as dollars and cents, rounded half up in integers: `$1,234.57`; `< $0.01` for a
    /// spend above zero that rounds to no cent.
    static func usd(_ nanoUSD: Int) -> String {
        let cents = (nanoUSD / 5_000_000 + 1) / 2
        if cents == 0 && nanoUSD > 0 { return "&lt; $0.01" }
        let fraction = String(cents % 100)
        return "$\(format(cents / 100)).\(fraction.count == 1 ? "0" + fraction : fraction)"
    }

    static func clip(_ text: String) -> String { text.count > 48 ? String(text.prefix(47)) + "…" : text }

    static func fmt(_ value: Double) -> String { String(format: "%.1f", value) }
}
