import Foundation
import TokenLedger

/// Counts the prompt of a proxied request: the messages as the chat format counts them (OpenAI's
/// cookbook overhead), with the text of every text part, tool call and tool result, plus the tool
/// definitions as JSON text. Images, audio and files are not counted (their tokens are billed from
/// the provider's usage at settle). Exact for OpenAI models when rank files are configured
/// (`TOKENLEDGER_BPE_DIR`), the estimator otherwise.
enum ProxyPrompt {
    /// A prompt's count and its reservation count (see ``tokens(in:endpoint:counting:model:)``).
    struct Count: Equatable {
        /// The count a billing estimate uses (unbiased).
        var tokens = 0
        /// The count a reservation uses: ``tokens`` when exact, else the estimate plus the
        /// configured safety margin (`TOKENLEDGER_RESERVATION_MARGIN`), so a reservation is not low.
        var reservation = 0

        /// Adds another count to both, saturating.
        mutating func add(_ other: (count: Int, reservation: Int)) {
            tokens = Validation.saturatingSum(tokens, other.count)
            reservation = Validation.saturatingSum(reservation, other.reservation)
        }
    }

    /// The prompt tokens of a request body, counted once for both uses: each text goes through
    /// the estimator's `countAndReservation(in:)`, one pass (one BPE encoding, or one heuristic
    /// measure) per text.
    ///
    /// - Parameters:
    ///   - fields: The body's members.
    ///   - endpoint: Which request shape it is.
    ///   - counting: Chooses the counter for the model.
    ///   - model: The requested model.
    static func tokens(
        in fields: [String: BodyValue], endpoint: ProxyEndpoint, counting: TokenCounting, model: String
    ) -> Count {
        let estimator = counting.estimator(forModel: model)
        var count = Count()
        switch endpoint {
        case .embeddings:
            addEmbeddingTokens(fields["input"], estimator: estimator, to: &count)
            return count
        case .chatCompletions:
            count.add(estimator.countAndReservation(in: chatMessages(fields["messages"])))
        case .responses:
            var messages: [ChatMessage] = []
            if case .string(let instructions)? = fields["instructions"] {
                messages.append(ChatMessage(role: "system", content: instructions))
            }
            switch fields["input"] {
            case .string(let text)?: messages.append(ChatMessage(role: "user", content: text))
            case .array?: messages += chatMessages(fields["input"])
            default: break
            }
            count.add(estimator.countAndReservation(in: messages))
        case .messages:
            var messages: [ChatMessage] = []
            if let system = fields["system"] {
                let text = Self.text(of: system)
                if !text.isEmpty { messages.append(ChatMessage(role: "system", content: text)) }
            }
            messages += chatMessages(fields["messages"])
            count.add(estimator.countAndReservation(in: messages))
        }
        for key in ["tools", "functions"] {
            guard let tools = fields[key], case .array(let items) = tools, !items.isEmpty else { continue }
            count.add(estimator.countAndReservation(in: json(tools)))
        }
        return count
    }

    /// Embedding input: a string, strings, or token arrays (counted as given).
    static func addEmbeddingTokens(_ input: BodyValue?, estimator: any TokenEstimator, to count: inout Count) {
        switch input {
        case .string(let text)?:
            count.add(estimator.countAndReservation(in: text))
        case .array(let items)?:
            for item in items {
                switch item {
                case .string(let text): count.add(estimator.countAndReservation(in: text))
                case .integer: count.add((1, 1))
                case .array(let tokens): count.add((tokens.count, tokens.count))
                default: break
                }
            }
        default:
            break
        }
    }

    /// The messages of a chat-shaped array: each item's role (default `user`), text and name.
    static func chatMessages(_ value: BodyValue?) -> [ChatMessage] {
        guard case .array(let items)? = value else { return [] }
        return items.compactMap { item in
            guard case .object(let message) = item else { return nil }
            var role = "user"
            if case .string(let given)? = message["role"] { role = given }
            var name: String?
            if case .string(let given)? = message["name"] { name = given }
            var content = text(of: message["content"])
            for extra in ["tool_calls", "function_call", "arguments", "output"] {
                guard let value = message[extra] else { continue }
                let piece = extra == "tool_calls" || extra == "function_call" ? json(value) : text(of: value)
                if !piece.isEmpty { content += content.isEmpty ? piece : "\n" + piece }
            }
            return ChatMessage(role: role, content: content, name: name)
        }
    }

    /// The text of a content value: a string, or the parts' `text`, `thinking`, nested `content`
    /// (tool results), `input` objects (tool uses, as JSON) and `arguments`/`output` strings.
    static func text(of value: BodyValue?) -> String {
        switch value {
        case .string(let text)?:
            return text
        case .array(let parts)?:
            return parts.map { part -> String in
                switch part {
                case .string(let text): return text
                case .object(let block):
                    var pieces: [String] = []
                    for key in ["text", "thinking", "arguments", "output"] {
                        if case .string(let text)? = block[key] { pieces.append(text) }
                    }
                    if let nested = block["content"] { pieces.append(text(of: nested)) }
                    if case .object? = block["input"], let input = block["input"] { pieces.append(json(input)) }
                    return pieces.filter { !$0.isEmpty }.joined(separator: "\n")
                default: return ""
                }
            }.filter { !$0.isEmpty }.joined(separator: "\n")
        default:
            return ""
        }
    }

    /// A value as compact JSON text (sorted keys, so the count does not depend on member order).
    static func json(_ value: BodyValue) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(value)).map { String(decoding: $0, as: UTF8.self) } ?? ""
    }
}
