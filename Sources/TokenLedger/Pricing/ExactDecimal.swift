/// Decimal text read and written exactly, as an integer count of a fixed fraction, never through a
/// binary floating-point number (`0.3` has no exact `Double`; `3.3e-08` read as a `Double` and
/// multiplied by 10^15 is `32999999.999999996`, which truncates to one femto-USD less).
///
/// What ``PriceRate`` and ``Cost`` parse and print with.
enum ExactDecimal {
    /// Why a text is not an exact amount.
    enum Failure: Error, Sendable, Equatable {
        /// Not `digits[.digits][e[+|-]digits]`.
        case notANumber
        /// A leading `-` (amounts here are never negative).
        case negative
        /// More fraction digits than the scale keeps (a non-zero digit past it).
        case tooPrecise
        /// Above the given maximum.
        case tooLarge
    }

    /// `text` × 10^`scale` as an integer, when that is exact and at most `maximum`.
    ///
    /// Accepts `3`, `0.3`, `1.25`, `.5`, `3e-06`, `1.5E-7`, `2.50e+1` (JSON's number syntax plus a
    /// missing leading zero) and `-0` (zero); refuses a sign other than a leading `-` (a negative
    /// amount is reported as ``Failure/negative``), spaces, `nan`, `inf`, hexadecimal and anything else.
    ///
    /// - Parameters:
    ///   - text: The decimal text.
    ///   - scale: The power of ten the value is counted in (9: nano-units).
    ///   - maximum: The largest result accepted.
    static func scaled(_ text: some StringProtocol, by scale: Int, maximum: Int) -> Result<Int, Failure> {
        var bytes = Array(text.utf8)[...]
        if bytes.first == UInt8(ascii: "-") {
            bytes = bytes.dropFirst()
            guard case .success(let (digits, _)) = digitsAndExponent(bytes) else { return .failure(.notANumber) }
            // `-0` and `-0.0` are zero (a hand-edited price file may write them); any other is negative.
            return digits.allSatisfy { $0 == 0 } ? .success(0) : .failure(.negative)
        }
        guard case .success(let (significant, exponent)) = digitsAndExponent(bytes) else {
            return .failure(.notANumber)
        }
        var digits = significant
        // Leading zeros say nothing; trailing zeros of the fraction may be dropped while the value
        // stays an integer count.
        while digits.first == 0 { digits.removeFirst() }
        if digits.isEmpty { return .success(0) }
        var power = exponent + scale
        while power < 0, digits.last == 0 {
            digits.removeLast()
            power += 1
        }
        guard power >= 0 else { return .failure(.tooPrecise) }
        // More than 19 significant digits cannot fit, whatever the power; checking first keeps the
        // loop below short for absurd exponents.
        guard digits.count + power <= 19 else { return .failure(.tooLarge) }
        var value = 0
        for digit in digits + Array(repeating: 0, count: power) {
            let (times, overflow) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times.addingReportingOverflow(Int(digit))
            guard !overflow, !overflow2 else { return .failure(.tooLarge) }
            value = sum
        }
        return value <= maximum ? .success(value) : .failure(.tooLarge)
    }

    /// `text` × 10^`scale` rounded once, half away from zero, to an integer at most `maximum`: what a
    /// provider-reported cost with more decimals than a nano-USD becomes (`0.0000000015` → 2 at
    /// scale 9). Negative text is refused (``Failure/negative``), as by ``scaled(_:by:maximum:)``.
    static func rounded(_ text: some StringProtocol, by scale: Int, maximum: Int) -> Result<Int, Failure> {
        let bytes = Array(text.utf8)[...]
        if bytes.first == UInt8(ascii: "-") { return scaled(text, by: scale, maximum: maximum) }
        guard case .success(let (significant, exponent)) = digitsAndExponent(bytes) else {
            return .failure(.notANumber)
        }
        var digits = Array(significant.drop { $0 == 0 })
        if digits.isEmpty { return .success(0) }
        let power = exponent + scale
        var roundUp = false
        if power < 0 {
            // Drop the digits below the unit; the first dropped one decides (half away from zero).
            let dropped = -power
            if dropped > digits.count {
                return .success(0)
            }
            roundUp = digits[digits.count - dropped] >= 5
            digits.removeLast(dropped)
        }
        guard digits.count + max(power, 0) <= 19 else { return .failure(.tooLarge) }
        var value = 0
        for digit in digits + Array(repeating: 0, count: max(power, 0)) {
            let (times, overflow) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times.addingReportingOverflow(Int(digit))
            guard !overflow, !overflow2 else { return .failure(.tooLarge) }
            value = sum
        }
        if roundUp {
            let (sum, overflow) = value.addingReportingOverflow(1)
            guard !overflow else { return .failure(.tooLarge) }
            value = sum
        }
        return value <= maximum ? .success(value) : .failure(.tooLarge)
    }

