import Foundation
import RedisTestSupport
import Testing

@Suite("tokenledger extract, estimate, record --response, demo")
struct HandlerCommandTests {
    static let openAIBody =
        #"{"usage":{"prompt_tokens":2350,"completion_tokens":860,"total_tokens":3210,"prompt_tokens_details":{"cached_tokens":1920},"completion_tokens_details":{"reasoning_tokens":640}}}"#

    @Test("extract prints the normalized record; subsets not reported are null")
    func extract() async throws {
        let result = try await CLI.run(["extract"], stdin: Self.openAIBody)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(
            result.stdout
                == #"{"cache_write_tokens":null,"cached_input_tokens":1920,"input_tokens":2350,"output_tokens":860,"reasoning_tokens":640,"source":"reported","total_tokens":3210}"#
                + "\n")
        let sse =
            "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"usage\":{\"input_tokens\":10,\"output_tokens\":1}}}\n\nevent: message_delta\ndata: {\"type\":\"message_delta\",\"usage\":{\"output_tokens\":15}}\n\n"
        let stream = try await CLI.run(["extract", "--provider", "anthropic"], stdin: sse)
        #expect(
            stream.stdout.contains(#""input_tokens":10"#) && stream.stdout.contains(#""output_tokens":15"#),
            "\(stream.stderr)")
    }

    @Test("extract rejects malformed input with exit 65, naming the JSON path")
    func extractErrors() async throws {
        let bad = try await CLI.run(["extract"], stdin: #"{"usage":{"prompt_tokens":-3,"completion_tokens":1}}"#)
        #expect(bad.status == 65)
        #expect(bad.stderr.contains("$.usage.prompt_tokens"))
        let garbage = try await CLI.run(["extract"], stdin: "{not json")
        #expect(garbage.status == 65)
        let unknown = try await CLI.run(["extract", "--provider", "nope"], stdin: "{}")
        #expect(unknown.status == 64)
    }

    @Test("estimate counts text, and arrays with --json; CJK costs more per character than English")
    func estimate() async throws {
        let english = try await CLI.run(
            ["estimate"], stdin: String(repeating: "The quick brown fox jumps over the lazy dog. ", count: 20))
        let english_count = try #require(Int(english.stdout.trimmingCharacters(in: .whitespacesAndNewlines)))
        #expect((150...260).contains(english_count), "\(english_count)")
        let batch = try await CLI.run(["estimate", "--json"], stdin: #"["", "hello world", "量子计算的基本原理是叠加和纠缠"]"#)
        let counts = try #require(try JSONSerialization.jsonObject(with: Data(batch.stdout.utf8)) as? [Int])
        #expect(counts.count == 3 && counts[0] == 0 && counts[1] == 2)
        #expect(counts[2] > "量子计算的基本原理是叠加和纠缠".count / 2)
        let notArray = try await CLI.run(["estimate", "--json"], stdin: "{}")
        #expect(notArray.status == 65)
    }

    @Test("record --response reads a raw provider response from a file or stdin")
    func recordResponse() async throws {
        try await withRedisServer { server async throws in
            let env = ["REDIS_URL": "redis://127.0.0.1:\(server.port)"]
            let cycle = ["--cycle", "2026-01-01"]
            let result = try await CLI.run(
                ["record", "eve", "--response", "-", "--call-id", "r1"] + cycle, environment: env,
                stdin: Self.openAIBody)
            #expect(result.status == 0, "\(result.stderr)")
            #expect(result.stdout.contains(#""total_tokens":3210"#))
            var usage = try jsonObject(
                try await CLI.run(["usage", "eve", "--format", "json"] + cycle, environment: env).stdout)
            #expect(usage["cached_input_tokens"] as? Int == 1920 && usage["reasoning_tokens"] as? Int == 640)

            // The same from a file, with nothing on stdin: another call of the same size.
            let file = FileManager.default.temporaryDirectory.appendingPathComponent(
                "response-\(UUID().uuidString).json")
            try Data(Self.openAIBody.utf8).write(to: file)
            defer { try? FileManager.default.removeItem(at: file) }
            let fromFile = try await CLI.run(
                ["record", "eve", "--response", file.path, "--call-id", "r2"] + cycle, environment: env)
            #expect(fromFile.status == 0, "\(fromFile.stderr)")
            #expect(
                fromFile.stdout.contains(#""applied":true"#) && fromFile.stdout.contains(#""total_tokens":6420"#),
                "\(fromFile.stdout)")
            usage = try jsonObject(
                try await CLI.run(["usage", "eve", "--format", "json"] + cycle, environment: env).stdout)
            #expect(
                usage["calls"] as? Int == 2 && usage["input_tokens"] as? Int == 4700
                    && usage["cached_input_tokens"] as? Int == 3840)
            // A file that does not exist is bad input naming it, and records nothing.
            let missing = try await CLI.run(
                ["record", "eve", "--response", file.path + ".missing", "--call-id", "r3"] + cycle, environment: env)
            #expect(
                missing.status == 65 && missing.stderr.contains(file.path + ".missing"),
                "\(missing.status) \(missing.stderr)")
            usage = try jsonObject(
                try await CLI.run(["usage", "eve", "--format", "json"] + cycle, environment: env).stdout)
            #expect(usage["calls"] as? Int == 2)
        }
    }

