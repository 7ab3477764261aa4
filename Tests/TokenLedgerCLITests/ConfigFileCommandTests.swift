import Foundation
import Testing

/// A fresh path under the temporary directory.
private func temporaryPath() -> String {
    FileManager.default.temporaryDirectory.appendingPathComponent("cli-config-\(UUID().uuidString)").path
}

/// The CLI reads the one configuration: the environment first, then `--config FILE` or `TOKENLEDGER_CONFIG_FILE`.
@Suite("--config FILE and TOKENLEDGER_CONFIG_FILE")
struct ConfigFileCommandTests {
    @Test("a JSON file names the spool and the input cap; the environment overrides it; a bad file is exit 64")
    func configFile() async throws {
        let directory = temporaryPath()
        let other = temporaryPath()
        let file = directory + ".json"
        defer {
            for path in [directory, other, file] { try? FileManager.default.removeItem(atPath: path) }
        }
        try Data(#"{"tokenledger": {"spoolDir": "\#(directory)", "maxInputBytes": 4}}"#.utf8).write(
            to: URL(fileURLWithPath: file))

        for (arguments, environment) in [
            (["--config", file, "spool", "status", "--format", "json"], [:]),
            (["spool", "status", "--format", "json", "--config=\(file)"], [:]),
            (["spool", "status", "--format", "json"], ["TOKENLEDGER_CONFIG_FILE": file]),
        ] {
            let status = try await CLI.run(arguments, environment: environment)
            #expect(status.status == 0, "\(arguments): \(status.stderr)")
            #expect(try jsonObject(status.stdout)["directory"] as? String == directory)
        }
        let overridden = try await CLI.run(
            ["spool", "status", "--format", "json", "--config", file], environment: ["TOKENLEDGER_SPOOL_DIR": other])
        #expect(try jsonObject(overridden.stdout)["directory"] as? String == other, "\(overridden.stderr)")

        // The file's input cap applies to commands that read input.
        let capped = try await CLI.run(["estimate", "--config", file], stdin: "hello world")
        #expect(capped.status == 65)
        #expect(capped.stderr.contains("larger than the input cap of 4 bytes"))

        let missing = try await CLI.run(["estimate", "--config", file + ".missing"], stdin: "hi")
        #expect(missing.status == 64)
        #expect(missing.stderr == "tokenledger: cannot read the configuration file \(file).missing: no such file\n")
    }
}
