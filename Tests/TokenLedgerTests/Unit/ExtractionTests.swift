import Foundation
import Testing
import TokenLedger

/// Extracts from inline JSON/SSE/NDJSON text.
private func extract(_ text: String, _ provider: Provider = .auto) throws(ExtractionError) -> UsageRecord {
    try UsageExtractor.extract(from: Data(text.utf8), provider: provider)
}

private func usage(_ text: String, _ provider: Provider = .auto) throws(ExtractionError) -> ExtractedUsage {
    try UsageExtractor.extractUsage(from: Data(text.utf8), provider: provider)
}

private func record(
    _ input: Int, _ output: Int, cached: Int? = nil, write: Int? = nil, write1h: Int? = nil, reasoning: Int? = nil,
    source: UsageRecord.Source = .reported
) -> UsageRecord {
    UsageRecord(
        inputTokens: input, outputTokens: output, cachedInputTokens: cached, cacheWriteTokens: write,
        cacheWrite1hTokens: write1h, reasoningTokens: reasoning, source: source)
}

// MARK: - Streaming rules and traps no fixture covers

@Suite("Usage extraction: Anthropic")
struct AnthropicExtractionTests {
    @Test("message_delta is cumulative: the last one overwrites, nothing is summed")
    func deltaOverwrites() throws {
        let stream = """
            [{"type":"message_start","message":{"type":"message","model":"claude-x","usage":{"input_tokens":10,"output_tokens":1}}},
             {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"hi"}},
             {"type":"message_delta","delta":{"stop_reason":"tool_use"},"usage":{"output_tokens":15}},
             {"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"input_tokens":null,"output_tokens":40}},
             {"type":"message_stop"}]
            """
        #expect(try extract(stream) == record(10, 40))
        #expect(try extract(stream, .anthropic) == record(10, 40))
        #expect(try usage(stream).model == "claude-x")
    }

    @Test("a stream cut before message_delta keeps message_start's counts")
    func onlyMessageStart() throws {
        let stream = """
            [{"type":"message_start","message":{"usage":{"input_tokens":7,"cache_read_input_tokens":3,"output_tokens":1}}}]
            """
        #expect(try extract(stream) == record(10, 1, cached: 3))
    }

    @Test("usage.iterations: the record is the sum over every iteration, compaction and advisor included")
    func iterationsSummed() throws {
        // The top level holds only the message iteration; the compaction iteration is billed on top.
        let json = """
            {"type":"message","usage":{"input_tokens":40,"output_tokens":30,"cache_read_input_tokens":0,
             "iterations":[{"type":"compaction","input_tokens":60,"output_tokens":20},
                           {"type":"message","input_tokens":40,"output_tokens":30,"cache_read_input_tokens":0}]}}
            """
        #expect(try extract(json) == record(100, 50, cached: 0))
        #expect(try extract(json, .anthropic) == record(100, 50, cached: 0))
        // Each iteration's cache reads and writes are added to its input; writes from cache_creation
        // when cache_creation_input_tokens is absent; an advisor iteration on another model counts too.
        let cached = """
            {"type":"message","model":"claude-x","usage":{"input_tokens":5,"output_tokens":7,
             "output_tokens_details":{"thinking_tokens":3},
             "iterations":[{"type":"message","input_tokens":5,"output_tokens":7,"cache_read_input_tokens":100,"cache_creation_input_tokens":10},
                           {"type":"advisor_message","model":"claude-y","input_tokens":50,"output_tokens":9,
                            "cache_creation":{"ephemeral_5m_input_tokens":20,"ephemeral_1h_input_tokens":4}}]}}
            """
        #expect(try extract(cached) == record(189, 16, cached: 100, write: 34, write1h: 4, reasoning: 3))
        // An empty iterations array carries nothing: the top level is the record.
        #expect(
            try extract(#"{"type":"message","usage":{"input_tokens":4,"output_tokens":2,"iterations":[]}}"#)
                == record(4, 2))
    }

