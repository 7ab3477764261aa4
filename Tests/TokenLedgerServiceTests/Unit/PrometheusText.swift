import Foundation
import Testing

/// A small reader of the Prometheus text format: every line is empty, a `#` comment, or
/// `name{label="value",…} value`; `nil` names the first line that is not.
enum PrometheusText {
    struct Sample: Equatable {
        var name: String
        var labels: [String: String]
        var value: Double
    }

    /// The samples, or the first bad line.
    static func parse(_ text: String) -> Result<[Sample], LineError> {
        var samples: [Sample] = []
        for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
            if line.hasPrefix("#") { continue }
            guard let sample = sample(line) else { return .failure(LineError(line: String(line))) }
            samples.append(sample)
        }
        return .success(samples)
    }

    struct LineError: Error { var line: String }

    static func isNameCharacter(_ c: Character, first: Bool) -> Bool {
        c.isASCII && (c.isLetter || c == "_" || c == ":" || (!first && c.isNumber))
    }

    static func sample(_ line: Substring) -> Sample? {
        var rest = line[...]
        let name = rest.prefix { isNameCharacter($0, first: false) }
        guard let first = name.first, isNameCharacter(first, first: true) else { return nil }
        rest = rest.dropFirst(name.count)
        var labels: [String: String] = [:]
        if rest.first == "{" {
            rest = rest.dropFirst()
            while rest.first != "}" {
                let label = rest.prefix { isNameCharacter($0, first: false) }
                guard !label.isEmpty else { return nil }
                rest = rest.dropFirst(label.count)
                guard rest.hasPrefix("=\"") else { return nil }
                rest = rest.dropFirst(2)
                var value = ""
                while let c = rest.first, c != "\"" {
                    if c == "\\" {
                        rest = rest.dropFirst()
                        guard let escaped = rest.first else { return nil }
                        value.append(escaped == "n" ? "\n" : escaped)
                    } else {
                        value.append(c)
                    }
                    rest = rest.dropFirst()
                }
                guard rest.first == "\"" else { return nil }
                rest = rest.dropFirst()
                labels[String(label)] = value
                if rest.first == "," { rest = rest.dropFirst() }
                guard !rest.isEmpty else { return nil }
            }
            rest = rest.dropFirst()
        }
        guard rest.first == " " else { return nil }
        let fields = rest.split(separator: " ")
        guard fields.count == 1 || fields.count == 2 else { return nil }
        let text = String(fields[0])
        let value: Double? =
            switch text {
            case "+Inf": .infinity
            case "-Inf": -.infinity
            case "NaN": .nan
            default: Double(text)
            }
        guard let value else { return nil }
        return Sample(name: String(name), labels: labels, value: value)
    }
}

@Suite("Prometheus text reader")
struct PrometheusTextTests {
    @Test("reads samples with labels and refuses malformed lines")
    func reads() throws {
        let good = "# TYPE a counter\na_total{route=\"/x\",status=\"200\"} 3\nb 1.5\nc_bucket{le=\"+Inf\"} 2\n"
        let samples = try PrometheusText.parse(good).get()
        #expect(samples.count == 3)
        #expect(samples[0].labels == ["route": "/x", "status": "200"] && samples[0].value == 3)
        for bad in ["a{b=\"c} 1", "a 1 2 3", "{a=\"b\"} 1", "a{b=\"c\"}", "a x"] {
            #expect(throws: PrometheusText.LineError.self) { try PrometheusText.parse(bad).get() }
        }
    }
}
