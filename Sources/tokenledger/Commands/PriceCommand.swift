import ArgumentParser
import Foundation
import RedisClient
import TokenLedger

/// `tokenledger price`: model prices (the default price file and the overrides in Redis).
struct PriceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "price",
        abstract: "Set, show, list, delete or import model prices (USD per million tokens).",
        discussion: """
            The binary ships a dated default price file; price set and price import store overrides in \
            Redis, which win over it. Rates are decimals in USD per million tokens, kept exact (e.g. 3, 0.3, \
            0.075). A model name matches exactly, else after dropping a route prefix (openai/…), a Bedrock id's \
            region, vendor and version (us.anthropic.…-v1:0) or one snapshot suffix (-2024-08-06, -20250514, \
            @20250514, -0613, -001, -latest). See docs/cost.md.
            """,
        subcommands: [Set.self, Get.self, List.self, Delete.self, Import.self]
    )

    struct Set: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "set", abstract: "Set a model's price (an override of the default price file).",
            discussion: """
                Prints the price now in effect for MODEL, as price get does. Unset cache rates default to \
                --input (cache reads and writes) and --cache-write (1-hour writes). --tier applies its rates to \
                the whole request when its input tokens are above ABOVE; repeat it for several tiers.
                """)

        @OptionGroup var global: GlobalOptions
        @OptionGroup var format: FormatOptions
        @Argument(help: "The model name, exactly as calls report it.") var model: String
        @Option(parsing: .unconditional, help: "Uncached input tokens, USD per million.") var input: String
        @Option(parsing: .unconditional, help: "Output tokens (reasoning included), USD per million.")
        var output: String
        @Option(
            name: .customLong("cached-input"), parsing: .unconditional,
            help: "Cache reads, USD per million (default: --input).")
        var cachedInput: String?
        @Option(
            name: .customLong("cache-write"), parsing: .unconditional,
            help: "5-minute cache writes, USD per million (default: --input).")
        var cacheWrite: String?
        @Option(
            name: .customLong("cache-write-1h"), parsing: .unconditional,
            help: "1-hour cache writes, USD per million (default: --cache-write).")
        var cacheWrite1h: String?
        @Option(
            name: .customLong("tier"), parsing: .unconditionalSingleValue,
            help: ArgumentHelp(
                "A long-context tier: above ABOVE input tokens, these rates (repeatable).",
                valueName: ModelPrice.Tier.textFormat))
        var tiers: [String] = []

        func run() async throws {
            try await reportingFailures {
                let formatter = try format.formatter()
                try Validation.validateIdentifier(model, field: "MODEL", allowEmpty: false)
                func rate(_ text: String?, _ option: String) throws -> PriceRate? {
                    try text.map { try PriceRate(usdPerMillionTokens: $0, field: option) }
                }
                let price = try ModelPrice(
                    input: try rate(input, "--input")!, output: try rate(output, "--output")!,
                    cachedInput: try rate(cachedInput, "--cached-input"),
                    cacheWrite: try rate(cacheWrite, "--cache-write"),
                    cacheWrite1h: try rate(cacheWrite1h, "--cache-write-1h"),
                    tiers: try tiers.map { try ModelPrice.Tier(parsing: $0, field: "--tier") })
                let shown = try await global.withPriceStore { store in
                    try await store.set(model: model, price: price)
                    return try PriceGetOutput(try await store.table(), model: model)
                }
                try formatter.print(shown)
            }
        }
    }

    struct Get: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "get", abstract: "Show the price in effect for a model and where it comes from.",
            discussion: """
                Prints {"model","entry","match","origin","input","cached_input","cache_write","cache_write_1h",\
                "output","tiers","provider","source","as_of","updated_at"}: entry is the price entry that matched \
                (match: exact, or the alias rules applied), origin override or default. A model no entry \
                matches is exit 65.
                """)

        @OptionGroup var global: GlobalOptions
        @OptionGroup var output: FormatOptions
        @Argument(help: "The model name, as a call reports it.") var model: String

        func run() async throws {
            try await reportingFailures {
                let formatter = try output.formatter()
                try Validation.validateIdentifier(model, field: "MODEL", allowEmpty: false)
                let table = try await global.withPriceStore { try await $0.table() }
                try formatter.print(try PriceGetOutput(table, model: model))
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "list", abstract: "List every price in effect: the default file merged with the overrides.",
            discussion: """
                Prints {"as_of","models":[{"model","origin","replaces_default","input","cached_input",\
                "cache_write","cache_write_1h","output","tiers","provider","source","updated_at"}…]} sorted by \
                model; origin is override (set in Redis) or default (the price file of as_of).
                """)

        @OptionGroup var global: GlobalOptions
        @OptionGroup var output: FormatOptions

        func run() async throws {
            try await reportingFailures {
                let formatter = try output.formatter()
                let table = try await global.withPriceStore { try await $0.table() }
                try formatter.print(PriceListOutput(table))
            }
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "delete", abstract: "Delete a model's override; the default price, if any, applies again.",
            discussion: #"Prints {"default_applies","deleted","model"}; a model without an override is exit 65."#)

        @OptionGroup var global: GlobalOptions
        @OptionGroup var output: FormatOptions
        @Argument(help: "The model name of the override.") var model: String

        func run() async throws {
            try await reportingFailures {
                let formatter = try output.formatter()
                try Validation.validateIdentifier(model, field: "MODEL", allowEmpty: false)
                let (deleted, store) = try await global.withPriceStore { store in
                    (try await store.delete(model: model), store)
                }
                let hasDefault = store.defaults.prices[model] != nil
                guard deleted else {
                    throw TokenLedger.ValidationError(
                        code: .unknownModel, field: "MODEL",
                        message: hasDefault
                            ? "\(String(reflecting: model)) has no override to delete; its price is the default price file's, which price delete does not change (price set overrides it)"
                            : "no price override for \(String(reflecting: model)) in namespace '\(store.keys.namespace)'; price list shows the overrides"
                    )
                }
                try formatter.print(PriceDeleteOutput(defaultApplies: hasDefault, deleted: true, model: model))
            }
        }
    }

    struct Import: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "import",
            abstract: "Import LiteLLM's model_prices_and_context_window.json as overrides.",
            discussion: """
                Every entry with per-token input and output prices becomes an override (USD per token × 10^6, \
                converted exactly from the file's text), with its cache read, cache write, 1-hour write and \
                *_above_<N>k_tokens tier prices. Entries without token prices are skipped and counted; entries \
                the ledger refuses are skipped and named on stderr. All overrides are stored at once, or none. \
                Prints {"file","imported","new","skipped_invalid","skipped_without_token_prices"}.
                """)

        @OptionGroup var global: GlobalOptions
        @OptionGroup var output: FormatOptions
        @Argument(help: "LiteLLM's price file; - reads stdin.") var file: String
        @OptionGroup var inputLimit: InputLimitOptions

        func run() async throws {
            try await reportingFailures {
                let formatter = try output.formatter()
                let data = try readCappedInput(file, cap: try await inputLimit.bytes(global))
                let name = file == "-" ? "standard input" : file
                let parsed = try LiteLLMPriceImport(parsing: Array(data), name: name)
                for refusal in parsed.invalid.prefix(20) {
                    printError("skipped \(refusal.model): \(refusal.reason)")
                }
                if parsed.invalid.count > 20 { printError("skipped \(parsed.invalid.count - 20) more invalid entries") }
                let now = Date()
                let updatedAt = ISO8601Instant.format(now)
                let overrides = try parsed.prices.map {
                    try PriceOverride(model: $0.model, price: $0.price, updatedAt: updatedAt)
                }
                let new = try await global.withPriceStore { try await $0.importOverrides(overrides) }
                try formatter.print(
                    PriceImportOutput(
                        file: name, imported: overrides.count, new: new, skippedInvalid: parsed.invalid.count,
                        skippedWithoutTokenPrices: parsed.withoutTokenPrices.count))
            }
        }
    }
}

extension PriceCommand.Set: GlobalOptionsCommand {}
extension PriceCommand.Get: GlobalOptionsCommand {}
extension PriceCommand.List: GlobalOptionsCommand {}
extension PriceCommand.Delete: GlobalOptionsCommand {}
extension PriceCommand.Import: GlobalOptionsCommand {}

extension GlobalOptions {
    /// Opens a price store for the configured Redis and namespace, runs `body`, and closes the pool.
    func withPriceStore<T>(_ body: (PriceStore) async throws -> T) async throws -> T {
        try await withPool(maximumConnections: 2) { pool, configuration in
            try await body(try PriceStore(pool: pool, namespace: configuration.ledger.namespace))
        }
    }
}
