import Foundation

/// One call read from a raw provider response, ready to record: the usage, the model and the
/// provider to store it under.
///
/// This is what `tokenledger record --response` and `tokenledger extract` do with a response, for any
/// caller that holds a response and no prompt estimate (a proxy, the HTTP service):
///
/// - The usage is ``ExtractedUsage/recordWithoutPromptEstimate``: the reported counts, or, when the
///   response reports its output but not its input (Ollama without `prompt_eval_count`), the output
///   with input 0 and source ``UsageRecord/Source/estimated`` (``isInputUnknown`` says so; the output
///   was billed, so the call is never refused for it).
/// - A response that gives only a total, or no output count, is refused: its split cannot be told
///   without a prompt estimate (callers that have one use ``ExtractedUsage/resolved(promptEstimate:)``).
/// - The model is the caller's when given, else the one the response names, cut to
///   ``Validation/maximumIdentifierBytes`` bytes of UTF-8 at a character boundary (a model name the
///   provider made longer than the ledger stores must not refuse a billed call).
/// - The provider is the caller's name for it when given (`azure`, as the caller spells it), else the
///   shape the response was read as (`openai`, `anthropic`, …).
public struct ExtractedCall: Sendable, Hashable {
    /// The usage to record.
    public var usage: UsageRecord
    /// The model to record the call under (`""` when neither the caller nor the response named one).
    public var model: String
    /// The provider to record the call under.
    public var provider: String
    /// Whether the response reported no input count, so ``usage`` has input 0 and source
    /// ``UsageRecord/Source/estimated`` (Ollama leaves out `prompt_eval_count` when the whole prompt
    /// came from its cache).
    public var isInputUnknown: Bool

    /// Creates a value from its parts.
    ///
    /// - Parameters:
    ///   - usage: The usage to record.
    ///   - model: The model name.
    ///   - provider: The provider name.
    ///   - isInputUnknown: Whether the input count was not reported.
    public init(usage: UsageRecord, model: String, provider: String, isInputUnknown: Bool = false) {
        self.usage = usage
        self.model = model
        self.provider = provider
        self.isInputUnknown = isInputUnknown
    }

    /// Reads a raw response into the call to record.
    ///
    /// - Parameters:
    ///   - response: A response JSON, a JSON array of stream events, SSE text or NDJSON.
    ///   - shape: The shape to read, or ``Provider/auto`` to recognise it.
    ///   - providerName: The provider name to record; `nil`, empty or `auto` records the shape that
    ///     was read (the ``Provider``'s `rawValue`).
    ///   - model: The model name to record; `nil` or empty records the response's model, truncated.
    /// - Throws: ``ExtractionError`` naming the JSON path of what is wrong;
    ///   ``ExtractionError/Code/incompleteUsage`` (path `$`) when the response gives only a total or
    ///   no output count.
    public init(
        response: Data, shape: Provider = .auto, providerName: String? = nil, model: String? = nil
    ) throws(ExtractionError) {
        try self.init(
            usage: UsageExtractor.extractUsage(from: response, provider: shape), providerName: providerName,
            model: model)
    }

    /// Makes the call to record from usage already extracted.
    ///
    /// - Parameters:
    ///   - extracted: What `UsageExtractor.extractUsage(from:provider:)` read.
    ///   - providerName: The provider name to record; `nil`, empty or `auto` records
    ///     ``ExtractedUsage/provider``.
    ///   - model: The model name to record; `nil` or empty records ``ExtractedUsage/model``, truncated.
    /// - Throws: ``ExtractionError/Code/incompleteUsage`` (path `$`) when the usage gives only a total
    ///   or no output count.
    public init(usage extracted: ExtractedUsage, providerName: String? = nil, model: String? = nil)
        throws(ExtractionError)
    {
        self.init(
            usage: try Self.recordable(extracted),
            model: model.flatMap { $0.isEmpty ? nil : $0 }
                ?? Self.truncated(extracted.model ?? "", bytes: Validation.maximumIdentifierBytes),
            provider: providerName.flatMap { $0.isEmpty || $0 == Provider.auto.rawValue ? nil : $0 }
                ?? extracted.provider.rawValue,
            isInputUnknown: extracted.isInputUnknown)
    }

    /// The record to store for usage without a prompt estimate, or the refusal naming what is missing.
    ///
    /// - Parameter extracted: The usage read from a response.
    /// - Returns: ``ExtractedUsage/recordWithoutPromptEstimate``.
    /// - Throws: ``ExtractionError/Code/incompleteUsage`` when only a total, or no output count, is known.
    public static func recordable(_ extracted: ExtractedUsage) throws(ExtractionError) -> UsageRecord {
        if let record = extracted.recordWithoutPromptEstimate { return record }
        let message =
            if let total = extracted.onlyTotal {
                "the response reports only a total of \(total) tokens, without the input/output split"
            } else {
                "the response reports no output count, so the call's usage is unknown"
            }
        throw ExtractionError(code: .incompleteUsage, path: "$", message: message)
    }

    /// `text` cut to at most `bytes` bytes of UTF-8, at a character boundary (never mid-character, so
    /// the result is valid UTF-8 and prints as it was).
    ///
    /// - Parameters:
    ///   - text: The text to cut.
    ///   - bytes: The most UTF-8 bytes to keep.
    /// - Returns: The longest prefix of whole characters within `bytes`.
    public static func truncated(_ text: String, bytes: Int) -> String {
        var result = ""
        var count = 0
        for character in text {
            let width = character.utf8.count
            if count + width > bytes { break }
            result.append(character)
            count += width
        }
        return result
    }
}
