import Foundation
import TokenLedger

/// Counts the prompt of a proxied request: the messages as the chat format counts them (OpenAI's
/// cookbook overhead), with the text of every text part, tool call and tool result, plus the tool
/// definitions as JSON text. Images, audio and files are not counted (their tokens are billed from
/// the provider's usage at settle). Exact for OpenAI models when rank files are configured
/// (`TOKENLEDGER_BPE_DIR`), the estimator otherwise.
enum ProxyPrompt {
    /// The prompt tokens of a request body.
    ///
    /// - Parameters:
    ///   - fields: The body's members.
    ///   - endpoint: Which request shape it is.
    ///   - counting: Chooses the counter for the model.
    ///   - model: The requested model.
    ///   - forReservation: Count as a reservation does (``TokenEstimator/reservationCount(in:)``:
    ///     a heuristic estimate plus the configured safety margin, so a reservation is not low);
    ///     `false` (default) counts without it, as a billing estimate should.
    static func tokens(
        in fields: [String: BodyValue], endpoint: ProxyEndpoint, counting: TokenCounting, model: String,
        forReservation: Bool = false
    ) -> Int {
        let estimator: any TokenEstimator =
            forReservation
            ? ReservingEstimator(base: counting.estimator(forModel: model))
            : counting.estimator(forModel: model)
        switch endpoint {
        case .embeddings:
            return embeddingTokens(fields["input"], estimator: estimator)
        case .chatCompletions:
            let messages = chatMessages(fields["messages"])
            return Validation.saturatingSum(
                estimator.countTokens(in: messages), toolTokens(fields, estimator: estimator))
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
            return Validation.saturatingSum(
                estimator.countTokens(in: messages), toolTokens(fields, estimator: estimator))
        case .messages:
            var messages: [ChatMessage] = []
            if let system = fields["system"] {
                let text = Self.text(of: system)
                if !text.isEmpty { messages.append(ChatMessage(role: "system", content: text)) }
            }
            messages += chatMessages(fields["messages"])
            return Validation.saturatingSum(
                estimator.countTokens(in: messages), toolTokens(fields, estimator: estimator))
        }
    }

    /// Embedding input: a string, strings, or token arrays (counted as given).
    static func embeddingTokens(_ input: BodyValue?, estimator: any TokenEstimator) -> Int {
        switch input {
        case .string(let text)?:
            return estimator.countTokens(in: text)
        case .array(let items)?:
            var total = 0
            for item in items {
                switch item {
                case .string(let text): total = Validation.saturatingSum(total, estimator.countTokens(in: text))
                case .integer: total = Validation.saturatingSum(total, 1)
                case .array(let tokens): total = Validation.saturatingSum(total, tokens.count)
                default: break
                }
            }
            return total
        default:
            return 0
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

    /// The tool (and legacy function) definitions, counted as their JSON text.
    static func toolTokens(_ fields: [String: BodyValue], estimator: any TokenEstimator) -> Int {
        var total = 0
        for key in ["tools", "functions"] {
            guard let tools = fields[key], case .array(let items) = tools, !items.isEmpty else { continue }
            total = Validation.saturatingSum(total, estimator.countTokens(in: json(tools)))
        }
        return total
    }

    /// A value as compact JSON text (sorted keys, so the count does not depend on member order).
    static func json(_ value: BodyValue) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(value)).map { String(decoding: $0, as: UTF8.self) } ?? ""
    }
}

/// An estimator that counts as reservations do: every count is the base estimator's
/// ``TokenEstimator/reservationCount(in:)`` (the count itself for an exact counter, the estimate
/// plus the safety margin for the heuristic), so the proxy's prompt counting code serves both
/// reservations and billing estimates.
struct ReservingEstimator: TokenEstimator {
    /// The estimator whose reservation counts this one gives.
    let base: any TokenEstimator

    /// The base estimator's reservation count of `text`.
    func countTokens(in text: String) -> Int { base.reservationCount(in: text) }

    /// The same count: it already holds the margin.
    func reservationCount(in text: String) -> Int { base.reservationCount(in: text) }
}
