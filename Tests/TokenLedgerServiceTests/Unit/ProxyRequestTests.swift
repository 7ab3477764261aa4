import Foundation
import Testing
import TokenLedger

@testable import TokenLedgerService

@Suite("Proxy request reading")
struct ProxyRequestTests {
    static let configuration = ProxyConfiguration.standard

    func read(
        _ body: String, _ endpoint: ProxyEndpoint = .chatCompletions, header: String? = nil,
        configuration: ProxyConfiguration = ProxyRequestTests.configuration
    ) throws -> ProxyRequest {
        try ProxyRequest(
            body: Array(body.utf8), endpoint: endpoint, headerUser: header, configuration: configuration,
            counting: .heuristic)
    }

    /// The field a refusal names.
    func field(of body: String, _ endpoint: ProxyEndpoint = .chatCompletions) -> String? {
        do {
            _ = try read(body, endpoint)
            return nil
        } catch let error as ServiceError {
            return error.field
        } catch let error as ValidationError {
            return error.field
        } catch {
            return "unexpected \(error)"
        }
    }

    @Test("the user: the header wins, then OpenAI's user or Anthropic's metadata.user_id, then the default")
    func user() throws {
        #expect(try read(#"{"model":"m","user":"body"}"#, header: "header").user == "header")
        #expect(try read(#"{"model":"m","user":"body"}"#).user == "body")
        #expect(try read(#"{"model":"m","metadata":{"user_id":"meta"}}"#, .messages).user == "meta")
        #expect(field(of: #"{"model":"m","user":"body"}"#, .messages) == "user", "OpenAI's field is not Anthropic's")
        #expect(field(of: #"{"model":"m"}"#) == "user")
        #expect(field(of: #"{"model":"m","user":""}"#) == "user")
        #expect(field(of: #"{"model":"m","user":7}"#) == "user")
        #expect(field(of: #"{"model":"m","metadata":{"user_id":7}}"#, .messages) == "metadata.user_id")
        var withDefault = Self.configuration
        withDefault.defaultUser = "fallback"
        #expect(try read(#"{"model":"m"}"#, configuration: withDefault).user == "fallback")
        #expect(try read(#"{"model":"m","user":"body"}"#, configuration: withDefault).user == "body")
    }

    @Test("bad bodies name their field: model missing or mistyped, malformed JSON, a non-object, a bad count")
    func badInput() {
        #expect(field(of: #"{"user":"u"}"#) == "model")
        #expect(field(of: #"{"model":5,"user":"u"}"#) == "model")
        #expect(field(of: #"{"model":"m","user":"u""#) == "body")
        #expect(field(of: "[1]") == "body")
        #expect(field(of: "") == "body")
        #expect(field(of: #"{"model":"m","user":"u","max_tokens":-1}"#) == "max_tokens")
        #expect(field(of: #"{"model":"m","user":"u","max_tokens":1.5}"#) == "max_tokens")
        #expect(field(of: #"{"model":"m","user":"u","stream":"yes"}"#) == "stream")
        #expect(field(of: #"{"model":"m","user":"u\u0001"}"#) == "user")
        #expect(field(of: #"{"model":"m","user":"u"}"#, .embeddings) == nil)
    }

    @Test("the output reserved: each endpoint's maximum field, times n for chat, else the configured default")
    func maximumOutput() throws {
        #expect(try read(#"{"model":"m","user":"u","max_tokens":100}"#).maximumOutputTokens == 100)
        #expect(
            try read(#"{"model":"m","user":"u","max_tokens":100,"max_completion_tokens":300}"#).maximumOutputTokens
                == 300)
        #expect(try read(#"{"model":"m","user":"u","max_tokens":100,"n":3}"#).maximumOutputTokens == 300)
        #expect(try read(#"{"model":"m","user":"u"}"#).maximumOutputTokens == 4096)
        #expect(try read(#"{"model":"m","user":"u","max_output_tokens":70}"#, .responses).maximumOutputTokens == 70)
        #expect(try read(#"{"model":"m","user":"u","max_tokens":70}"#, .embeddings).maximumOutputTokens == 0)
        #expect(
            try read(#"{"model":"m","metadata":{"user_id":"u"},"max_tokens":70}"#, .messages).maximumOutputTokens == 70)
        var configured = Self.configuration
        configured.defaultMaximumOutputTokens = 10
        #expect(try read(#"{"model":"m","user":"u"}"#, configuration: configured).maximumOutputTokens == 10)
    }

    @Test("the prompt is counted as the library counts chat messages")
    func promptCount() throws {
        let body = json([
            "model": "gpt-4o", "user": "u",
            "messages": [
                ["role": "system", "content": "Be brief."],
                ["role": "user", "content": [["type": "text", "text": "Hello there"], ["type": "image_url"]]],
            ],
        ])
        let expected = TokenCounting.heuristic.estimator(forModel: "gpt-4o").countTokens(in: [
            ChatMessage(role: "system", content: "Be brief."), ChatMessage(role: "user", content: "Hello there"),
        ])
        #expect(try read(body).promptTokens == expected)
        let estimator = TokenCounting.heuristic.estimator(forModel: "e")
        let embeddings = try read(#"{"model":"e","user":"u","input":["one two","three"]}"#, .embeddings)
        #expect(embeddings.promptTokens == estimator.countTokens(in: "one two") + estimator.countTokens(in: "three"))
        #expect(try read(#"{"model":"e","user":"u","input":[[1,2,3],[4]]}"#, .embeddings).promptTokens == 4)
        let anthropic = try read(
            #"{"model":"c","metadata":{"user_id":"u"},"system":"Be brief.","messages":[{"role":"user","content":"Hi"}]}"#,
            .messages)
        #expect(
            anthropic.promptTokens
                == TokenCounting.heuristic.estimator(forModel: "c").countTokens(in: [
                    ChatMessage(role: "system", content: "Be brief."), ChatMessage(role: "user", content: "Hi"),
                ]))
    }

    @Test("an OpenAI chat stream without include_usage is asked for it, the client's bytes kept")
    func asksForUsage() throws {
        let body = #"{"model":"m","user":"u","stream":true,"seed":12345678901234567,"temperature":0.7}"#
        let request = try read(body)
        #expect(request.hidesUsageChunk)
        let sent = String(decoding: request.upstreamBody, as: UTF8.self)
        #expect(sent == #"{"stream_options":{"include_usage":true},"# + body.dropFirst())
        let options = try read(
            #"{"model":"m","user":"u","stream":true,"stream_options":{"include_obfuscation":false}}"#)
        let object = try JSONSerialization.jsonObject(with: Data(options.upstreamBody)) as? [String: Any]
        let rewritten = try #require(object?["stream_options"] as? [String: Any])
        #expect(rewritten["include_usage"] as? Bool == true)
        #expect(rewritten["include_obfuscation"] as? Bool == false)
        let asked = #"{"model":"m","user":"u","stream":true,"stream_options":{"include_usage":true}}"#
        let kept = try read(asked)
        #expect(!kept.hidesUsageChunk)
        #expect(kept.upstreamBody == Array(asked.utf8))
        let plain = #"{"model":"m","user":"u"}"#
        #expect(try read(plain).upstreamBody == Array(plain.utf8))
        let anthropic = #"{"model":"m","metadata":{"user_id":"u"},"stream":true}"#
        #expect(try read(anthropic, .messages).upstreamBody == Array(anthropic.utf8))
    }
}
