/// An error that knows its ``ErrorCategory``.
public protocol CategorizedError: Error {
    /// What the failure means for whoever handles it.
    var category: ErrorCategory { get }
}