    @Test("usage.iterations in a stream: the last event carrying iterations wins, nothing is summed across events")
    func iterationsInStream() throws {
        let stream = """
            [{"type":"message_start","message":{"usage":{"input_tokens":10,"output_tokens":1}}},
             {"type":"message_delta","usage":{"output_tokens":15,"iterations":[{"type":"message","input_tokens":10,"output_tokens":15}]}},
             {"type":"message_delta","usage":{"input_tokens":12,"output_tokens":25,"iterations":[
                {"type":"message","input_tokens":10,"output_tokens":15},
                {"type":"compaction","input_tokens":900,"output_tokens":80},
                {"type":"message","input_tokens":2,"output_tokens":10}]}},
             {"type":"message_delta","usage":{"output_tokens":25}},
             {"type":"message_stop"}]
            """
        #expect(try extract(stream) == record(912, 105))
    }

    @Test("a bad iteration entry is refused, naming its path")
    func badIteration() throws {
        let notObject = #"{"type":"message","usage":{"input_tokens":1,"output_tokens":1,"iterations":[7]}}"#
        let error = try #require(throws: ExtractionError.self) { try extract(notObject) }
        #expect(error.code == .invalidValue && error.path == "$.usage.iterations[0]", "\(error.message)")
        let negative =
            #"{"type":"message","usage":{"input_tokens":1,"output_tokens":1,"iterations":[{"type":"compaction","input_tokens":-5,"output_tokens":1}]}}"#
        let negativeError = try #require(throws: ExtractionError.self) { try extract(negative) }
        #expect(negativeError.code == .invalidValue)
        #expect(negativeError.path == "$.usage.iterations[0].input_tokens", "\(negativeError.message)")
        let missing =
            #"{"type":"message","usage":{"input_tokens":1,"output_tokens":1,"iterations":[{"type":"compaction","input_tokens":5}]}}"#
        let missingError = try #require(throws: ExtractionError.self) { try extract(missing) }
        #expect(missingError.code == .missingField)
        #expect(missingError.path == "$.usage.iterations[0].output_tokens", "\(missingError.message)")
    }

    @Test("cache writes come from cache_creation when cache_creation_input_tokens is absent")
    func ephemeralCacheWrites() throws {
        let json = """
            {"type":"message","usage":{"input_tokens":5,"output_tokens":9,
             "cache_creation":{"ephemeral_5m_input_tokens":100,"ephemeral_1h_input_tokens":20}}}
            """
        #expect(try extract(json) == record(125, 9, write: 120, write1h: 20))
    }

    @Test("thinking without output_tokens_details leaves reasoning null")
    func reasoningNullWhenAbsent() throws {
        let json =
            #"{"type":"message","content":[{"type":"thinking","thinking":"…"}],"usage":{"input_tokens":5,"output_tokens":9}}"#
        #expect(try extract(json) == record(5, 9))
    }
}

@Suite("Usage extraction: OpenAI and compatible")
struct OpenAIExtractionTests {
    @Test("Azure's first chunk (empty choices, no usage) is not the usage chunk")
    func azureFirstChunk() throws {
        let stream = """
            [{"choices":[],"created":0,"id":"","model":"","object":"","prompt_filter_results":[{"prompt_index":0,"content_filter_results":{}}]},
             {"choices":[{"index":0,"delta":{"content":"Hi"},"finish_reason":null}],"object":"chat.completion.chunk","model":"gpt-4o","usage":null},
             {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"object":"chat.completion.chunk","model":"gpt-4o","usage":null},
             {"choices":[],"object":"chat.completion.chunk","model":"gpt-4o","usage":{"prompt_tokens":20,"completion_tokens":3,"total_tokens":23}},
             "[DONE]"]
            """
        #expect(try extract(stream) == record(20, 3))
        #expect(try usage(stream).model == "gpt-4o")
    }

    @Test("a stream cut off before the usage chunk has no usage")
    func cutOffStream() {
        let stream = """
            [{"choices":[{"index":0,"delta":{"content":"Hi"}}],"object":"chat.completion.chunk","usage":null}]
            """
        #expect(throws: ExtractionError.self) { try extract(stream) }
        #expect(extractionErrorCode(try extract(stream)) == .noUsage)
    }

