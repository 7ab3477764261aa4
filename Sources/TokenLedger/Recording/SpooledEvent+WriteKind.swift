extension SpooledEvent.Operation {
    /// The repository's write for a spooled operation (the repository knows nothing of the spool).
    var writeKind: WriteKind {
        switch self {
        case .record: return .record
        case .settle: return .settle
        }
    }
}
