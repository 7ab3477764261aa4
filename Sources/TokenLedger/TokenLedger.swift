/// TokenLedger meters LLM token usage per user and billing cycle in Redis.
public enum TokenLedger {
    /// The library's version.
    public static let version = "0.1.0"
}
