import Foundation

/// Bounds on durations, instants, sizes and raw bytes (SPEC "Bad input": no input crashes the process).
///
/// Every duration and instant that enters the public API is checked against a documented range
/// before any arithmetic is done with it, so `Duration.seconds(Int.max)` or `Date(timeIntervalSince1970: 1e300)`
/// is a ``ValidationError`` naming the field, never an arithmetic trap.
extension Validation {
    /// The longest lease a reservation may hold: 7 days. A lease is meant to outlive one LLM call,
    /// not to park quota; the expiry is kept in milliseconds, so this also keeps it far from overflow.
    public static let maximumLeaseTTL: Duration = .seconds(7 * 86_400)

    /// The longest timeout or back-off the library accepts for a process-side wait: 1 day.
    public static let maximumTimeout: Duration = .seconds(86_400)

    /// The earliest instant an event (record, settle, reserve) may carry: 2000-01-01T00:00:00Z.
    /// Earlier instants are not LLM calls but damaged data (a spooled `"at": -1`, an epoch-0 default).
    public static let earliestEventInstant = Date(timeIntervalSince1970: 946_684_800)

    /// The first instant no event may carry: 9999-01-01T00:00:00Z, so that every cycle an event lands
    /// in, and that cycle's end, stay inside the dates TokenLedger prints and parses (0001–9999).
    public static let latestEventInstant = Date(timeIntervalSince1970: 253_370_764_800)

    /// Checks a duration: finite by construction, at least `minimum` and at most `maximum`.
    /// - Parameters:
    ///   - duration: The duration.
    ///   - field: The field name used in the error, e.g. `"ttl"`.
    ///   - minimum: The smallest accepted value (inclusive). Default zero.
    ///   - maximum: The largest accepted value (inclusive).
    /// - Throws: ``ValidationError`` with code ``ValidationError/Code/invalidDuration``.
    public static func validateDuration(
        _ duration: Duration, field: String, minimum: Duration = .zero, maximum: Duration
    ) throws(ValidationError) {
        if duration < minimum || duration > maximum {
            throw ValidationError(
                code: .invalidDuration, field: field,
                message:
                    "\(ValidationError.label(field)) is \(describe(duration)); it must be from \(describe(minimum)) to \(describe(maximum))"
            )
        }
    }

    /// Checks a lease TTL (more than 0 ms, at most ``maximumLeaseTTL``) and returns it in whole
    /// milliseconds, as the reserve script takes it.
    /// - Parameters:
    ///   - ttl: The lease's time to live.
    ///   - field: The field name used in the error (default `"ttl"`).
    /// - Returns: The TTL in milliseconds (1…604 800 000).
    /// - Throws: ``ValidationError`` with code ``ValidationError/Code/invalidDuration``.
    public static func leaseTTLMilliseconds(_ ttl: Duration, field: String = "ttl") throws(ValidationError) -> Int {
        try validateDuration(ttl, field: field, minimum: .milliseconds(1), maximum: maximumLeaseTTL)
        // Bounded above, so neither part can overflow.
        let (seconds, attoseconds) = ttl.components
        return Int(seconds) * 1000 + Int(attoseconds / 1_000_000_000_000_000)
    }

    /// Checks the instant of an event (record, settle, reserve or a replayed spool event): a real
    /// instant from ``earliestEventInstant`` up to, not including, ``latestEventInstant``.
    /// - Parameters:
    ///   - instant: The instant of the call.
    ///   - field: The field name used in the error (default `"at"`).
    /// - Throws: ``ValidationError`` with code ``ValidationError/Code/invalidInstant``.
    public static func validateEventInstant(_ instant: Date, field: String = "at") throws(ValidationError) {
        let seconds = instant.timeIntervalSince1970
        guard seconds.isFinite, seconds >= earliestEventInstant.timeIntervalSince1970,
            seconds < latestEventInstant.timeIntervalSince1970
        else {
            let shown: String
            if !seconds.isFinite {
                shown = "not a finite time"
            } else if abs(seconds) < 253_000_000_000 {
                shown = ISO8601Instant.format(instant, fractionalDigits: 3)
            } else {
                shown = "\(seconds) s from 1970-01-01"
            }
            throw ValidationError(
                code: .invalidInstant, field: field,
                message: "\(ValidationError.label(field)) is \(shown); an event's instant must be from "
                    + "2000-01-01T00:00:00Z to before 9999-01-01T00:00:00Z")
        }
    }

