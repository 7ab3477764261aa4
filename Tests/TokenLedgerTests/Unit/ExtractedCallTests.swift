import Foundation
import Testing
import TokenLedger

/// A provider response read as one call to record (`record --response`, `extract`): no server.
@Suite("ExtractedCall: response to record")
struct ExtractedCallTests {
    private let chat = Data(
        #"{"object":"chat.completion","model":"gpt-4o-mini-2024-07-18","usage":{"prompt_tokens":120,"completion_tokens":30,"total_tokens":150,"prompt_tokens_details":{"cached_tokens":64}}}"#
            .utf8)

    @Test("a complete response: its counts, its model and the shape it was read as")
    func complete() throws {
        let call = try ExtractedCall(response: chat)
        #expect(
            call.usage
                == UsageRecord(inputTokens: 120, outputTokens: 30, cachedInputTokens: 64, source: .reported))
        #expect(call.model == "gpt-4o-mini-2024-07-18")
        #expect(call.provider == "openai")
        #expect(!call.isInputUnknown)
    }

    @Test("the caller's model and provider name win; empty, nil and auto mean the response's")
    func callerNames() throws {
        let named = try ExtractedCall(response: chat, shape: .openai, providerName: "azure", model: "my-deployment")
        #expect(named.model == "my-deployment" && named.provider == "azure")
        for name in [nil, "", "auto"] {
            let call = try ExtractedCall(response: chat, shape: .openai, providerName: name, model: "")
            #expect(call.provider == "openai", "\(String(describing: name))")
            #expect(call.model == "gpt-4o-mini-2024-07-18")
        }
        let anonymous = try ExtractedCall(
            usage: ExtractedUsage(provider: .anthropic, inputTokens: 1, outputTokens: 2))
        #expect(anonymous.model == "" && anonymous.provider == "anthropic")
    }

    @Test("a response's model longer than 128 bytes is cut at a character boundary, so the call still records")
    func longModel() throws {
        // 42 three-byte characters are 126 bytes; the 43rd would pass 128 and is left out whole.
        let long = "gpt-" + String(repeating: "模", count: 60)
        let response = Data(#"{"model":"\#(long)","usage":{"prompt_tokens":1,"completion_tokens":1}}"#.utf8)
        let call = try ExtractedCall(response: response)
        #expect(call.model == "gpt-" + String(repeating: "模", count: 41))
        #expect(call.model.utf8.count == 127)
        try Validation.validateModel(call.model)
        // The caller's own model is not cut: it is the caller's to keep within the bound.
        #expect(try ExtractedCall(response: response, model: long).model == long)
    }

    @Test("truncation keeps whole characters and never passes the byte bound")
    func truncation() {
        #expect(ExtractedCall.truncated("abcdef", bytes: 4) == "abcd")
        #expect(ExtractedCall.truncated("abc", bytes: 128) == "abc")
        #expect(ExtractedCall.truncated("aé", bytes: 2) == "a")  // é is 2 bytes
        #expect(ExtractedCall.truncated("👩‍👩‍👧‍👦x", bytes: 24) == "")  // one 25-byte grapheme
        #expect(ExtractedCall.truncated("👩‍👩‍👧‍👦x", bytes: 26) == "👩‍👩‍👧‍👦x")
        #expect(ExtractedCall.truncated("", bytes: 0) == "")
    }

    @Test("Ollama without prompt_eval_count: the output is recorded with input 0, marked estimated")
    func inputUnknown() throws {
        let call = try ExtractedCall(response: Data(#"{"model":"llama3.2","done":true,"eval_count":173}"#.utf8))
        #expect(call.isInputUnknown)
        #expect(call.usage == UsageRecord(inputTokens: 0, outputTokens: 173, source: .estimated))
        #expect(call.provider == "ollama" && call.model == "llama3.2")
    }

    @Test("only a total, or no output count, is refused naming what is missing (bad input)")
    func refused() throws {
        let total = Data(#"{"content":"x","model":"gpt-4o-mini","tokens_used":1262}"#.utf8)
        #expect {
            _ = try ExtractedCall(response: total)
        } throws: { error in
            guard let error = error as? ExtractionError else { return false }
            return error.code == .incompleteUsage && error.path == "$" && error.category == .badInput
                && error.message == "the response reports only a total of 1262 tokens, without the input/output split"
        }
        #expect {
            _ = try ExtractedCall(usage: ExtractedUsage(provider: .aiecs, inputTokens: 5, outputTokens: nil))
        } throws: { error in
            (error as? ExtractionError)?.message
                == "the response reports no output count, so the call's usage is unknown"
        }
        // What extract refuses before any of this still names its JSON path.
        #expect {
            _ = try ExtractedCall(response: Data(#"{"usage":{"prompt_tokens":-1,"completion_tokens":1}}"#.utf8))
        } throws: { error in
            (error as? ExtractionError)?.message.hasPrefix("$.usage.prompt_tokens") == true
        }
    }
}
