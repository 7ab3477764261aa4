/// Ollama `/api/chat`, `/api/generate` (final object with `done: true`) and `/api/embed`.
///
/// input = `prompt_eval_count` (it already counts KV-cache hits; there is no cached field);
/// output = `eval_count`. Both are Go `omitempty`: a missing `eval_count` on the final object is 0,
/// but a missing `prompt_eval_count` means "the whole prompt came from the cache" on older servers,
/// so the input is **unknown** (not 0): the output is still recorded, and the input is filled from the
/// caller's prompt estimate, or 0 marked estimated (see ``ExtractedUsage/recordWithoutPromptEstimate``).
/// In a stream (NDJSON), only the last object with `done: true` is read.
enum OllamaReader {
    static func read(_ events: EventList) throws(ExtractionError) -> UsageParts {
        var final: (object: [String: JSONValue], path: JSONPath)?
        for (object, path) in events.items {
            switch object["done"] {
            case .bool(true)?:
                final = (object, path)
            case nil:
                // /api/embed has no `done`; a lone object with counts is final too.
                if object["prompt_eval_count"] != nil || object["eval_count"] != nil { final = (object, path) }
            default:
                continue
            }
        }
        guard let (object, path) = final else {
            throw events.noUsage(
                events.isStream
                    ? "no final object with done: true" : "no done: true object with prompt_eval_count/eval_count")
        }
        let input = try UsageCount.optional(object, "prompt_eval_count", at: path)
        let output = try UsageCount.optional(object, "eval_count", at: path)
        if input == nil, output == nil {
            throw ExtractionError(
                .noUsage, at: path, "the final object has neither prompt_eval_count nor eval_count")
        }
        var parts = UsageParts(path: path)
        parts.input = input
        parts.output = output ?? 0
        if input == nil {
            parts.unknownReason = (
                path.appending("prompt_eval_count"),
                "missing; Ollama leaves it out when the whole prompt came from its cache, so the input count is unknown"
            )
        }
        return parts
    }
}
