import MetricsTestKit

/// Reading the library's figures (its metrics) from a test's own `TestMetrics`, by their
/// documented names. Each test makes its own `TestMetrics` and passes it as `metrics:`; nothing
/// bootstraps the global metrics system.
extension TestMetrics {
    /// The last value gauge `label` with `dimensions` recorded; 0 when it never recorded one.
    public func gaugeValue(_ label: String, _ dimensions: [(String, String)] = []) -> Int {
        Int(recorders(label: label, dimensions: dimensions).first?.lastValue ?? 0)
    }

    /// The highest value gauge `label` with `dimensions` ever recorded; 0 when it never recorded one.
    public func gaugePeak(_ label: String, _ dimensions: [(String, String)] = []) -> Int {
        Int(recorders(label: label, dimensions: dimensions).first?.values.max() ?? 0)
    }

    /// The total of counter `label` with `dimensions`; 0 when nothing was counted.
    public func counterValue(_ label: String, _ dimensions: [(String, String)] = []) -> Int {
        Int(counterTotal(label: label, dimensions: dimensions))
    }

    /// The value of meter `label`; 0 when it was never changed.
    public func meterValue(_ label: String) -> Int {
        Int(meters(label: label).first?.lastValue ?? 0)
    }

    /// Connections a pool had open (gauge `tokenledger_redis_pool_connections{state=open}`).
    public var poolOpen: Int { gaugeValue("tokenledger_redis_pool_connections", [("state", "open")]) }
    /// The most connections a pool had open at once.
    public var poolPeakOpen: Int { gaugePeak("tokenledger_redis_pool_connections", [("state", "open")]) }
    /// Tasks waiting for a pool connection (gauge `tokenledger_redis_pool_waiting`).
    public var poolWaiting: Int { gaugeValue("tokenledger_redis_pool_waiting") }
    /// Calls a pool answered on the caller's thread.
    public var inlineAnswered: Int { counterValue("tokenledger_redis_inline_replies_total", [("outcome", "answered")]) }
    /// Calls whose replies a pool read on the connection's queue after an inline start.
    public var inlineHandedOver: Int { counterValue("tokenledger_redis_inline_replies_total", [("outcome", "handed_over")]) }
    /// Pipelines a pipeline client sent.
    public var pipelineBatches: Int { counterValue("tokenledger_redis_pipeline_batches_total") }
    /// Commands a pipeline client's pipelines carried.
    public var pipelineCommands: Int { counterValue("tokenledger_redis_pipeline_commands_total") }
    /// What callback handlers did with their calls (`result`: recorded, duplicate, spooled, queued,
    /// failed, error).
    public func handlerCalls(_ result: String) -> Int { counterValue("tokenledger_handler_calls_total", [("result", result)]) }
}
