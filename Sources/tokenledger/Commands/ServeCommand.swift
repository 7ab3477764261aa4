import ArgumentParser
import Foundation
import Logging
import Metrics
import Prometheus
import TokenLedger
import TokenLedgerService

/// `tokenledger serve`: the HTTP service (docs/service.md).
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the HTTP service: record, quota, reports and limits over JSON, with API keys.",
        discussion: """
            Serves the endpoints of docs/service.md (the contract is GET /openapi.yaml) until SIGTERM or \
            SIGINT, which finish the requests in flight, send queued records, replay the spool and exit 0. \
            Redis and the namespace come from the usual configuration; TOKENLEDGER_SPOOL_DIR makes records \
            spool (202) while Redis is down.
            """
    )

    @OptionGroup var global: GlobalOptions

    @Option(help: "The address to listen on (default 127.0.0.1).") var host: String = "127.0.0.1"
    @Option(help: "The port to listen on (default 8080; 0 picks a free one).") var port: Int = 8080
    @Option(
        name: .customLong("max-body-bytes"),
        help: "The largest request body in bytes (default 8388608 = 8 MiB); a larger one is answered 413.")
    var maxBodyBytes: Int = ServerConfiguration.defaultBodyLimit
    @Option(
        name: .customLong("pool-wait"),
        help: "Seconds a request waits for a free Redis connection before it fails (default 5).")
    var poolWait: Double = 5
    @Option(help: "The OpenAI base URL the proxy forwards to (default: $TOKENLEDGER_UPSTREAM_OPENAI, else OpenAI's).")
    var upstreamOpenai: String?
    @Option(help: "The Anthropic base URL (default: $TOKENLEDGER_UPSTREAM_ANTHROPIC, else Anthropic's).")
    var upstreamAnthropic: String?
    @Option(help: "Seconds a provider may stay silent before the proxy gives up on it (default 600).")
    var upstreamTimeout: Double = 600

    func validate() throws {
        if !(0...65535).contains(port) { throw ArgumentParser.ValidationError("--port must be 0 to 65535") }
        if maxBodyBytes < 1 || maxBodyBytes > 1 << 30 {
            throw ArgumentParser.ValidationError("--max-body-bytes must be 1 to \(1 << 30)")
        }
        // Whole milliseconds reach the pool: less than one would round to no wait at all.
        if !(poolWait >= 0.001 && poolWait <= 3600) {
            throw ArgumentParser.ValidationError("--pool-wait must be 0.001 to 3600 seconds")
        }
        if !(upstreamTimeout >= 0.001 && upstreamTimeout <= 86_400) {
            throw ArgumentParser.ValidationError("--upstream-timeout must be 0.001 to 86400 seconds")
        }
    }

    func run() async throws {
        try await reportingFailures {
            let ledger = try await global.configuration()
            var local = ledger.local
            local.spoolDirectory = try await global.localSettings().spoolDirectory
            var configuration = try ServerConfiguration(
                host: host, port: port, bodyLimit: maxBodyBytes,
                ledger: TokenLedgerConfiguration(redis: ledger.redis, ledger: ledger.ledger, local: local),
                poolWait: .milliseconds(Int64((poolWait * 1000).rounded())))
            configuration.proxy = try ProxyConfiguration(
                config: try await TokenLedgerConfiguration.reader(configFile: global.config),
                openAIUpstream: upstreamOpenai, anthropicUpstream: upstreamAnthropic)
            configuration.proxy.readTimeout = .milliseconds(Int64((upstreamTimeout * 1000).rounded()))
            var logger = Logger(label: "tokenledger.serve")
            logger.logLevel =
                ProcessInfo.processInfo.environment["LOG_LEVEL"].flatMap { Logger.Level(rawValue: $0) } ?? .info
            let registry = PrometheusCollectorRegistry()
            MetricsSystem.bootstrap(TokenLedgerServer.metricsFactory(for: registry))
            let server: TokenLedgerServer
            do {
                server = try TokenLedgerServer(configuration: configuration, registry: registry, logger: logger)
            } catch {
                throw CLIFailure(exitCode: .internalError, message: cliMessage(for: error))
            }
            let host = self.host
            let application = server.application { port in
                printError("listening on http://\(host):\(port)")
            }
            // Settings and prices cached before the first request arrives, so it does not spend its
            // record bound reading them (with Redis down, each gives up after the connect timeout).
            _ = try? await server.repository.settings()
            _ = try? await server.repository.priceTable()
            do {
                try await application.runService()
            } catch {
                await server.close()
                throw error
            }
            await server.close()
            printError("stopped")
        }
    }
}

extension ServeCommand: GlobalOptionsCommand {}