    @Test("Mistral's usage rides on the finish_reason chunk")
    func mistralStream() throws {
        let sse = """
            data: {"id":"a","object":"chat.completion.chunk","model":"mistral-small","choices":[{"index":0,"delta":{"content":"x"}}]}

            data: {"id":"a","object":"chat.completion.chunk","model":"mistral-small","choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"usage":{"prompt_tokens":11,"completion_tokens":4,"total_tokens":15}}

            data: [DONE]

            """
        #expect(try extract(sse) == record(11, 4))
        #expect(try extract(sse, .mistral) == record(11, 4))
    }

    @Test("rejected prediction and audio tokens are already inside the counts")
    func breakdownsNotAdded() throws {
        let json = """
            {"object":"chat.completion","usage":{"prompt_tokens":100,"completion_tokens":50,"total_tokens":150,
             "prompt_tokens_details":{"cached_tokens":0,"audio_tokens":30,"cache_write_tokens":64},
             "completion_tokens_details":{"reasoning_tokens":10,"audio_tokens":5,"accepted_prediction_tokens":3,"rejected_prediction_tokens":7}}}
            """
        #expect(try extract(json) == record(100, 50, cached: 0, write: 64, reasoning: 10))
    }

    @Test("null rule: absent details are null, reported zeros stay zero")
    func nullRule() throws {
        #expect(try extract(#"{"usage":{"prompt_tokens":9,"completion_tokens":1,"total_tokens":10}}"#) == record(9, 1))
        #expect(
            try extract(
                #"{"usage":{"prompt_tokens":9,"completion_tokens":1,"prompt_tokens_details":null,"completion_tokens_details":{"reasoning_tokens":0}}}"#
            )
                == record(9, 1, reasoning: 0))
    }

    @Test("xAI: reasoning outside completion_tokens is added to the output when the total says so")
    func xaiReasoningOutside() throws {
        let json = """
            {"object":"chat.completion","model":"grok-3-mini","usage":{"prompt_tokens":12,"completion_tokens":1,"total_tokens":303,
             "completion_tokens_details":{"reasoning_tokens":290}}}
            """
        let r = try extract(json)
        #expect(r == record(12, 291, reasoning: 290))
        #expect(r.totalTokens == 303)
        #expect(try extract(json, .openai) == r)
        #expect(try extract(json, Provider(name: "xai") ?? .auto) == r)
        // The last chunk of a stream has the same shape.
        let stream = """
            data: {"object":"chat.completion.chunk","model":"grok-4","choices":[{"index":0,"delta":{"content":"4"}}]}

            data: {"object":"chat.completion.chunk","model":"grok-4","choices":[],"usage":{"prompt_tokens":32,"completion_tokens":9,"total_tokens":135,"prompt_tokens_details":{"cached_tokens":6},"completion_tokens_details":{"reasoning_tokens":94}}}

            data: [DONE]

            """
        #expect(try extract(stream) == record(32, 103, cached: 6, reasoning: 94))
    }

    @Test("the total decides the shape, not the model: an OpenAI-shaped Grok response keeps reasoning inside")
    func reasoningInsideWhenTotalSaysSo() throws {
        // A proxy that re-shaped xAI's usage into OpenAI's: total = prompt + completion.
        let proxied = """
            {"object":"chat.completion","model":"x-ai/grok-4.1-fast","usage":{"prompt_tokens":163,"completion_tokens":241,"total_tokens":404,
             "completion_tokens_details":{"reasoning_tokens":204}}}
            """
        #expect(try extract(proxied) == record(163, 241, reasoning: 204))
        // No total: reasoning larger than the completion count can only be outside it.
        let noTotal =
            #"{"usage":{"prompt_tokens":12,"completion_tokens":1,"completion_tokens_details":{"reasoning_tokens":290}}}"#
        #expect(try extract(noTotal) == record(12, 291, reasoning: 290))
        // Reasoning 0: both readings agree.
        let zero =
            #"{"usage":{"prompt_tokens":12,"completion_tokens":5,"total_tokens":17,"completion_tokens_details":{"reasoning_tokens":0}}}"#
        #expect(try extract(zero) == record(12, 5, reasoning: 0))
        // A total that contradicts both readings while reasoning exceeds the completion is refused.
        let contradictory =
            #"{"usage":{"prompt_tokens":12,"completion_tokens":1,"total_tokens":13,"completion_tokens_details":{"reasoning_tokens":290}}}"#
        let error = try #require(throws: ExtractionError.self) { try extract(contradictory) }
        #expect(error.code == .invalidValue && error.path == "$.usage", "\(error.message)")
    }

    @Test("OpenAI-compatible prompt_cache_hit_tokens is read as cache reads")
    func cacheHitTokens() throws {
        let json =
            #"{"usage":{"prompt_tokens":90,"completion_tokens":10,"prompt_cache_hit_tokens":64,"prompt_cache_miss_tokens":26}}"#
        #expect(try extract(json) == record(90, 10, cached: 64))
    }

    @Test("Responses streams read the terminal event only")
    func responsesStream() throws {
        for terminal in ["response.completed", "response.incomplete", "response.failed"] {
            let stream = """
                [{"type":"response.created","response":{"object":"response","model":"gpt-5","usage":null}},
                 {"type":"response.in_progress","response":{"usage":null}},
                 {"type":"response.output_text.delta","delta":"x"},
                 {"type":"\(terminal)","response":{"object":"response","usage":{"input_tokens":30,"input_tokens_details":{"cached_tokens":10},"output_tokens":8,"output_tokens_details":{"reasoning_tokens":2},"total_tokens":38}}}]
                """
            #expect(try extract(stream) == record(30, 8, cached: 10, reasoning: 2))
            #expect(try usage(stream).provider == .openaiResponses)
            #expect(try usage(stream).model == "gpt-5")
        }
        let unfinished =
            #"[{"type":"response.created","response":{"usage":null}},{"type":"response.output_text.delta","delta":"x"}]"#
        #expect(extractionErrorCode(try extract(unfinished)) == .noUsage)
    }
}

