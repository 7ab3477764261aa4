import TokenLedger

extension JSONBody {
    /// An optional amount of USD (null is absent): a decimal string with at most nine decimals
    /// (`"25"`, `"0.03"`), or a whole number; 0 to 2^53 − 1 nano-USD. A JSON number with a fraction
    /// is refused (it has no exact binary value), naming the field.
    func optionalUSD(_ name: String) throws -> Cost? {
        switch fields[name] {
        case nil, .null?:
            return nil
        case .string(let text)?:
            return try Validation.parseCurrencyAmount(text, field: name)
        case .integer(let value)?:
            return try Validation.parseCurrencyAmount(String(value), field: name)
        case .number?:
            throw ValidationError(
                code: .invalidLimit, field: name,
                message:
                    "\(name) must be a decimal string of USD such as \"0.03\" (a JSON number with a fraction is not exact)"
            )
        case let other?:
            throw ServiceError(
                .wrongType, field: name, "\(name) must be a decimal string of USD, not \(other.typeName)")
        }
    }
}