    /// Decodes text that must be valid UTF-8 (an id read as bytes: a command-line argument, a JSON
    /// line of the spool), refusing invalid bytes instead of replacing them with U+FFFD, which would
    /// merge distinct ids into one.
    /// - Parameters:
    ///   - bytes: The raw bytes.
    ///   - field: The field name used in the error, e.g. `"user_id"`.
    /// - Returns: The text.
    /// - Throws: ``ValidationError`` with code ``ValidationError/Code/invalidUTF8``, naming the first bad byte's offset.
    public static func decodeUTF8(_ bytes: some Collection<UInt8>, field: String) throws(ValidationError) -> String {
        if let text = String(validating: bytes, as: UTF8.self) { return text }
        let offset = firstInvalidUTF8Offset(bytes) ?? 0
        let byte = bytes.dropFirst(offset).first.map { String($0, radix: 16, uppercase: true) } ?? "?"
        throw ValidationError(
            code: .invalidUTF8, field: field,
            message:
                "\(ValidationError.label(field)) is not valid UTF-8 (byte 0x\(byte.count == 1 ? "0" + byte : byte) at offset \(offset)); invalid bytes are refused, never replaced"
        )
    }

    /// Decodes and checks a user id given as bytes: valid UTF-8 (see ``decodeUTF8(_:field:)``), then
    /// ``validateUserID(_:field:)``.
    /// - Parameters:
    ///   - bytes: The raw bytes of the id.
    ///   - field: The field name used in the error (default `"user_id"`).
    /// - Returns: The user id.
    /// - Throws: ``ValidationError``.
    public static func decodeUserID(_ bytes: some Collection<UInt8>, field: String = "user_id") throws(ValidationError)
        -> String
    {
        let user = try decodeUTF8(bytes, field: field)
        try validateUserID(user, field: field)
        return user
    }

    /// The offset of the first byte where `bytes` stops being valid UTF-8, or `nil` when all of it is.
    static func firstInvalidUTF8Offset(_ bytes: some Collection<UInt8>) -> Int? {
        var decoder = UTF8()
        var iterator = bytes.makeIterator()
        var offset = 0
        while true {
            switch decoder.decode(&iterator) {
            case .scalarValue(let scalar): offset += UTF8.width(scalar)
            case .emptyInput: return nil
            case .error: return offset
            }
        }
    }

    /// `a + b`, saturating at `Int.min`/`Int.max` instead of trapping.
    /// - Parameters:
    ///   - a: A value.
    ///   - b: A value.
    /// - Returns: The sum, or the bound it passed.
    public static func saturatingSum(_ a: Int, _ b: Int) -> Int {
        let (sum, overflow) = a.addingReportingOverflow(b)
        if !overflow { return sum }
        return b < 0 ? Int.min : Int.max
    }

    /// `limit − used − reserved`, never negative, computed without trapping whatever the values
    /// (they may come back from Redis).
    /// - Parameters:
    ///   - limit: The limit.
    ///   - used: Tokens used.
    ///   - reserved: Tokens reserved.
    /// - Returns: What is left, at least 0.
    public static func remaining(limit: Int, used: Int, reserved: Int) -> Int {
        let wide = Int128(limit) - Int128(used) - Int128(reserved)
        return wide <= 0 ? 0 : Int(clamping: wide)
    }

    /// A duration for a message: whole seconds, or milliseconds below a second.
    static func describe(_ duration: Duration) -> String {
        // `components` traps beyond Int64.max seconds, which a Duration can exceed: say so in words.
        if duration > .seconds(Int64.max) { return "more than \(Int64.max) s" }
        if duration < .seconds(Int64.min) { return "less than \(Int64.min) s" }
        let (seconds, attoseconds) = duration.components
        if attoseconds == 0 || seconds >= 1_000_000 || seconds <= -1_000_000 { return "\(seconds) s" }
        let milliseconds = seconds * 1000 + attoseconds / 1_000_000_000_000_000
        return "\(milliseconds) ms"
    }
}