@Suite("Usage extraction: Gemini")
struct GeminiExtractionTests {
    @Test("tool-use prompt tokens go into input, thoughts into output")
    func toolUseIntoInput() throws {
        let json = """
            {"candidates":[],"usageMetadata":{"promptTokenCount":100,"toolUsePromptTokenCount":40,"candidatesTokenCount":20,"thoughtsTokenCount":5,"totalTokenCount":165}}
            """
        let r = try extract(json)
        #expect(r == record(140, 25, reasoning: 5))
        #expect(r.totalTokens == 165)
    }

    @Test("the last chunk with usageMetadata wins, even with a lower prompt count; chunks without it are skipped")
    func lastChunkWins() throws {
        let stream = """
            [{"candidates":[],"usageMetadata":{"promptTokenCount":50,"candidatesTokenCount":2,"totalTokenCount":52}},
             {"candidates":[],"usageMetadata":{"promptTokenCount":48,"candidatesTokenCount":30,"totalTokenCount":78}},
             {"candidates":[{"finishReason":"STOP"}]}]
            """
        #expect(try extract(stream) == record(48, 30))
    }

    @Test("SDK snake_case and the Live API's responseTokenCount")
    func snakeCaseAndLive() throws {
        let sdk =
            #"{"usage_metadata":{"prompt_token_count":12,"candidates_token_count":3,"cached_content_token_count":4,"total_token_count":15}}"#
        #expect(try extract(sdk) == record(12, 3, cached: 4))
        #expect(try usage(sdk).provider == .gemini)
        let live = #"{"usageMetadata":{"promptTokenCount":12,"responseTokenCount":6,"totalTokenCount":18}}"#
        #expect(try extract(live) == record(12, 6))
    }

    @Test("a missing candidates count is derived from the total")
    func candidatesFromTotal() throws {
        let json = #"{"usageMetadata":{"promptTokenCount":10,"thoughtsTokenCount":4,"totalTokenCount":21}}"#
        #expect(try extract(json) == record(10, 11, reasoning: 4))
    }
}

