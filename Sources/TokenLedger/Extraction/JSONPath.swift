/// A JSON path such as `$.usage.prompt_tokens` or `$[3]["odd key"]`, used in error messages.
struct JSONPath: Sendable, Hashable, CustomStringConvertible {
    enum Component: Sendable, Hashable {
        case key(String)
        case index(Int)
    }

    private(set) var components: [Component] = []

    /// The root, `$`.
    static let root = JSONPath()

    func appending(_ key: String) -> JSONPath {
        var copy = self
        copy.components.append(.key(key))
        return copy
    }

    func appending(index: Int) -> JSONPath {
        var copy = self
        copy.components.append(.index(index))
        return copy
    }

    /// Follows a dotted list of keys (`"usage.prompt_tokens_details"`); keys themselves never contain dots here.
    func appending(keys dotted: String) -> JSONPath {
        var copy = self
        for key in dotted.split(separator: ".", omittingEmptySubsequences: true) {
            copy.components.append(.key(String(key)))
        }
        return copy
    }

    mutating func push(_ component: Component) { components.append(component) }

    mutating func pop() { _ = components.popLast() }

    var description: String {
        var out = "$"
        for component in components {
            switch component {
            case .index(let i):
                out += "[\(i)]"
            case .key(let key):
                if Self.isPlainIdentifier(key) {
                    out += ".\(key)"
                } else {
                    out += "[\"\(Self.escape(key))\"]"
                }
            }
        }
        return out
    }

    private static func isPlainIdentifier(_ key: String) -> Bool {
        guard let first = key.unicodeScalars.first, !key.isEmpty else { return false }
        func isLetter(_ s: Unicode.Scalar) -> Bool {
            (s >= "a" && s <= "z") || (s >= "A" && s <= "Z") || s == "_"
        }
        guard isLetter(first) else { return false }
        return key.unicodeScalars.allSatisfy { isLetter($0) || ($0 >= "0" && $0 <= "9") }
    }

    private static func escape(_ key: String) -> String {
        var out = ""
        for scalar in key.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 {
                    out +=
                        "\\u" + String(repeating: "0", count: 4 - String(scalar.value, radix: 16).count)
                        + String(scalar.value, radix: 16)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        // Very long keys would flood a message; keep the start.
        if out.count > 80 { out = String(out.prefix(77)) + "..." }
        return out
    }
}
