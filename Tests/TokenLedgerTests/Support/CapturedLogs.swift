import Logging

@testable import TokenLedger

/// Every log event given to loggers made by ``logger(_:)``, rendered as text (tests).
final class CapturedLogs: Sendable {
    /// One captured event.
    struct Line: Sendable {
        var level: Logger.Level
        var message: String
        var metadata: [String: String]
        /// The message, every metadata key and value, and the attached error, as one text.
        var text: String
    }

    private let storage = Locked<[Line]>([])

    /// A logger at trace level whose events are captured here.
    func logger(_ label: String) -> Logger {
        var logger = Logger(label: label) { _ in CapturingHandler(logs: self) }
        logger.logLevel = .trace
        return logger
    }

    func append(_ line: Line) { storage.withLock { $0.append(line) } }

    var lines: [Line] { storage.withLock { $0 } }

    /// The captured lines at `level` whose message is `message`.
    func lines(_ level: Logger.Level, _ message: String) -> [Line] {
        lines.filter { $0.level == level && $0.message == message }
    }
}

/// A handler that hands every event, metadata and error included, to ``CapturedLogs``.
struct CapturingHandler: LogHandler {
    let logs: CapturedLogs
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace
    var metadataProvider: Logger.MetadataProvider?

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var all: [String: String] = [:]
        for (key, value) in metadata { all[key] = "\(value)" }
        for (key, value) in event.metadata ?? [:] { all[key] = "\(value)" }
        var text = "\(event.message) " + all.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        if let error = event.error { text += " error=\(error) \(String(reflecting: error))" }
        logs.append(.init(level: event.level, message: "\(event.message)", metadata: all, text: text))
    }
}