@Suite("Usage extraction: LangChain")
struct LangChainExtractionTests {
    @Test("chunks are deltas and are summed")
    func chunksSummed() throws {
        let stream = """
            [{"type":"AIMessageChunk","content":"","usage_metadata":{"input_tokens":100,"output_tokens":1,"total_tokens":101,"input_token_details":{"cache_read":60}}},
             {"type":"AIMessageChunk","content":"a","usage_metadata":null},
             {"type":"AIMessageChunk","content":"b","usage_metadata":{"input_tokens":0,"output_tokens":14,"total_tokens":14,"output_token_details":{"reasoning":5}}}]
            """
        #expect(try extract(stream) == record(100, 15, cached: 60, reasoning: 5))
    }

    @Test("cache_write = max(cache_creation, sum of ephemeral_*): old versions fill both")
    func cacheWriteMax() throws {
        let both = """
            {"type":"ai","usage_metadata":{"input_tokens":500,"output_tokens":10,"total_tokens":510,
             "input_token_details":{"cache_read":0,"cache_creation":450,"ephemeral_5m_input_tokens":400,"ephemeral_1h_input_tokens":50}}}
            """
        #expect(try extract(both) == record(500, 10, cached: 0, write: 450, write1h: 50))
        let onlyCreation =
            #"{"type":"ai","usage_metadata":{"input_tokens":500,"output_tokens":10,"input_token_details":{"cache_creation":300}}}"#
        #expect(try extract(onlyCreation) == record(500, 10, write: 300))
    }

    @Test("tier-prefixed keys count by suffix; the bare tier key is never added")
    func serviceTierKeys() throws {
        let json = """
            {"type":"ai","usage_metadata":{"input_tokens":2350,"output_tokens":860,"total_tokens":3210,
             "input_token_details":{"audio":0,"flex_cache_read":1920,"flex":430},
             "output_token_details":{"audio":0,"flex_reasoning":640,"flex":220}}}
            """
        #expect(try extract(json) == record(2350, 860, cached: 1920, reasoning: 640))
        let priority = """
            {"type":"ai","usage_metadata":{"input_tokens":10,"output_tokens":5,"total_tokens":15,
             "input_token_details":{"priority_cache_read":4,"priority":6},"output_token_details":{"priority_reasoning":2,"priority":3}}}
            """
        #expect(try extract(priority) == record(10, 5, cached: 4, reasoning: 2))
    }

    @Test("Gemini via LangChain: a total above input+output puts the gap (tool-use prompt) into input")
    func geminiToolUseGap() throws {
        let json = #"{"type":"ai","usage_metadata":{"input_tokens":100,"output_tokens":25,"total_tokens":165}}"#
        let r = try extract(json)
        #expect(r == record(140, 25))
        #expect(r.totalTokens == 165)
    }

    @Test("xAI via LangChain: a total of input + output + reasoning puts reasoning into output, not input")
    func xaiReasoningOutside() throws {
        // langchain-openai copies xAI's completion_tokens into output_tokens and its total as is.
        let json = """
            {"type":"ai","response_metadata":{"model_name":"grok-3-mini"},"usage_metadata":{"input_tokens":12,"output_tokens":1,"total_tokens":303,
             "input_token_details":{"cache_read":0},"output_token_details":{"reasoning":290}}}
            """
        #expect(try extract(json) == record(12, 291, cached: 0, reasoning: 290))
        // Gemini's tool-use gap (no reasoning reported) still goes into input.
        let gemini =
            #"{"type":"ai","usage_metadata":{"input_tokens":100,"output_tokens":25,"total_tokens":165,"output_token_details":{"reasoning":5}}}"#
        #expect(try extract(gemini) == record(140, 25, reasoning: 5))
    }

