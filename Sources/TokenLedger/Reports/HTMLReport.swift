import Foundation

/// Renders a cycle's report as one self-contained HTML page: no scripts, no fonts, no images or
/// styles from the network (a Content-Security-Policy forbids any fetch), so it can be mailed,
/// archived or opened offline.
///
/// The page shows the cycle's totals, an SVG bar chart of the top users' usage against their
/// limits (a bar turns red past the limit; unlimited users have no limit mark), and the per-model
/// split of all users' tokens. Numbers are written in full with `,` as the thousands separator.
public enum HTMLReport {
    /// Renders the page.
    ///
    /// - Parameters:
    ///   - report: The cycle's report with **every** user (the totals and the per-model split are
    ///     over all of them).
    ///   - top: How many users the chart shows (largest total first). Default 10.
    ///   - namespace: The namespace, shown in the title.
    ///   - generatedAt: When the page was made, shown in the footer.
    /// - Returns: The HTML text (UTF-8).
    public static func render(_ report: UsageReport, top: Int = 10, namespace: String, generatedAt: Date = Date())
        -> String
    {
        let totals = report.totals
        let users = report.users.sorted {
            $0.totalTokens != $1.totalTokens ? $0.totalTokens > $1.totalTokens : $0.user < $1.user
        }
        let shown = Array(users.prefix(max(0, top)))
        var models: [String: UserUsage.ModelUsage] = [:]
        for usage in report.users {
            for (model, share) in usage.models {
                var entry = models[model] ?? UserUsage.ModelUsage()
                entry.inputTokens += share.inputTokens
                entry.outputTokens += share.outputTokens
                entry.totalTokens += share.totalTokens
                entry.calls += share.calls
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
            th, td { padding: 4px 10px; border-bottom: 1px solid #e3e7ee; text-align: right; }
            th:first-child, td:first-child { text-align: left; }
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
        for (label, value) in cards {
            html +=
                "<div class=\"card\"><div class=\"label\">\(label)</div><div class=\"value\">\(format(value))</div></div>\n"
        }
        html += "</div>\n</section>\n"
        html += "<section id=\"top-users\">\n<h2>Top \(shown.count) users against their limits</h2>\n"
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

    /// The SVG bar chart: one row per user, the limit as a pale bar with a dark mark at its end.
    static func chart(_ users: [UserUsage]) -> String {
        if users.isEmpty { return "<p>No usage in this cycle.</p>\n" }
        let labelWidth = 180.0
        let barWidth = 520.0
        let textWidth = 260.0
        let rowHeight = 30.0
        let width = labelWidth + barWidth + textWidth
        let height = rowHeight * Double(users.count) + 10
        let scale = Double(max(1, users.map { max($0.totalTokens, $0.limit ?? 0) }.max() ?? 1))
        var svg = """
            <div class="legend"><span><i class="swatch" style="background:\(usedColor)"></i>used</span>\
            <span><i class="swatch" style="background:\(overColor)"></i>used, over the limit</span>\
            <span><i class="swatch" style="background:\(limitColor)"></i>limit</span></div>
            <svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="Top users against their limits" \
            width="\(Int(width))" height="\(Int(height))" viewBox="0 0 \(Int(width)) \(Int(height))" \
            font-family="system-ui, sans-serif" font-size="13">

            """
        for (index, usage) in users.enumerated() {
            let y = 5 + Double(index) * rowHeight
            let used = Double(usage.totalTokens) / scale * barWidth
            let over = usage.limit.map { usage.totalTokens > $0 } ?? false
            svg += "<g class=\"bar\" data-user=\"\(escape(usage.user))\">\n"
            svg +=
                "<text x=\"\(Int(labelWidth - 8))\" y=\"\(fmt(y + 19))\" text-anchor=\"end\" fill=\"\(markColor)\">\(escape(clip(usage.user)))</text>\n"
            if let limit = usage.limit {
                let limitWidth = Double(limit) / scale * barWidth
                svg +=
                    "<rect x=\"\(Int(labelWidth))\" y=\"\(fmt(y + 4))\" width=\"\(fmt(limitWidth))\" height=\"20\" fill=\"\(limitColor)\"/>\n"
            }
            svg +=
                "<rect x=\"\(Int(labelWidth))\" y=\"\(fmt(y + 6))\" width=\"\(fmt(max(used, usage.totalTokens > 0 ? 1 : 0)))\" height=\"16\" fill=\"\(over ? overColor : usedColor)\"/>\n"
            if let limit = usage.limit {
                let x = labelWidth + Double(limit) / scale * barWidth
                svg +=
                    "<rect x=\"\(fmt(max(labelWidth, x - 1)))\" y=\"\(fmt(y + 1))\" width=\"2\" height=\"26\" fill=\"\(markColor)\"/>\n"
            }
            let caption: String
            if let limit = usage.limit {
                let percent =
                    limit > 0 ? String(format: "%.1f", Double(usage.totalTokens) * 100 / Double(limit)) + " %" : "over"
                caption = "\(format(usage.totalTokens)) / \(format(limit)) (\(percent))"
            } else {
                caption = "\(format(usage.totalTokens)) (unlimited)"
            }
            svg +=
                "<text x=\"\(Int(labelWidth + barWidth + 10))\" y=\"\(fmt(y + 19))\" fill=\"\(markColor)\">\(caption)</text>\n"
            svg += "</g>\n"
        }
        svg += "</svg>\n"
        var table =
            "<table class=\"users\">\n<tr><th>user</th><th>total</th><th>input</th><th>output</th><th>calls</th><th>limit</th></tr>\n"
        for usage in users {
            table +=
                "<tr><td>\(escape(usage.user))</td><td>\(format(usage.totalTokens))</td><td>\(format(usage.inputTokens))</td>"
            table +=
                "<td>\(format(usage.outputTokens))</td><td>\(format(usage.calls))</td><td>\(usage.limit.map(format) ?? "unlimited")</td></tr>\n"
        }
        return svg + table + "</table>\n"
    }

    /// The per-model table with each model's share of all tokens.
    static func modelSection(_ models: [String: UserUsage.ModelUsage], total: Int) -> String {
        if models.isEmpty { return "<p>No usage in this cycle.</p>\n" }
        let ordered = models.sorted {
            $0.value.totalTokens != $1.value.totalTokens ? $0.value.totalTokens > $1.value.totalTokens : $0.key < $1.key
        }
        var html =
            "<table class=\"models\">\n<tr><th>model</th><th>total</th><th>input</th><th>output</th><th>calls</th><th>share</th></tr>\n"
        for (model, usage) in ordered {
            let share = total > 0 ? String(format: "%.1f", Double(usage.totalTokens) * 100 / Double(total)) + " %" : "-"
            html +=
                "<tr><td>\(model.isEmpty ? "(unknown model)" : escape(model))</td><td>\(format(usage.totalTokens))</td>"
            html +=
                "<td>\(format(usage.inputTokens))</td><td>\(format(usage.outputTokens))</td><td>\(format(usage.calls))</td><td>\(share)</td></tr>\n"
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

    static func clip(_ text: String) -> String { text.count > 24 ? String(text.prefix(23)) + "…" : text }

    static func fmt(_ value: Double) -> String { String(format: "%.1f", value) }
}
