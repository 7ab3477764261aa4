import Foundation

/// Renders a cycle's report as one self-contained HTML page: no scripts, no fonts, no images or
/// styles from the network (a Content-Security-Policy forbids any fetch), so it can be mailed,
/// archived or opened offline.
///
/// The page shows the cycle's totals, an SVG bar chart of the top users by share of their limit,
/// each bar scaled to its own user's limit (a bar turns red past the limit; unlimited users come
/// last and have no limit mark), a table of the same users with what remains, and the per-model
/// split of all users' tokens. Numbers are written in full with `,` as the thousands separator.
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
            th:first-child, td:first-child { text-align: left; white-space: normal; overflow-wrap: anywhere; }
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
        let heading =
            shown.count == report.users.count
            ? "All \(format(shown.count)) users against their limits"
            : "Top \(format(shown.count)) of \(format(report.users.count)) users against their limits"
        html += "<section id=\"top-users\">\n<h2>\(heading)</h2>\n"
        html += "<p class=\"sub\">Sorted by share of limit (unlimited users last, by total); each bar is scaled to"
        html += " its own user's limit, the dark mark at the limit.</p>\n"
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

    /// The order of the chart: users with a limit first, by share of it (used ÷ limit, compared
    /// exactly by cross-multiplication), largest first; then unlimited users by total; ties by id.
    static func byShareOfLimit(_ a: UserUsage, _ b: UserUsage) -> Bool {
        switch (a.limit, b.limit) {
        case (let x?, let y?):
            // a.used / x > b.used / y, with a zero limit as an infinite share when anything is used.
            let left = Int128(a.totalTokens) * Int128(y)
            let right = Int128(b.totalTokens) * Int128(x)
            if left != right { return left > right }
        case (.some, nil): return true
        case (nil, .some): return false
        case (nil, nil): break
        }
        return a.totalTokens != b.totalTokens ? a.totalTokens > b.totalTokens : a.user < b.user
    }

    /// The SVG bar chart and the table of the same users: one row per user, each bar scaled to
    /// that user's own limit (the axis runs to the larger of the limit and the usage, so a user far
    /// over the limit fills the row in red with the limit mark inside it); unlimited users are
    /// scaled to the largest of their totals. Labels get the width the longest name needs (up to
    /// 48 characters; a longer one is cut, whole in its tooltip).
    static func chart(_ users: [UserUsage]) -> String {
        if users.isEmpty { return "<p>No usage in this cycle.</p>\n" }
        let longest = users.map { clip($0.user).count }.max() ?? 0
        let labelWidth = min(400.0, max(100.0, Double(longest) * 7.6 + 16))
        let barWidth = 420.0
        let textWidth = 270.0
        let rowHeight = 30.0
        let width = labelWidth + barWidth + textWidth
        let height = rowHeight * Double(users.count) + 10
        let unlimitedScale = Double(max(1, users.filter { $0.limit == nil }.map(\.totalTokens).max() ?? 1))
        var svg = """
            <div class="legend"><span><i class="swatch" style="background:\(usedColor)"></i>used</span>\
            <span><i class="swatch" style="background:\(overColor)"></i>used, over the limit</span>\
            <span><i class="swatch" style="background:\(limitColor)"></i>limit</span></div>
            <svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="Users against their limits" \
            width="\(Int(width))" height="\(Int(height))" viewBox="0 0 \(Int(width)) \(Int(height))" \
            font-family="system-ui, sans-serif" font-size="13">

            """
        for (index, usage) in users.enumerated() {
            let y = 5 + Double(index) * rowHeight
            let over = usage.limit.map { usage.totalTokens > $0 } ?? false
            // The row's axis: the limit, or the usage when it is past the limit; unlimited rows share one.
            let axis = usage.limit.map { Double(max(1, $0, usage.totalTokens)) } ?? unlimitedScale
            let used = Double(usage.totalTokens) / axis * barWidth
            svg += "<g class=\"bar\" data-user=\"\(escape(usage.user))\"><title>\(escape(usage.user))</title>\n"
            svg +=
                "<text x=\"\(Int(labelWidth - 8))\" y=\"\(fmt(y + 19))\" text-anchor=\"end\" fill=\"\(markColor)\">\(escape(clip(usage.user)))</text>\n"
            if let limit = usage.limit {
                let limitWidth = Double(limit) / axis * barWidth
                svg +=
                    "<rect x=\"\(Int(labelWidth))\" y=\"\(fmt(y + 4))\" width=\"\(fmt(limitWidth))\" height=\"20\" fill=\"\(limitColor)\"/>\n"
            }
            svg +=
                "<rect x=\"\(Int(labelWidth))\" y=\"\(fmt(y + 6))\" width=\"\(fmt(max(used, usage.totalTokens > 0 ? 1 : 0)))\" height=\"16\" fill=\"\(over ? overColor : usedColor)\"/>\n"
            if let limit = usage.limit {
                let x = labelWidth + Double(limit) / axis * barWidth
                svg +=
                    "<rect x=\"\(fmt(max(labelWidth, x - 1)))\" y=\"\(fmt(y + 1))\" width=\"2\" height=\"26\" fill=\"\(markColor)\"/>\n"
            }
            svg +=
                "<text x=\"\(Int(labelWidth + barWidth + 10))\" y=\"\(fmt(y + 19))\" fill=\"\(over ? overColor : markColor)\">\(caption(usage))</text>\n"
            svg += "</g>\n"
        }
        svg += "</svg>\n"
        var table =
            "<table class=\"users\">\n<tr><th>user</th><th>total</th><th>input</th><th>output</th><th>calls</th>"
        table += "<th>limit</th><th>share</th><th>remaining</th></tr>\n"
        for usage in users {
            table +=
                "<tr><td>\(escape(usage.user))</td><td>\(format(usage.totalTokens))</td><td>\(format(usage.inputTokens))</td>"
            table +=
                "<td>\(format(usage.outputTokens))</td><td>\(format(usage.calls))</td><td>\(usage.limit.map(format) ?? "unlimited")</td>"
            table +=
                "<td>\(usage.limit.map { percent(usage.totalTokens, of: $0) } ?? "-")</td><td>\(remaining(usage))</td></tr>\n"
        }
        return svg + table + "</table>\n"
    }

    /// `52,000 / 45,000 (115.6 %)`, or `10,000 (unlimited)`.
    static func caption(_ usage: UserUsage) -> String {
        guard let limit = usage.limit else { return "\(format(usage.totalTokens)) (unlimited)" }
        return "\(format(usage.totalTokens)) / \(format(limit)) (\(percent(usage.totalTokens, of: limit)))"
    }

    /// `used` as a percentage of `limit` with one decimal, rounded half up in integers (`over` for
    /// a zero limit).
    static func percent(_ used: Int, of limit: Int) -> String {
        guard limit > 0 else { return used > 0 ? "over" : "0.0 %" }
        let tenths = (Int128(used) * 2000 + Int128(limit)) / (Int128(limit) * 2)
        return "\(format(Int(clamping: tenths / 10))).\(tenths % 10) %"
    }

    /// The tokens left before the limit (after live reservations), or how far over it the user is.
    static func remaining(_ usage: UserUsage) -> String {
        guard let limit = usage.limit else { return "-" }
        if usage.totalTokens > limit { return "0 (over by \(format(usage.totalTokens - limit)))" }
        return format(Validation.remaining(limit: limit, used: usage.totalTokens, reserved: usage.reserved))
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
            let share = total > 0 ? percent(usage.totalTokens, of: total) : "-"
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

    static func clip(_ text: String) -> String { text.count > 48 ? String(text.prefix(47)) + "…" : text }

    static func fmt(_ value: Double) -> String { String(format: "%.1f", value) }
}