    @Test("dumpd output and a bare usage_metadata dict")
    func serializedForms() throws {
        let dumpd =
            #"{"lc":1,"type":"constructor","id":["langchain","schema","messages","AIMessage"],"kwargs":{"content":"x","usage_metadata":{"input_tokens":3,"output_tokens":2,"total_tokens":5},"response_metadata":{"model_name":"gpt-4o-mini"}}}"#
        #expect(try extract(dumpd) == record(3, 2))
        #expect(try usage(dumpd).model == "gpt-4o-mini")
        let bare = #"{"input_tokens":30,"output_tokens":7,"total_tokens":37,"input_token_details":{"cache_read":12}}"#
        #expect(try extract(bare) == record(30, 7, cached: 12))
        #expect(try usage(bare).provider == .langchain)
    }
}

@Suite("Usage extraction: Bedrock, Cohere, Ollama, aiecs")
struct OtherProvidersExtractionTests {
    @Test("Bedrock ConverseStream: the final metadata event")
    func bedrockStream() throws {
        let stream = """
            [{"messageStart":{"role":"assistant"}},
             {"contentBlockDelta":{"delta":{"text":"Hi"},"contentBlockIndex":0}},
             {"contentBlockStop":{"contentBlockIndex":0}},
             {"messageStop":{"stopReason":"end_turn"}},
             {"metadata":{"usage":{"inputTokens":14,"outputTokens":20,"totalTokens":3134,"cacheReadInputTokens":2900,"cacheWriteInputTokens":200},"metrics":{"latencyMs":900}}}]
            """
        #expect(try extract(stream) == record(3114, 20, cached: 2900, write: 200))
    }

    @Test("Bedrock cacheDetails give the writes when cacheWriteInputTokens is absent")
    func bedrockCacheDetails() throws {
        let json =
            #"{"output":{},"stopReason":"end_turn","usage":{"inputTokens":10,"outputTokens":5,"cacheDetails":[{"ttl":"5m","inputTokens":30},{"ttl":"1h","inputTokens":20}]}}"#
        #expect(try extract(json) == record(60, 5, write: 50, write1h: 20))
    }

