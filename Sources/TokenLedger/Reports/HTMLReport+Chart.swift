// HTMLReport: the chart of users against their limits, and its table.
extension HTMLReport {
    /// One user's use of one limit: tokens against the token limit, or nano-USD against the
    /// currency limit.
    struct Meter {
        /// What is used (total tokens, or the cycle's recorded spend in nano-USD).
        var used: Int
        /// The limit, in the same unit.
        var limit: Int
        /// Whether this is the currency limit.
        var isUSD: Bool

        /// Whether this meter's share (used ÷ limit) is larger than another's, compared exactly by
        /// cross-multiplication (a zero limit with anything used is an infinite share).
        func exceeds(_ other: Meter) -> Bool {
            Int128(used) * Int128(other.limit) > Int128(other.used) * Int128(limit)
        }

        /// Whether more is used than the limit allows.
        var isOver: Bool { used > limit }
    }

    /// The limit that binds a user: the one of its token and currency limits it has used the
    /// larger share of (the token limit on a tie); `nil` when the user has neither.
    static func binding(_ usage: UserUsage) -> Meter? {
        let tokens = usage.limit.map { Meter(used: usage.totalTokens, limit: $0, isUSD: false) }
        let usd = usage.limitUSD.map { Meter(used: usage.money.cost?.nanoUSD ?? 0, limit: $0.nanoUSD, isUSD: true) }
        switch (tokens, usd) {
        case (let tokens?, let usd?): return usd.exceeds(tokens) ? usd : tokens
        case (let tokens?, nil): return tokens
        case (nil, let usd?): return usd
        case (nil, nil): return nil
        }
    }

    /// The order of the chart: users with a limit first, by share of their binding limit, largest
    /// first (compared exactly); then users without a limit by total tokens; ties by id.
    static func byShareOfLimit(_ a: UserUsage, _ b: UserUsage) -> Bool {
        switch (binding(a), binding(b)) {
        case (let x?, let y?):
            if x.exceeds(y) { return true }
            if y.exceeds(x) { return false }
        case (.some, nil): return true
        case (nil, .some): return false
        case (nil, nil): break
        }
        return a.totalTokens != b.totalTokens ? a.totalTokens > b.totalTokens : a.user < b.user
    }

