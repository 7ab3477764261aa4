import Foundation
import TokenLedger

/// A client's request to a proxy route, read: who pays, for which model, how much to reserve, and
/// the body to forward (the client's bytes, unless the proxy must ask an OpenAI chat stream for its
/// usage).
struct ProxyRequest: Sendable {
    /// The header that names the user; it wins over the body's `user` / `metadata.user_id`.
    static let userHeader = "X-TokenLedger-User"

    let endpoint: ProxyEndpoint
    /// The model the client asked for.
    let model: String
    /// Who the call is booked to.
    let user: String
    /// Whether the client asked for a stream (`"stream": true`).
    let stream: Bool
    /// The prompt's tokens as counted here (exact BPE for OpenAI models with rank files): the
    /// unbiased count a settle without the provider's usage bills.
    let promptTokens: Int
    /// The prompt's tokens as a reservation counts them: ``promptTokens`` when exact, else the
    /// estimate plus the configured safety margin (`TOKENLEDGER_RESERVATION_MARGIN`), so a
    /// reservation is rarely short.
    let reservationPromptTokens: Int
    /// The most output the call may produce, as reserved (the request's maximum times its `n`, or
    /// the configured default).
    let maximumOutputTokens: Int
    /// For an OpenAI chat stream: whether the client itself asked for `stream_options.include_usage`.
    let clientAskedForUsage: Bool
    /// The body sent upstream.
    let upstreamBody: [UInt8]

    /// Prompt (with the reservation margin) plus maximum output: what the reservation holds.
    var reservedTokens: Int { Validation.saturatingSum(reservationPromptTokens, maximumOutputTokens) }

    /// Whether the stream's usage chunk was asked for by the proxy, not the client, and is hidden
    /// from it.
    var hidesUsageChunk: Bool { endpoint == .chatCompletions && stream && !clientAskedForUsage }

    /// Reads a client's body.
    ///
    /// - Parameters:
    ///   - body: The request body (JSON).
    ///   - endpoint: The route it came to.
    ///   - headerUser: The `X-TokenLedger-User` header, if sent.
    ///   - keyDefaultUser: The default user of the request's API key, if it has one: it wins over the
    ///     configured default user.
    ///   - configuration: The default user and default maximum output.
    ///   - counting: Counts the prompt's tokens per model.
    /// - Throws: `ServiceError` for a body that is not a JSON object, a missing or mistyped field
    ///   (naming it), no user when no default is configured; `ValidationError` for a bad user id,
    ///   model name or count.
    init(
        body: [UInt8], endpoint: ProxyEndpoint, headerUser: String?, keyDefaultUser: String? = nil,
        configuration: ProxyConfiguration, counting: TokenCounting
    ) throws {
        let fields = try Self.object(body)
        self.endpoint = endpoint
        guard let modelValue = fields["model"] else {
            throw ServiceError(.missingField, field: "model", "model is required")
        }
        guard case .string(let model) = modelValue else {
            throw ServiceError(.wrongType, field: "model", "model must be a string, not \(modelValue.typeName)")
        }
        guard !model.isEmpty else { throw ServiceError(.missingField, field: "model", "model must not be empty") }
        try Validation.validateModel(model)
        self.model = model
        self.user = try Self.user(
            fields, endpoint: endpoint, header: headerUser, defaultUser: keyDefaultUser ?? configuration.defaultUser)
        self.stream = try Self.flag(fields["stream"], field: "stream")
        self.maximumOutputTokens = try Self.maximumOutput(
            fields, endpoint: endpoint, default: configuration.defaultMaximumOutputTokens)
        let prompt = ProxyPrompt.tokens(in: fields, endpoint: endpoint, counting: counting, model: model)
        self.promptTokens = prompt.tokens
        self.reservationPromptTokens = prompt.reservation
        var askedForUsage = false
        if endpoint == .chatCompletions, case .object(let options)? = fields["stream_options"] {
            askedForUsage = (try? Self.flag(options["include_usage"], field: "stream_options.include_usage")) ?? false
        }
        self.clientAskedForUsage = askedForUsage
        if endpoint == .chatCompletions, stream, !askedForUsage {
            self.upstreamBody = try Self.askingForUsage(body, fields: fields)
        } else {
            self.upstreamBody = body
        }
    }

