import BytePairEncoding
import Foundation
import RedisTestSupport
import Testing

@testable import tokenledger

/// Runs `body` with a private server and the environment that points the CLI at it.
private func withConventionsServer(_ body: ([String: String]) async throws -> Void) async throws {
    try await withRedisServer { server async throws in
        try await body(["REDIS_URL": "redis://127.0.0.1:\(server.port)", "TOKENLEDGER_NAMESPACE": "conventions"])
    }
}

@Suite("CLI conventions: one --format, cycle show --default, estimate --input, messages in sentences")
struct ConventionsCommandTests {
    @Test("commands that printed only JSON render the same value as table and csv; JSON stays their default")
    func formatsOfJSONCommands() async throws {
        try await withConventionsServer { env in
            let json = try await CLI.run(["limit", "set", "alice", "100"], environment: env)
            #expect(json.stdout == #"{"limit":100,"source":"user","user":"alice"}"# + "\n", "\(json.stderr)")
            let csv = try await CLI.run(["limit", "set", "alice", "200", "--format", "csv"], environment: env)
            #expect(csv.stdout == "user,limit,source\nalice,200,user\n", "\(csv.stderr)")
            let table = try await CLI.run(["limit", "clear", "alice", "--format", "table"], environment: env)
            // Without --usd or --tokens, clear removes both of the user's own limits.
            #expect(
                table.stdout == "alice: unlimited (cleared)\nalice: no currency limit (cleared)\n", "\(table.stderr)")

            let check = try await CLI.run(
                ["quota", "check", "bob", "--tokens", "5", "--format", "table"], environment: env)
            #expect(check.status == 0, "\(check.stderr)")
            let rows = check.stdout.split(separator: "\n").map {
                $0.split(separator: " ", omittingEmptySubsequences: true)
            }
            #expect(
                rows.contains(["allowed", "true"]) && rows.contains(["requested", "5"])
                    && rows.contains(["user", "bob"]))
            let record = try await CLI.run(
                [
                    "record", "bob", "--input", "3", "--output", "2", "--call-id", "c1", "--cycle", "2026-01-01",
                    "--format", "csv",
                ],
                environment: env)
            #expect(
                record.stdout == "applied,cost_usd,cycle,total_tokens,user\ntrue,,2026-01-01,5,bob\n",
                "\(record.stderr)")
        }
    }

    @Test("--format html is report's only: elsewhere exit 64 and nothing is written")
    func htmlOnlyForReport() async throws {
        try await withConventionsServer { env in
            _ = try await CLI.run(["limit", "set", "carol", "100"], environment: env)
            let refused = try await CLI.run(["limit", "set", "carol", "5", "--format", "html"], environment: env)
            #expect(
                refused.status == 64 && refused.stderr.contains("--format html is only for report"), "\(refused.stderr)"
            )
            let limit = try jsonObject(
                try await CLI.run(["limit", "get", "carol", "--format", "json"], environment: env).stdout)
            #expect(limit["limit"] as? Int == 100)
        }
    }

    @Test("cycle show --default shows the default policy; a user and --default together, or neither, is exit 64")
    func cycleShowDefault() async throws {
        try await withConventionsServer { env in
            let before = try jsonObject(
                try await CLI.run(["cycle", "show", "--default", "--format", "json"], environment: env).stdout)
            #expect(
                before["period"] as? String == "monthly" && before["source"] as? String == "default"
                    && before["user"] is NSNull)
            let set = try await CLI.run(
                ["cycle", "set", "--default", "--period", "weekly", "--anchor-day", "monday"], environment: env)
            #expect(set.status == 0, "\(set.stderr)")
            let shown = try await CLI.run(
                ["cycle", "show", "--default", "--at", "2026-03-11T12:00:00Z", "--format", "json"], environment: env)
            #expect(
                shown.stdout
                    == #"{"anchor":1,"cycle":"2026-03-09","cycle_end":"2026-03-16","period":"weekly","source":"default","timezone":"UTC","user":null}"#
                    + "\n", "\(shown.stderr)")
            let table = try await CLI.run(
                ["cycle", "show", "--default", "--at", "2026-03-11T12:00:00Z"], environment: env)
            #expect(
                table.stdout.hasPrefix("default: ")
                    && table.stdout.contains("current cycle 2026-03-09 until 2026-03-16"))
            #expect(try await CLI.run(["cycle", "show"], environment: env).status == 64)
            #expect(try await CLI.run(["cycle", "show", "dave", "--default"], environment: env).status == 64)
        }
    }

    @Test("estimate --input json reads a JSON array (--json is its alias); --input text is the default")
    func estimateInput() async throws {
        let texts = #"["hello world", "a"]"#
        let alias = try await CLI.run(["estimate", "--json"], stdin: texts)
        let input = try await CLI.run(["estimate", "--input", "json"], stdin: texts)
        #expect(alias.status == 0 && input.stdout == alias.stdout && alias.stdout.hasPrefix("["), "\(alias.stderr)")
        let counts = try #require(try JSONSerialization.jsonObject(with: Data(input.stdout.utf8)) as? [Int])
        #expect(counts.count == 2 && counts.allSatisfy { $0 > 0 })
        let csv = try await CLI.run(["estimate", "--input", "json", "--format", "csv"], stdin: texts)
        #expect(csv.stdout == "tokens\n\(counts[0])\n\(counts[1])\n")
        let text = try await CLI.run(["estimate", "--input", "text"], stdin: "hello world")
        #expect(text.stdout == "\(counts[0])\n")
        let bad = try await CLI.run(["estimate", "--input", "json"], stdin: "hello")
        #expect(
            bad.status == 65 && bad.stderr.contains("--input json expects a JSON array of strings"), "\(bad.stderr)")
        #expect(try await CLI.run(["estimate", "--json", "--input", "text"], stdin: "x").status == 64)
    }

    @Test("messages are sentences: no Swift case names from a bad rank file, no NSCocoaErrorDomain from a failed write")
    func messagesInSentences() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "conventions-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let short = directory.appendingPathComponent("o200k_base.tiktoken")
        try Data("aGVsbG8= 0\nd29ybGQ= 1\n".utf8).write(to: short)
        let truncated = try await CLI.run(["estimate", "--bpe-file", short.path], stdin: "x")
        #expect(truncated.status == 65 && truncated.stderr.contains(short.path + ":2"), "\(truncated.stderr)")
        #expect(
            !truncated.stderr.contains("rankCountMismatch") && !truncated.stderr.contains("rank_count_mismatch"),
            "\(truncated.stderr)")
        let missing = try await CLI.run(
            ["estimate", "--bpe-file", directory.appendingPathComponent("none.tiktoken").path], stdin: "x")
        #expect(
            missing.status == 65 && missing.stderr.contains("none.tiktoken") && !missing.stderr.contains("fileNotFound")
        )

        try await withConventionsServer { env in
            let target = directory.appendingPathComponent("no-such-dir/report.html").path
            let report = try await CLI.run(["report", "--format", "html", "--output", target], environment: env)
            #expect(
                report.status == 64 && report.stderr.contains("cannot write the report to \(target)"),
                "\(report.stderr)")
            #expect(
                !report.stderr.contains("NSCocoaErrorDomain") && !report.stderr.contains("Error Domain"),
                "\(report.stderr)")
        }
    }

    @Test("sentence(for:) names no Swift type, case or Foundation domain, whatever the error")
    func sentencesWithoutSwiftNames() {
        struct PrivateFailure: Error {}
        let rank = RankFileError(code: .rankCountMismatch, path: "/r/o200k_base.tiktoken", line: 3, message: "2 ranks")
        let cases: [(any Error, String)] = [
            (PrivateFailure(), "an unexpected error occurred"),
            (CocoaError(.fileWriteUnknown), "could not be written"),
            (CocoaError(.fileReadNoSuchFile), "no such file or directory"),
            (rank, "/r/o200k_base.tiktoken:3: 2 ranks"),
            (
                DecodingError.dataCorrupted(.init(codingPath: [], debugDescription: "not JSON")),
                "could not be read: not JSON"
            ),
        ]
        for (error, expected) in cases {
            let text = sentence(for: error)
            #expect(text.contains(expected), "\(text)")
            for name in [
                "PrivateFailure", "NSCocoaErrorDomain", "Error Domain", "rankCountMismatch", "rank_count_mismatch",
                "dataCorrupted", "tokenledger.",
            ] {
                #expect(!text.contains(name), "\(text)")
            }
        }
    }
}
