import Logging

/// The log handler of the service's per-request loggers: a metadata set is a dictionary write, and
/// the handler it wraps sees the metadata only when a message is logged.
///
/// Hummingbird sets a request id on every request's logger, and swift-log's `StreamLogHandler`
/// (what `serve` logs through) renders all its metadata to text on every set, though a request's
/// logger rarely logs anything: that was ~2 % of the server's time per recorded call.
struct RequestLogHandler: LogHandler {
    /// Where messages go; its own metadata is kept and logged too.
    var base: any LogHandler
    /// The metadata set through this handler, merged into each message's at log time.
    var metadata: Logger.Metadata = [:]

    var logLevel: Logger.Level {
        get { base.logLevel }
        set { base.logLevel = newValue }
    }

    var metadataProvider: Logger.MetadataProvider? {
        get { base.metadataProvider }
        set { base.metadataProvider = newValue }
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var event = event
        if !metadata.isEmpty {
            event.metadata = metadata.merging(event.metadata ?? [:]) { _, explicit in explicit }
        }
        base.log(event: event)
    }
}

extension Logger {
    /// This logger with its handler wrapped in a ``RequestLogHandler`` (same label, level, metadata
    /// and destination).
    func withCheapMetadata() -> Logger {
        var handler = RequestLogHandler(base: self.handler)
        handler.metadata = self.handler.metadata
        handler.base.metadata = [:]
        return Logger(label: label, factory: { _ in handler })
    }
}
