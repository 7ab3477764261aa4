import Foundation

/// Reading and checking token counts inside provider JSON. Every failure names the JSON path.
enum UsageCount {
    /// The largest token count accepted anywhere (SPEC: token counts are integers 0…10^12).
    static let maximum = 1_000_000_000_000

    /// The count at `object[key]`, or `nil` when the key is absent or `null` (the null rule).
    static func optional(_ object: [String: JSONValue], _ key: String, at parent: JSONPath) throws(ExtractionError)
        -> Int?
    {
        guard let value = object[key] else { return nil }
        return try read(value, at: parent.appending(key))
    }

    /// The first of `keys` present (not `null`) in `object`, e.g. a camelCase key and its snake_case twin.
    static func optional(_ object: [String: JSONValue], anyOf keys: [String], at parent: JSONPath)
        throws(ExtractionError) -> Int?
    {
        for key in keys {
            if let value = object[key], !value.isNull {
                return try read(value, at: parent.appending(key))
            }
        }
        return nil
    }

    /// The count at `object[key]`; absent or `null` is a ``ExtractionError/Code/missingField`` error.
    static func required(_ object: [String: JSONValue], _ key: String, at parent: JSONPath) throws(ExtractionError)
        -> Int
    {
        guard let count = try optional(object, key, at: parent) else {
            throw ExtractionError(.missingField, at: parent.appending(key), "the token count is missing or null")
        }
        return count
    }

    /// Checks one value: a whole, non-negative, finite number ≤ 10^12 (`12.0` is accepted, as Cohere sends floats).
    static func read(_ value: JSONValue, at path: JSONPath) throws(ExtractionError) -> Int? {
        switch value {
        case .null:
            return nil
        case .number(let number):
            guard number.isFinite else {
                throw ExtractionError(.invalidValue, at: path, "the token count is not a finite number")
            }
            guard number >= 0 else {
                throw ExtractionError(
                    .invalidValue, at: path, "a token count cannot be negative (found \(JSONValue.render(number)))")
            }
            guard number == number.rounded(.towardZero) else {
                throw ExtractionError(
                    .invalidValue, at: path, "a token count must be a whole number (found \(JSONValue.render(number)))")
            }
            guard number <= Double(maximum) else {
                throw ExtractionError(
                    .invalidValue, at: path,
                    "the token count \(JSONValue.render(number)) is above the maximum of 10^12")
            }
            return Int(number)
        default:
            throw ExtractionError(
                .invalidValue, at: path, "expected a token count (a whole number), found \(value.kindDescription)")
        }
    }

    /// `a + b`, refusing a sum above 10^12 (inputs are ≤ 10^12, so nothing can overflow first).
    static func add(_ a: Int, _ b: Int, at path: JSONPath, _ what: String) throws(ExtractionError) -> Int {
        let (sum, overflow) = a.addingReportingOverflow(b)
        guard !overflow, sum <= maximum else {
            throw ExtractionError(.invalidValue, at: path, "\(what) adds up to more than the maximum of 10^12 tokens")
        }
        return sum
    }

    /// Whether reasoning tokens are reported **outside** the completion count (xAI/Grok chat:
    /// `total_tokens = prompt + completion + reasoning`, e.g. 12 + 1 + 290 = 303) rather than inside it
    /// (OpenAI: `total_tokens = prompt + completion`).
    ///
    /// The provider's total decides: reasoning is outside when the total equals prompt + completion +
    /// reasoning (and reasoning is not 0, where both readings agree). Without a total, reasoning larger
    /// than the completion count can only be outside it. The model name (`grok-*`) is not consulted:
    /// proxies re-shape xAI's usage into OpenAI's, and the counts say which shape arrived.
    static func reasoningIsOutside(prompt: Int, completion: Int, reasoning: Int?, total: Int?) -> Bool {
        guard let reasoning, reasoning > 0 else { return false }
        // Every count is ≤ 10^12, so these sums cannot overflow.
        if let total { return total == prompt + completion + reasoning }
        return reasoning > completion
    }

    /// Adds optional counts; `nil` only when both are `nil` (a field reported anywhere stays reported).
    static func add(_ a: Int?, _ b: Int?, at path: JSONPath, _ what: String) throws(ExtractionError) -> Int? {
        switch (a, b) {
        case (nil, nil): return nil
        case (let x?, nil): return x
        case (nil, let y?): return y
        case (let x?, let y?): return try add(x, y, at: path, what)
        }
    }
}

/// Typed access to objects inside provider JSON.
enum JSONAccess {
    /// `object[key]` as an object; `nil` when absent or `null`; an error when it is another kind.
    static func object(_ object: [String: JSONValue], _ key: String, at parent: JSONPath) throws(ExtractionError)
        -> [String: JSONValue]?
    {
        guard let value = object[key] else { return nil }
        switch value {
        case .null: return nil
        case .object(let members): return members
        default:
            throw ExtractionError(
                .invalidValue, at: parent.appending(key), "expected an object, found \(value.kindDescription)")
        }
    }

    /// `object[key]` as an array; `nil` when absent or `null`; an error when it is another kind.
    static func array(_ object: [String: JSONValue], _ key: String, at parent: JSONPath) throws(ExtractionError)
        -> [JSONValue]?
    {
        guard let value = object[key] else { return nil }
        switch value {
        case .null: return nil
        case .array(let elements): return elements
        default:
            throw ExtractionError(
                .invalidValue, at: parent.appending(key), "expected an array, found \(value.kindDescription)")
        }
    }

