import BytePairEncoding

@_exported import protocol RedisClient.CategorizedError
@_exported import enum RedisClient.ErrorCategory

// TokenLedger's users classify errors without importing RedisClient: `ErrorCategory.of(error)`.
// Each error type decides its own category next to its codes (RedisError, LedgerError,
// ValidationError, ExtractionError, SpoolError, the quota errors); the rank files' errors, from a
// module that knows no categories, are classified here.

extension RankFileError: CategorizedError {
    /// A rank file that is missing or unreadable is `ErrorCategory.misuse` (the configured path
    /// is wrong); one that is there but malformed is `ErrorCategory.corruptData`.
    public var category: ErrorCategory {
        code == .fileNotFound || code == .unreadable ? .misuse : .corruptData
    }
}