    /// The body as a JSON object: valid UTF-8, well-formed, an object.
    static func object(_ body: [UInt8]) throws -> [String: BodyValue] {
        if !JSONBody.isASCII(body), String(validating: body, as: UTF8.self) == nil {
            throw ValidationError(
                code: .invalidUTF8, field: "body",
                message: "the body is not valid UTF-8 (invalid bytes are refused, never replaced)")
        }
        let parsed: BodyJSONParser.Parsed
        do {
            parsed = try BodyJSONParser.parse(body)
        } catch {
            if body.isEmpty {
                throw ServiceError(.malformedJSON, field: "body", "the body is empty; send a JSON object")
            }
            throw ServiceError(
                .malformedJSON, field: error.isDuplicate ? error.member ?? "body" : "body",
                "the body is not valid JSON: \(error.reason) (byte \(error.offset))")
        }
        guard case .object(let fields) = parsed.value else {
            throw ServiceError(
                .malformedJSON, field: "body", "the body must be a JSON object, not \(parsed.value.typeName)")
        }
        return fields
    }

    /// The user: the header, else the body's (`user`, or Anthropic's `metadata.user_id`), else the
    /// API key's default user, else the configured default; none of them is a 400 naming `user`.
    static func user(
        _ fields: [String: BodyValue], endpoint: ProxyEndpoint, header: String?, defaultUser: String?
    ) throws -> String {
        if let header, !header.isEmpty {
            try Validation.validateUserID(header, field: userHeader)
            return header
        }
        var field = "user"
        var value = fields["user"]
        if endpoint.provider == .anthropic {
            field = "metadata.user_id"
            value = nil
            if case .object(let metadata)? = fields["metadata"] { value = metadata["user_id"] }
        }
        switch value {
        case .string(let user)? where !user.isEmpty:
            try Validation.validateUserID(user, field: field)
            return user
        case nil, .null?, .string?:
            if let defaultUser { return defaultUser }
            throw ServiceError(
                .missingField, field: "user",
                "no user to book the call to: send the \(userHeader) header or \(field) in the body "
                    + "(or create the key with --default-user, or configure TOKENLEDGER_PROXY_DEFAULT_USER)")
        case let other?:
            throw ServiceError(.wrongType, field: field, "\(field) must be a string, not \(other.typeName)")
        }
    }

    /// A boolean member; absent or `null` is `false`.
    static func flag(_ value: BodyValue?, field: String) throws -> Bool {
        switch value {
        case nil, .null?: return false
        case .bool(let flag)?: return flag
        case let other?:
            throw ServiceError(.wrongType, field: field, "\(field) must be a boolean, not \(other.typeName)")
        }
    }

    /// A count member (0…10^12), or `nil` when absent or `null`.
    static func count(_ value: BodyValue?, field: String) throws -> Int? {
        switch value {
        case nil, .null?: return nil
        case .integer(let count)?:
            try Validation.validateTokenCount(count, field: field)
            return count
        case let other?:
            throw ServiceError(.wrongType, field: field, "\(field) must be a whole number, not \(other.typeName)")
        }
    }

    /// The output reserved: the endpoint's maximum field (times `n` for chat), else the default.
    static func maximumOutput(_ fields: [String: BodyValue], endpoint: ProxyEndpoint, default: Int) throws -> Int {
        switch endpoint {
        case .embeddings:
            return 0
        case .chatCompletions:
            let maximum =
                try count(fields["max_completion_tokens"], field: "max_completion_tokens")
                ?? count(fields["max_tokens"], field: "max_tokens") ?? `default`
            let choices = try count(fields["n"], field: "n") ?? 1
            let (product, overflow) = maximum.multipliedReportingOverflow(by: max(choices, 1))
            return overflow ? Int.max : product
        case .responses:
            return try count(fields["max_output_tokens"], field: "max_output_tokens") ?? `default`
        case .messages:
            return try count(fields["max_tokens"], field: "max_tokens") ?? `default`
        }
    }

    /// The body with `stream_options.include_usage: true`: the member is added in front of the
    /// client's bytes when the body has no `stream_options` (no re-encoding, every number kept as
    /// sent); an existing `stream_options` is completed and the body re-encoded.
    static func askingForUsage(_ body: [UInt8], fields: [String: BodyValue]) throws -> [UInt8] {
        let member = Array(#""stream_options":{"include_usage":true},"#.utf8)
        if fields["stream_options"] == nil, let open = body.firstIndex(of: UInt8(ascii: "{")) {
            var spliced = body
            spliced.insert(contentsOf: member, at: open + 1)
            return spliced
        }
        var options: [String: BodyValue] = [:]
        if case .object(let given)? = fields["stream_options"] { options = given }
        options["include_usage"] = .bool(true)
        var rewritten = fields
        rewritten["stream_options"] = .object(options)
        return Array(try JSONEncoder().encode(BodyValue.object(rewritten)))
    }
}
