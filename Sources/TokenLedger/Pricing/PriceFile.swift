import Foundation

/// A dated list of model prices: the default price file shipped with the binary
/// (`Sources/TokenLedger/Pricing/default-prices.json`, a resource of the TokenLedger target).
///
/// The file's shape (rates as decimal strings of USD per million tokens, so nothing reads them as
/// binary floats):
///
/// ```json
/// {"as_of": "2025-11-25", "currency": "USD", "unit": "USD per million tokens",
///  "models": [{"model": "gpt-4o", "provider": "openai", "source": "https://openai.com/api/pricing/",
///              "input": "2.5", "cached_input": "1.25", "output": "10"}, …]}
/// ```
///
/// Every entry names its `source` (the provider's pricing page); `as_of` is the date the list
/// prices were taken as known. Administrators override entries in Redis (``PriceStore``); the file
/// itself is never changed at run time.
public struct PriceFile: Sendable, Hashable {
    /// The date the prices were taken as the providers' list prices.
    public var asOf: CalendarDate
    /// The prices by model name.
    public var prices: [String: ModelPrice]

    /// Creates a price file.
    public init(asOf: CalendarDate, prices: [String: ModelPrice]) {
        self.asOf = asOf
        self.prices = prices
    }

    /// The default price file shipped with the binary, read once per process.
    ///
    /// - Throws: ``ValidationError`` (``ValidationError/Code/invalidPriceFile``) when the resource is
    ///   missing or malformed (a broken build; the tests read it).
    public static func bundled() throws(ValidationError) -> PriceFile {
        try bundledResult.get()
    }

    private static let bundledResult: Result<PriceFile, ValidationError> = {
        guard let url = Bundle.module.url(forResource: "default-prices", withExtension: "json"),
            let data = try? Data(contentsOf: url)
        else {
            return .failure(
                ValidationError(
                    code: .invalidPriceFile, field: "default-prices.json",
                    message:
                        "the default price file default-prices.json is missing from TokenLedger's resources (\(Bundle.module.bundlePath))"
                ))
        }
        return Result { () throws(ValidationError) in try PriceFile(parsing: data, name: "default-prices.json") }
    }()

    /// Reads a price file of the shape above.
    ///
    /// - Parameters:
    ///   - data: The JSON.
    ///   - name: The file's name, for errors.
    /// - Throws: ``ValidationError`` (``ValidationError/Code/invalidPriceFile``) naming the file and
    ///   the entry: not JSON, no `as_of`, a currency other than USD, an entry without `model` or
    ///   `source`, a model listed twice, a bad rate or tier.
    public init(parsing data: Data, name: String) throws(ValidationError) {
        let shape: FileShape
        do {
            shape = try JSONDecoder().decode(FileShape.self, from: data)
        } catch let error as ValidationError {
            throw ValidationError(code: .invalidPriceFile, field: name, message: "\(name): \(error.message)")
        } catch {
            throw ValidationError(
                code: .invalidPriceFile, field: name, message: "\(name): \(Self.describe(error))")
        }
        guard shape.currency == "USD" else {
            throw ValidationError(
                code: .invalidPriceFile, field: name,
                message: "\(name): currency is \(ValidationError.quoted(shape.currency)); prices are in USD")
        }
        var prices: [String: ModelPrice] = [:]
        for entry in shape.models {
            guard prices[entry.model] == nil else {
                throw ValidationError(
                    code: .invalidPriceFile, field: name,
                    message: "\(name): \(ValidationError.quoted(entry.model)) is listed twice")
            }
            guard let source = entry.price.source, source.hasPrefix("https://") else {
                throw ValidationError(
                    code: .invalidPriceFile, field: name,
                    message:
                        "\(name): \(ValidationError.quoted(entry.model)) has no source (its pricing page's https URL)")
            }
            prices[entry.model] = entry.price
        }
        self.init(asOf: shape.asOf, prices: prices)
    }

    private struct FileShape: Decodable {
        var asOf: CalendarDate
        var currency: String
        var models: [EntryShape]

        enum CodingKeys: String, CodingKey {
            case asOf = "as_of"
            case currency, models
        }
    }

    private struct EntryShape: Decodable {
        var model: String
        var price: ModelPrice

        enum CodingKeys: String, CodingKey { case model }

        init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            model = try c.decode(String.self, forKey: .model)
            try Validation.validateIdentifier(model, field: "model", allowEmpty: false)
            do {
                price = try ModelPrice(from: decoder)
            } catch let error as ValidationError {
                throw ValidationError(
                    code: error.code, field: error.field,
                    message: "\(ValidationError.quoted(model)): \(error.message)")
            }
        }
    }

    /// A decoding failure in words: the path and what was wrong.
    static func describe(_ error: any Error) -> String {
        guard let error = error as? DecodingError else { return "\(error)" }
        switch error {
        case .dataCorrupted(let context), .keyNotFound(_, let context), .typeMismatch(_, let context),
            .valueNotFound(_, let context):
            var path = context.codingPath.map(\.stringValue).joined(separator: ".")
            if case .keyNotFound(let key, _) = error {
                path += (path.isEmpty ? "" : ".") + key.stringValue
                return "\(path) is missing"
            }
            return path.isEmpty ? context.debugDescription : "\(path): \(context.debugDescription)"
        @unknown default:
            return "\(error)"
        }
    }
}