    /// `object[key]` as a string, or `nil` when it is absent or not a string.
    static func string(_ object: [String: JSONValue], _ key: String) -> String? {
        object[key]?.stringValue
    }
}

/// What a provider reader found, before the final checks.
struct UsageParts: Sendable {
    var input: Int?
    var output: Int?
    var cached: Int?
    var cacheWrite: Int?
    /// 1-hour cache writes (part of ``cacheWrite``), when the response splits writes by duration.
    var cacheWrite1h: Int?
    var reasoning: Int?
    var onlyTotal: Int?
    var billedInput: Int?
    var billedOutput: Int?
    /// The cost the provider reported (OpenRouter `usage.cost`, xAI `usage.cost_in_usd_ticks`).
    var reportedCost: Cost?
    /// Where the usage was read; subset/total errors name it.
    var path: JSONPath
    /// When input or output is unknown: the path of the missing field and why.
    var unknownReason: (path: JSONPath, detail: String)?

    init(path: JSONPath) { self.path = path }

    /// Applies the record's invariants: every count ≤ 10^12, subsets within their parents.
    func validated() throws(ExtractionError) -> UsageParts {
        if let input {
            if let cached, cached > input {
                throw ExtractionError(
                    .invalidValue, at: path,
                    "cache reads (\(cached)) exceed the input tokens (\(input)) they are part of")
            }
            if let cacheWrite, cacheWrite > input {
                throw ExtractionError(
                    .invalidValue, at: path,
                    "cache writes (\(cacheWrite)) exceed the input tokens (\(input)) they are part of")
            }
        }
        if let cacheWrite1h, cacheWrite1h > (cacheWrite ?? 0) {
            throw ExtractionError(
                .invalidValue, at: path,
                "1-hour cache writes (\(cacheWrite1h)) exceed the cache writes (\(cacheWrite.map(String.init) ?? "none reported")) they are part of"
            )
        }
        if let output, let reasoning, reasoning > output {
            throw ExtractionError(
                .invalidValue, at: path,
                "reasoning tokens (\(reasoning)) exceed the output tokens (\(output)) they are part of")
        }
        if let input, let output {
            _ = try UsageCount.add(input, output, at: path, "input plus output")
        }
        return self
    }
}

/// One response object, or the events of a stream, as `(object, path)` pairs.
struct EventList {
    /// The objects in order; `"[DONE]"` markers are left out.
    let items: [(object: [String: JSONValue], path: JSONPath)]
    /// Whether the input was an array (a stream) rather than one response object.
    let isStream: Bool

    init(_ json: JSONValue) throws(ExtractionError) {
        switch json {
        case .object(let object):
            items = [(object, JSONPath.root)]
            isStream = false
        case .array(let elements):
            var items: [(object: [String: JSONValue], path: JSONPath)] = []
            items.reserveCapacity(elements.count)
            for (i, element) in elements.enumerated() {
                let path = JSONPath.root.appending(index: i)
                switch element {
                case .object(let object):
                    items.append((object, path))
                case .string(let text) where text.trimmingCharacters(in: .whitespaces) == "[DONE]":
                    continue
                default:
                    throw ExtractionError(
                        .unrecognizedShape, at: path,
                        "expected a stream event object (or the \"[DONE]\" marker), found \(element.kindDescription)")
                }
            }
            self.items = items
            isStream = true
        default:
            throw ExtractionError(
                .unrecognizedShape, at: .root,
                "expected a response object or an array of stream events, found \(json.kindDescription)")
        }
    }

    /// The single object when the input was not a stream.
    var single: [String: JSONValue]? { isStream ? nil : items.first?.object }

    /// The usage object a reader settles on: the one it found in the events, else the input itself
    /// when it is one bare usage object handed in directly (`isBareUsage` says whether it is).
    ///
    /// - Parameters:
    ///   - found: The usage value the reader found last, and its path; it must be an object.
    ///   - isBareUsage: Whether a single object is a provider's usage object itself.
    ///   - missing: What was looked for, for the ``ExtractionError/Code/noUsage`` message.
    /// - Throws: ``ExtractionError/Code/noUsage`` when there is neither; ``ExtractionError/Code/invalidValue``
    ///   when the found value is not an object.
    func usageObject(
        _ found: (usage: JSONValue, path: JSONPath)?, bare isBareUsage: ([String: JSONValue]) -> Bool, missing: String
    ) throws(ExtractionError) -> (usage: [String: JSONValue], path: JSONPath) {
        var object: (usage: [String: JSONValue], path: JSONPath)?
        if let (usage, path) = found {
            guard case .object(let members) = usage else {
                throw ExtractionError(
                    .invalidValue, at: path, "expected a usage object, found \(usage.kindDescription)")
            }
            object = (members, path)
        }
        return try usageObject(object, bare: isBareUsage, missing: missing)
    }

    /// The usage object a reader settles on (as above), for a reader that found an object.
    func usageObject(
        _ found: (usage: [String: JSONValue], path: JSONPath)?, bare isBareUsage: ([String: JSONValue]) -> Bool,
        missing: String
    ) throws(ExtractionError) -> (usage: [String: JSONValue], path: JSONPath) {
        if let found { return found }
        if let single, isBareUsage(single) { return (single, .root) }
        throw noUsage(missing)
    }

    /// A ``ExtractionError/Code/noUsage`` error for this input.
    func noUsage(_ what: String) -> ExtractionError {
        if isStream {
            return ExtractionError(
                .noUsage, at: .root,
                "no stream event carries usage (\(items.count) event\(items.count == 1 ? "" : "s"); \(what))")
        }
        return ExtractionError(.noUsage, at: .root, "the response carries no usage (\(what))")
    }
}