    @Test("demo runs the workload, blocks one user before the call, and ends with a report")
    func demo() async throws {
        try await withRedisServer { server async throws in
            let result = try await CLI.run(["demo"], environment: ["REDIS_URL": "redis://127.0.0.1:\(server.port)"])
            #expect(result.status == 0, "\(result.stderr)")
            #expect(result.stdout.contains("carol:"))
            #expect(result.stdout.contains("blocked before call"))
            #expect(result.stdout.contains("threshold event: 80 %"))
            #expect(result.stdout.contains("report for cycle"))
            // The handler's line, matched whole: "10 failed" must not pass for "0 failed".
            let handlerLine =
                result.stdout.split(separator: "\n").first { $0.hasPrefix("handler: ") }.map(String.init) ?? ""
            #expect(
                handlerLine.range(
                    of: #"^handler: [1-9][0-9]* recorded \([0-9]+ estimated\), 0 duplicates, 0 failed$"#,
                    options: .regularExpression)
                    != nil, "\(handlerLine)")
            // Running it again starts from an empty namespace and gives the same report.
            let again = try await CLI.run(["demo"], environment: ["REDIS_URL": "redis://127.0.0.1:\(server.port)"])
            let report = { (text: String) in text.components(separatedBy: "report for cycle").last ?? "" }
            #expect(report(again.stdout) == report(result.stdout))
            let refused = try await CLI.run(
                ["demo", "--namespace", "tl"], environment: ["REDIS_URL": "redis://127.0.0.1:\(server.port)"])
            #expect(refused.status == 64)
        }
    }
}

@Suite("tokenledger estimate with a rank file")
struct ExactEstimateCommandTests {
    @Test("estimate --bpe-file gives tiktoken's counts for both encodings; a corrupt file is exit 65 naming it")
    func exact() async throws {
        let scripts = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("scripts")
        let located = try await Program.run(
            "python3", [scripts.appendingPathComponent("bpe_reference.py").path, "locate"]
        ).stdout
        let directory = try #require(try jsonObject(located)["directory"] as? String, "pip install tiktoken bpe-openai")
        let texts = [
            "hello world", "量子计算的基本原理", "   \n\n  x", "12345678901", "👩‍👩‍👧‍👦 family", "{\"a\": [1, 2]}", "<|endoftext|>",
        ]
        let input = FileManager.default.temporaryDirectory.appendingPathComponent("estimate-\(UUID().uuidString).json")
        try JSONEncoder().encode(texts).write(to: input)
        defer { try? FileManager.default.removeItem(at: input) }
        let reference = try jsonObject(
            try await Program.run(
                "python3",
                [
                    scripts.appendingPathComponent("bpe_reference.py").path, "counts", "--ranks", directory, "--input",
                    input.path,
                ]
            ).stdout)
        for encoding in ["o200k_base", "cl100k_base"] {
            let expected = try #require(reference[encoding] as? [String: Any])["counts"] as? [Int]
            let result = try await CLI.run(
                ["estimate", "--json", "--bpe-file", "\(directory)/\(encoding).tiktoken.gz"],
                stdin: String(decoding: try JSONEncoder().encode(texts), as: UTF8.self))
            #expect(result.status == 0, "\(result.stderr)")
            let counts = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [Int]
            #expect(counts == expected, "\(encoding)")
        }
        let single = try await CLI.run(
            ["estimate", "--encoding", "cl100k_base"], environment: ["TOKENLEDGER_BPE_DIR": directory],
            stdin: "hello world")
        #expect(single.stdout == "2\n")

        let corrupt = FileManager.default.temporaryDirectory.appendingPathComponent(
            "o200k_base-\(UUID().uuidString).tiktoken")
        try Data("aGVsbG8= 0\nnot-base64!! 1\n".utf8).write(to: corrupt)
        defer { try? FileManager.default.removeItem(at: corrupt) }
        let bad = try await CLI.run(["estimate", "--bpe-file", corrupt.path], stdin: "x")
        #expect(bad.status == 65)
        #expect(bad.stderr.contains(corrupt.path) && bad.stderr.contains(":2"), "\(bad.stderr)")
    }
}