    @Test("Cohere: whole floats become ints; message-end delta.usage; billed units kept apart")
    func cohere() throws {
        let stream = """
            event: message-start
            data: {"type":"message-start","id":"x","delta":{"message":{"role":"assistant"}}}

            event: content-delta
            data: {"type":"content-delta","index":0,"delta":{"message":{"content":{"text":"Hi"}}}}

            event: message-end
            data: {"type":"message-end","delta":{"finish_reason":"COMPLETE","usage":{"billed_units":{"input_tokens":400.0,"output_tokens":150.0},"tokens":{"input_tokens":1003.0,"output_tokens":159.0},"cached_tokens":512.0}}}

            """
        #expect(try extract(stream) == record(1003, 159, cached: 512))
        let u = try usage(stream)
        #expect(u.billedInputTokens == 400)
        #expect(u.billedOutputTokens == 150)
        #expect(
            extractionErrorCode(try extract(#"{"usage":{"tokens":{"input_tokens":10.5,"output_tokens":1}}}"#))
                == .invalidValue)
        let v1 =
            #"{"text":"x","meta":{"billed_units":{"input_tokens":5,"output_tokens":2},"tokens":{"input_tokens":8,"output_tokens":2}}}"#
        #expect(try extract(v1) == record(8, 2))
    }

    @Test("Ollama NDJSON: only the done:true line counts")
    func ollamaStream() throws {
        let ndjson = """
            {"model":"llama3.2","created_at":"2025-11-03T10:14:06Z","message":{"role":"assistant","content":"Ray"},"done":false}
            {"model":"llama3.2","created_at":"2025-11-03T10:14:06Z","message":{"role":"assistant","content":"leigh"},"done":false}
            {"model":"llama3.2","created_at":"2025-11-03T10:14:07Z","message":{"role":"assistant","content":""},"done":true,"done_reason":"stop","prompt_eval_count":26,"eval_count":290}

            """
        #expect(try extract(ndjson) == record(26, 290))
        #expect(try usage(ndjson).model == "llama3.2")
        let cut =
            #"{"model":"m","created_at":"t","message":{"content":"x"},"done":false}"# + "\n"
            + #"{"model":"m","created_at":"t","message":{"content":"y"},"done":false}"#
        #expect(extractionErrorCode(try extract(cut)) == .noUsage)
    }

    @Test("Ollama without prompt_eval_count: the output is recorded, the input is unknown (not 0) and marked estimated")
    func ollamaMissingPromptCount() throws {
        let json = #"{"model":"llama3.2","created_at":"t","done":true,"eval_count":12}"#
        let u = try usage(json)
        #expect(u.inputTokens == nil)
        #expect(u.outputTokens == 12)
        #expect(u.record == nil)
        #expect(u.isInputUnknown)
        // With a prompt estimate (the handlers have one), the input is that estimate.
        #expect(u.resolved(promptEstimate: 300) == record(300, 12, source: .estimated))
        // Without one, the response is still recorded: the output as reported, input 0, estimated.
        #expect(u.recordWithoutPromptEstimate == record(0, 12, source: .estimated))
        #expect(try extract(json) == record(0, 12, source: .estimated))
        #expect(try extract(json, .ollama) == record(0, 12, source: .estimated))
        // The same in an NDJSON stream.
        let stream =
            #"{"model":"m","created_at":"t","message":{"content":"x"},"done":false}"# + "\n"
            + #"{"model":"m","created_at":"t","message":{"content":""},"done":true,"eval_count":40}"# + "\n"
        #expect(try extract(stream) == record(0, 40, source: .estimated))
        // A missing eval_count is Go's omitempty zero.
        #expect(try extract(#"{"model":"m","created_at":"t","done":true,"prompt_eval_count":5}"#) == record(5, 0))
        // /api/embed has no `done`.
        #expect(
            try extract(#"{"model":"all-minilm","embeddings":[[0.1]],"prompt_eval_count":8}"#, .ollama) == record(8, 0))
    }

    @Test("aiecs: tokens_used alone needs a split from elsewhere")
    func aiecsTotalOnly() throws {
        let json = #"{"content":"x","provider":"OpenAI","model":"gpt-4o-mini","tokens_used":1262}"#
        let u = try usage(json)
        #expect(u.onlyTotal == 1262)
        #expect(u.record == nil)
        #expect(!u.isComplete)
        #expect(u.resolved(promptEstimate: 1180) == record(1180, 82, source: .estimated))
        #expect(u.resolved(promptEstimate: 5000) == record(1262, 0, source: .estimated))
        #expect(u.resolved(promptEstimate: -4) == record(0, 1262, source: .estimated))
        // Without an estimate the split is unknown: extract keeps refusing it.
        #expect(u.recordWithoutPromptEstimate == nil)
        #expect(!u.isInputUnknown)
        let error = try #require(throws: ExtractionError.self) { try extract(json) }
        #expect(error.code == .incompleteUsage)
        #expect(error.path == "$.prompt_tokens")
        #expect(error.message.contains("tokens_used"))
    }

    @Test("aiecs: a bare xAI usage dict with reasoning outside completion_tokens")
    func aiecsReasoningOutside() throws {
        let json =
            #"{"prompt_tokens":12,"completion_tokens":1,"total_tokens":303,"completion_tokens_details":{"reasoning_tokens":290}}"#
        #expect(try extract(json) == record(12, 291, reasoning: 290))
        #expect(try extract(json, .aiecs) == record(12, 291, reasoning: 290))
    }

    @Test("aiecs: one part and the total give the other part")
    func aiecsDerived() throws {
        #expect(try extract(#"{"tokens_used":100,"prompt_tokens":70}"#) == record(70, 30))
        #expect(try extract(#"{"tokens_used":100,"completion_tokens":30}"#, .aiecs) == record(70, 30))
        #expect(extractionErrorCode(try extract(#"{"tokens_used":10,"prompt_tokens":70}"#)) == .invalidValue)
    }

    @Test("resolving hand-made values never traps")
    func resolvedClamps() {
        let odd = ExtractedUsage(
            provider: .aiecs, inputTokens: Int.min, outputTokens: nil, cachedInputTokens: Int.max, onlyTotal: Int.max)
        let r = odd.resolved(promptEstimate: Int.max)
        #expect(r.inputTokens == 0)
        #expect(r.outputTokens == 1_000_000_000_000)
        #expect(r.cachedInputTokens == 0)
        #expect(r.source == .estimated)
    }

    @Test("a complete record resolves to itself, still reported")
    func resolvedComplete() throws {
        let u = try usage(#"{"usage":{"prompt_tokens":9,"completion_tokens":1}}"#)
        #expect(u.resolved(promptEstimate: 1000) == record(9, 1))
    }
}

@Suite("Usage extraction: API surface")
struct ExtractionAPITests {
    @Test("provider names and aliases")
    func providerNames() {
        #expect(Provider(name: "openai-responses") == .openaiResponses)
        #expect(Provider(name: "OPENAI_RESPONSES") == .openaiResponses)
        #expect(Provider(name: "azure") == .openai)
        #expect(Provider(name: "claude") == .anthropic)
        #expect(Provider(name: "vertex") == .gemini)
        #expect(Provider(name: "xai") == .openai)
        #expect(Provider(name: "grok") == .openai)
        #expect(Provider(name: "nope") == nil)
        for provider in Provider.allCases {
            #expect(Provider(name: provider.rawValue) == provider)
        }
    }

    @Test("Foundation objects convert, with booleans kept apart from numbers")
    func foundationBridge() throws {
        let object: [String: Any] = [
            "usage": ["prompt_tokens": 5, "completion_tokens": 2], "stream": true, "none": NSNull(),
        ]
        let value = try JSONValue(jsonObject: object)
        #expect(value["stream"] == .bool(true))
        #expect(value["usage"]?["prompt_tokens"] == .number(5))
        #expect(value["none"] == .null)
        #expect(try UsageExtractor.extract(from: value) == record(5, 2))
        let parsed = try JSONSerialization.jsonObject(with: Data(#"{"a":true,"b":1,"c":[false,0]}"#.utf8))
        #expect(
            try JSONValue(jsonObject: parsed)
                == .object(["a": .bool(true), "b": .number(1), "c": .array([.bool(false), .number(0)])]))
        #expect(throws: ExtractionError.self) { try JSONValue(jsonObject: ["d": Date()]) }
    }

    @Test("JSONValue round-trips through Codable")
    func codableRoundTrip() throws {
        let text = #"{"a":[1,2.5,"x",null,true,{"b":-3}]}"#
        let parsed = try JSONValue(parsing: Data(text.utf8))
        let decoded = try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
        #expect(parsed == decoded)
        let reencoded = try JSONEncoder().encode(parsed)
        #expect(try JSONValue(parsing: reencoded) == parsed)
    }

    @Test("bare usage objects are recognised")
    func bareUsage() throws {
        #expect(
            try extract(#"{"input_tokens":5,"cache_read_input_tokens":10,"output_tokens":3}"#)
                == record(15, 3, cached: 10))
        #expect(try extract(#"{"inputTokens":5,"outputTokens":3,"totalTokens":8}"#) == record(5, 3))
        #expect(try extract(#"{"promptTokenCount":5,"candidatesTokenCount":3}"#) == record(5, 3))
        #expect(
            try extract(#"{"prompt_tokens":5,"completion_tokens":3,"prompt_tokens_details":{"cached_tokens":2}}"#)
                == record(5, 3, cached: 2))
    }

    @Test("an explicit provider reads its own shape even when auto would choose another")
    func explicitOverridesDetection() throws {
        // A plain {input_tokens, output_tokens} usage reads the same as Anthropic or Responses.
        let json = #"{"usage":{"input_tokens":4,"output_tokens":6}}"#
        #expect(try extract(json, .openaiResponses) == record(4, 6))
        #expect(try extract(json, .anthropic) == record(4, 6))
        #expect(extractionErrorCode(try extract(json, .openai)) == .missingField)
    }
}

/// The code of the error `body` throws, or `nil` when it does not throw.
func extractionErrorCode(_ body: @autoclosure () throws(ExtractionError) -> some Any) -> ExtractionError.Code? {
    do {
        _ = try body()
        return nil
    } catch {
        return error.code
    }
}