    /// The SVG bar chart and the table of the same users: one row per user, each bar scaled to
    /// that user's own binding limit (the axis runs to the larger of the limit and the usage, so a
    /// user far over the limit fills the row in red with the limit mark inside it); users without a
    /// limit are scaled to the largest of their totals. Labels get the width the longest name needs
    /// (up to 48 characters; a longer one is cut, whole in its tooltip).
    static func chart(_ users: [UserUsage]) -> String {
        if users.isEmpty { return "<p>No usage in this cycle.</p>\n" }
        let longest = users.map { clip($0.user).count }.max() ?? 0
        let labelWidth = min(400.0, max(100.0, Double(longest) * 7.6 + 16))
        let barWidth = 420.0
        let textWidth = 300.0
        let rowHeight = 30.0
        let width = labelWidth + barWidth + textWidth
        let height = rowHeight * Double(users.count) + 10
        let unlimitedScale = Double(max(1, users.filter { binding($0) == nil }.map(\.totalTokens).max() ?? 1))
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
            let meter = binding(usage)
            let over = meter?.isOver ?? false
            // The row's axis: the limit, or the usage when it is past the limit; rows without a limit share one.
            let axis = meter.map { Double(max(1, $0.limit, $0.used)) } ?? unlimitedScale
            let used = Double(meter?.used ?? usage.totalTokens) / axis * barWidth
            let kind = meter.map { $0.isUSD ? "usd" : "tokens" } ?? "none"
            svg +=
                "<g class=\"bar\" data-user=\"\(escape(usage.user))\" data-limit=\"\(kind)\"><title>\(escape(usage.user))</title>\n"
            svg +=
                "<text x=\"\(Int(labelWidth - 8))\" y=\"\(fmt(y + 19))\" text-anchor=\"end\" fill=\"\(markColor)\">\(escape(clip(usage.user)))</text>\n"
            if let meter {
                let limitWidth = Double(meter.limit) / axis * barWidth
                svg +=
                    "<rect x=\"\(Int(labelWidth))\" y=\"\(fmt(y + 4))\" width=\"\(fmt(limitWidth))\" height=\"20\" fill=\"\(limitColor)\"/>\n"
            }
            let visible = max(used, (meter?.used ?? usage.totalTokens) > 0 ? 1 : 0)
            svg +=
                "<rect x=\"\(Int(labelWidth))\" y=\"\(fmt(y + 6))\" width=\"\(fmt(visible))\" height=\"16\" fill=\"\(over ? overColor : usedColor)\"/>\n"
            if let meter {
                let x = labelWidth + Double(meter.limit) / axis * barWidth
                svg +=
                    "<rect x=\"\(fmt(max(labelWidth, x - 1)))\" y=\"\(fmt(y + 1))\" width=\"2\" height=\"26\" fill=\"\(markColor)\"/>\n"
            }
            svg +=
                "<text x=\"\(Int(labelWidth + barWidth + 10))\" y=\"\(fmt(y + 19))\" fill=\"\(over ? overColor : markColor)\">\(caption(usage, meter))</text>\n"
            svg += "</g>\n"
        }
        svg += "</svg>\n"
        var table =
            "<div class=\"scroll\"><table class=\"users\">\n<tr><th>user</th><th>total</th><th>input</th><th>output</th><th>calls</th>"
        table += "<th>limit</th><th>share</th><th>remaining</th>"
        table += "<th>cost (USD)</th><th>USD limit</th><th>USD share</th><th>USD remaining</th></tr>\n"
        for usage in users {
            table +=
                "<tr><td>\(escape(usage.user))</td><td>\(format(usage.totalTokens))</td><td>\(format(usage.inputTokens))</td>"
            table +=
                "<td>\(format(usage.outputTokens))</td><td>\(format(usage.calls))</td><td>\(usage.limit.map(format) ?? "unlimited")</td>"
            table +=
                "<td>\(usage.limit.map { percent(usage.totalTokens, of: $0) } ?? "-")</td><td>\(remaining(usage))</td>"
            let spent = usage.money.cost?.nanoUSD ?? 0
            table += "<td>\(usage.money.cost?.description ?? "-")</td>"
            table += "<td>\(usage.limitUSD?.description ?? "none")</td>"
            table += "<td>\(usage.limitUSD.map { percent(spent, of: $0.nanoUSD) } ?? "-")</td>"
            table += "<td>\(remainingUSD(usage))</td></tr>\n"
        }
        return svg + table + "</table></div>\n"
    }

    /// `52,000 / 45,000 (115.6 %)` against the token limit, `$12.50 / $25.00 (50.0 %)` against the
    /// currency limit, or `10,000 (unlimited)` without a limit.
    static func caption(_ usage: UserUsage, _ meter: Meter?) -> String {
        guard let meter else { return "\(format(usage.totalTokens)) (unlimited)" }
        if meter.isUSD {
            return "\(usd(meter.used)) / \(usd(meter.limit)) (\(percent(meter.used, of: meter.limit)))"
        }
        return "\(format(meter.used)) / \(format(meter.limit)) (\(percent(meter.used, of: meter.limit)))"
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

    /// The dollars left before the currency limit (after live reservations, exact), or how far over
    /// it the user is; `-` without a currency limit.
    static func remainingUSD(_ usage: UserUsage) -> String {
        guard let limit = usage.limitUSD, let left = usage.remainingUSD else { return "-" }
        let spent = usage.money.cost?.nanoUSD ?? 0
        if spent > limit.nanoUSD { return "0 (over by \(Cost(nanoUSD: spent - limit.nanoUSD)))" }
        return left.description
    }
}