    /// The digits (integer part then fraction) and the power of ten of the last one.
    private static func digitsAndExponent(_ bytes: ArraySlice<UInt8>) -> Result<([UInt8], Int), Failure> {
        var digits: [UInt8] = []
        var index = bytes.startIndex
        func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }
        while index < bytes.endIndex, isDigit(bytes[index]) {
            digits.append(bytes[index] - UInt8(ascii: "0"))
            index += 1
        }
        let integerDigits = digits.count
        var fractionDigits = 0
        if index < bytes.endIndex, bytes[index] == UInt8(ascii: ".") {
            index += 1
            while index < bytes.endIndex, isDigit(bytes[index]) {
                digits.append(bytes[index] - UInt8(ascii: "0"))
                fractionDigits += 1
                index += 1
            }
            // `5.` is not a number; `.5` is.
            guard fractionDigits > 0 else { return .failure(.notANumber) }
        }
        guard integerDigits + fractionDigits > 0 else { return .failure(.notANumber) }
        var exponent = 0
        if index < bytes.endIndex, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
            index += 1
            var negative = false
            if index < bytes.endIndex, bytes[index] == UInt8(ascii: "-") || bytes[index] == UInt8(ascii: "+") {
                negative = bytes[index] == UInt8(ascii: "-")
                index += 1
            }
            var exponentDigits = 0
            var significantExponentDigits = 0
            while index < bytes.endIndex, isDigit(bytes[index]) {
                let digit = Int(bytes[index] - UInt8(ascii: "0"))
                // Four digits are plenty: an exponent beyond ±9999 is refused, not wrapped. Leading
                // zeros (`1e-0007`) do not count.
                if significantExponentDigits > 0 || digit != 0 {
                    guard significantExponentDigits < 4 else { return .failure(.notANumber) }
                    significantExponentDigits += 1
                }
                exponent = exponent * 10 + digit
                exponentDigits += 1
                index += 1
            }
            guard exponentDigits > 0 else { return .failure(.notANumber) }
            if negative { exponent = -exponent }
        }
        guard index == bytes.endIndex else { return .failure(.notANumber) }
        return .success((digits, exponent - fractionDigits))
    }

    /// `value` ÷ 10^`scale` as decimal text: a `-` when negative, the integer part, and the fraction
    /// with trailing zeros dropped down to `minimumFractionDigits` (no `.` when none is left).
    ///
    /// - Parameters:
    ///   - value: The integer count.
    ///   - scale: The power of ten it is counted in (1…18).
    ///   - minimumFractionDigits: Fraction digits always written (`scale` writes them all).
    static func format(_ value: Int, scale: Int, minimumFractionDigits: Int = 0) -> String {
        var unit = 1
        for _ in 0..<scale { unit *= 10 }
        // The magnitude as UInt, so Int.min has one too.
        let magnitude = value.magnitude
        let integer = magnitude / UInt(unit)
        var fraction = String(magnitude % UInt(unit))
        fraction = String(repeating: "0", count: scale - fraction.count) + fraction
        while fraction.count > minimumFractionDigits, fraction.last == "0" { fraction.removeLast() }
        return (value < 0 ? "-" : "") + String(integer) + (fraction.isEmpty ? "" : "." + fraction)
    }
}
