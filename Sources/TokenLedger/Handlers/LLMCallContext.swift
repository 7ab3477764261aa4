import Foundation

/// Who made an LLM call and which call it is, passed to every callback.
public struct LLMCallContext: Sendable, Hashable {
    /// The call's id. Handlers key their per-call state by it, and record with it as the call id, so a
    /// retried or replayed call is counted once. Reuse it when you retry the same logical call.
    public var runID: String
    /// The id of the enclosing run (a chain or agent step), if any.
    public var parentRunID: String?
    /// The user the call is billed to.
    public var user: String
    /// The provider (`openai`, `anthropic`, …); also picks how a raw response is read.
    public var provider: String
    /// The model name.
    public var model: String
    /// Free-form metadata (not stored).
    public var metadata: [String: String]

    /// Creates a context; `runID` defaults to a new UUID.
    public init(
        runID: String = UUID().uuidString.lowercased(), parentRunID: String? = nil, user: String,
        provider: String = "", model: String = "", metadata: [String: String] = [:]
    ) {
        self.runID = runID
        self.parentRunID = parentRunID
        self.user = user
        self.provider = provider
        self.model = model
        self.metadata = metadata
    }
}
