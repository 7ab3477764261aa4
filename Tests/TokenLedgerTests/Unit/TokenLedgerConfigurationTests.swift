import Foundation
import RedisClient
import Testing
import TokenLedger

/// Writes `text` to a new temporary file and returns its path.
private func temporaryFile(_ text: String) throws -> String {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent(
        "tokenledger-config-\(UUID().uuidString).json")
    try Data(text.utf8).write(to: url)
    return url.path
}

/// Unit tests (no server) of the one configuration reader.
@Suite("TokenLedgerConfiguration: one reader of the environment and a JSON file")
struct TokenLedgerConfigurationTests {
    @Test("defaults when nothing is set; an empty variable counts as unset")
    func defaults() async throws {
        for environment in [
            [:], ["REDIS_URL": "", "REDIS_PASSWORD": "", "TOKENLEDGER_NAMESPACE": "", "TOKENLEDGER_SPOOL_DIR": ""],
        ] {
            let configuration = try await TokenLedgerConfiguration.load(environment: environment)
            #expect(configuration.redis == (try RedisConfiguration(url: RedisConfiguration.defaultURL)))
            #expect(configuration.ledger == (try LedgerConfiguration()))
            #expect(configuration.local == TokenLedgerConfiguration.LocalSettings())
            #expect(configuration.local.tokenCounting().directory == nil)
        }
    }

    @Test("every variable from a dictionary environment, and the options over it")
    func fromEnvironment() async throws {
        let environment = [
            "REDIS_URL": "redis://app@cache.internal:6380/2", "REDIS_PASSWORD": "s3cret-Pa55",
            "TOKENLEDGER_NAMESPACE": "billing", "TOKENLEDGER_SPOOL_DIR": "/var/spool/tl",
            "TOKENLEDGER_BPE_DIR": "/opt/ranks", "TOKENLEDGER_MAX_INPUT_BYTES": "1024",
        ]
        let configuration = try await TokenLedgerConfiguration.load(environment: environment)
        #expect(configuration.redis.endpoint == .tcp(host: "cache.internal", port: 6380))
        #expect(configuration.redis.username == "app")  // redis://name@host is a user name alone
        #expect(configuration.redis.password == "s3cret-Pa55")
        #expect(configuration.redis.database == 2)
        #expect(configuration.ledger.namespace == "billing")
        #expect(configuration.local.spoolDirectory == "/var/spool/tl")
        #expect(configuration.local.bpeDirectory == "/opt/ranks")
        #expect(configuration.local.tokenCounting().directory == "/opt/ranks")
        #expect(configuration.local.maxInputBytes == "1024")

        let overridden = try await TokenLedgerConfiguration.load(
            environment: environment, redisURL: "redis://other:7000", namespace: "ops")
        #expect(overridden.redis.endpoint == .tcp(host: "other", port: 7000))
        #expect(overridden.redis.password == "s3cret-Pa55")  // REDIS_PASSWORD still applies
        #expect(overridden.ledger.namespace == "ops")

        // The per-type readers give the same values.
        #expect(try RedisConfiguration.fromEnvironment(environment) == configuration.redis)
        #expect(try LedgerConfiguration.fromEnvironment(environment) == configuration.ledger)
        #expect(TokenCounting.fromEnvironment(environment).directory == "/opt/ranks")
    }

    @Test("a JSON file (--config or TOKENLEDGER_CONFIG_FILE) fills what the environment leaves unset")
    func fromFile() async throws {
        let file = try temporaryFile(
            #"""
            {"redis": {"url": "redis://file-host:6390/1", "password": "file-Pa55"},
             "tokenledger": {"namespace": "fromfile", "spoolDir": "/srv/spool", "bpeDir": "/srv/ranks", "maxInputBytes": 2048}}
            """#)
        defer { try? FileManager.default.removeItem(atPath: file) }

        let fromFile = try await TokenLedgerConfiguration.load(environment: [:], configFile: file)
        #expect(fromFile.redis.endpoint == .tcp(host: "file-host", port: 6390))
        #expect(fromFile.redis.database == 1)
        #expect(fromFile.redis.password == "file-Pa55")
        #expect(fromFile.ledger.namespace == "fromfile")
        #expect(
            fromFile.local == .init(spoolDirectory: "/srv/spool", bpeDirectory: "/srv/ranks", maxInputBytes: "2048"))

        let named = try await TokenLedgerConfiguration.load(environment: ["TOKENLEDGER_CONFIG_FILE": file])
        #expect(named.redis == fromFile.redis && named.ledger == fromFile.ledger && named.local == fromFile.local)

        // The environment comes first, then the file.
        let both = try await TokenLedgerConfiguration.load(
            environment: ["TOKENLEDGER_NAMESPACE": "fromenv", "REDIS_PASSWORD": "env-Pa55"], configFile: file)
        #expect(both.ledger.namespace == "fromenv")
        #expect(both.redis.password == "env-Pa55")
        #expect(both.redis.endpoint == .tcp(host: "file-host", port: 6390))
        #expect(both.local.spoolDirectory == "/srv/spool")

        // The server-free settings read the same sources.
        let local = try await TokenLedgerConfiguration.LocalSettings.load(environment: [:], configFile: file)
        #expect(local == fromFile.local)
    }

    @Test("description shows neither the password nor the URL's password, from the environment or a file")
    func secretsRedacted() async throws {
        let fromEnvironment = try await TokenLedgerConfiguration.load(environment: [
            "REDIS_URL": "redis://app:url-Pa55@host:6379", "TOKENLEDGER_SPOOL_DIR": "/var/spool/tl",
        ])
        #expect(fromEnvironment.redis.password == "url-Pa55")
        #expect(!fromEnvironment.description.contains("url-Pa55"))
        #expect(
            fromEnvironment.description == "redis host:6379 user app (password set), namespace tl, spool /var/spool/tl")

        let file = try temporaryFile(#"{"redis": {"password": "file-Pa55"}}"#)
        defer { try? FileManager.default.removeItem(atPath: file) }
        let fromFile = try await TokenLedgerConfiguration.load(environment: [:], configFile: file)
        #expect(fromFile.redis.password == "file-Pa55")
        #expect(!fromFile.description.contains("file-Pa55"))
        #expect(fromFile.description.contains("(password set)"))
    }

    @Test("a bad URL names the problem with its password masked; rediss:// is refused")
    func badURLs() async throws {
        let masked = await #expect(throws: RedisError.self) {
            try await TokenLedgerConfiguration.load(environment: ["REDIS_URL": "redis://app:Hidden-Pa55@host:99999"])
        }
        #expect(masked?.code == .invalidConfiguration)
        #expect(masked?.message.contains("port '99999'") == true)
        #expect(masked?.message.contains("Hidden-Pa55") == false)
        #expect(masked?.message.contains("redis://app:***@host:99999") == true)

        let file = try temporaryFile(#"{"redis": {"url": "rediss://:Tls-Pa55@host:6380"}}"#)
        defer { try? FileManager.default.removeItem(atPath: file) }
        let tls = await #expect(throws: RedisError.self) {
            try await TokenLedgerConfiguration.load(environment: [:], configFile: file)
        }
        #expect(tls?.message.contains("hiredis 0.14 has no TLS") == true)
        #expect(tls?.message.contains("Tls-Pa55") == false)
    }

    @Test("a missing or malformed file is invalid_configuration naming the file, never its content")
    func badFiles() async throws {
        let missing = "/nonexistent/tokenledger-\(UUID().uuidString).json"
        let notFound = await #expect(throws: ValidationError.self) {
            try await TokenLedgerConfiguration.load(environment: [:], configFile: missing)
        }
        #expect(notFound?.code == .invalidConfiguration)
        #expect(notFound?.message == "cannot read the configuration file \(missing): no such file")

        let malformed = try temporaryFile(#"{"redis": {"password": "Leaky-Pa55""#)
        defer { try? FileManager.default.removeItem(atPath: malformed) }
        let broken = await #expect(throws: ValidationError.self) {
            try await TokenLedgerConfiguration.load(environment: ["TOKENLEDGER_CONFIG_FILE": malformed])
        }
        #expect(broken?.code == .invalidConfiguration)
        #expect(broken?.message.contains(malformed) == true)
        #expect(broken?.message.contains("not a JSON object") == true)
        #expect(broken?.message.contains("Leaky-Pa55") == false)
    }

    @Test("a bad namespace is refused; a bad REDIS_URL does not stop the server-free settings")
    func partialFailures() async throws {
        await #expect(throws: ValidationError.self) {
            try await TokenLedgerConfiguration.load(environment: ["TOKENLEDGER_NAMESPACE": "has space"])
        }
        let local = try await TokenLedgerConfiguration.LocalSettings.load(environment: [
            "REDIS_URL": "ftp://nope", "TOKENLEDGER_NAMESPACE": "has space", "TOKENLEDGER_BPE_DIR": "/opt/ranks",
        ])
        #expect(local.bpeDirectory == "/opt/ranks")
    }
}

/// `TOKENLEDGER_WAIT_REPLICAS` and `TOKENLEDGER_WAIT_TIMEOUT_MS` (no server).
@Suite("The replica wait (WAIT) from the environment and the JSON file")
struct ReplicaWaitConfigurationTests {
    @Test("off by default and at 0; N replicas with the 1000 ms default or the given timeout")
    func values() async throws {
        #expect(try await TokenLedgerConfiguration.load(environment: [:]).ledger.replicaWait == nil)
        #expect(
            try await TokenLedgerConfiguration.load(environment: ["TOKENLEDGER_WAIT_REPLICAS": "0"]).ledger.replicaWait
                == nil)
        let two = try await TokenLedgerConfiguration.load(environment: ["TOKENLEDGER_WAIT_REPLICAS": "2"])
        #expect(two.ledger.replicaWait == RedisReplicaWait(replicas: 2, timeout: .milliseconds(1000)))
        let short = try await TokenLedgerConfiguration.load(environment: [
            "TOKENLEDGER_WAIT_REPLICAS": "1", "TOKENLEDGER_WAIT_TIMEOUT_MS": "250",
        ])
        #expect(short.ledger.replicaWait == RedisReplicaWait(replicas: 1, timeout: .milliseconds(250)))
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("wait-\(UUID().uuidString).json")
        try Data(#"{"tokenledger": {"waitReplicas": 3, "waitTimeoutMs": 40}}"#.utf8).write(to: url)
        defer { try? FileManager.default.removeItem(at: url) }
        let file = try await TokenLedgerConfiguration.load(environment: [:], configFile: url.path)
        #expect(file.ledger.replicaWait == RedisReplicaWait(replicas: 3, timeout: .milliseconds(40)))
    }

    @Test(
        "a bad value is an invalid_configuration error naming the key",
        arguments: [
            ("TOKENLEDGER_WAIT_REPLICAS", "two"), ("TOKENLEDGER_WAIT_REPLICAS", "-1"),
            ("TOKENLEDGER_WAIT_REPLICAS", "101"), ("TOKENLEDGER_WAIT_TIMEOUT_MS", "0"),
            ("TOKENLEDGER_WAIT_TIMEOUT_MS", "1.5"), ("TOKENLEDGER_WAIT_TIMEOUT_MS", "86400001"),
        ])
    func badValues(key: String, value: String) async throws {
        var environment = ["TOKENLEDGER_WAIT_REPLICAS": "1"]
        environment[key] = value
        let error = await #expect(throws: ValidationError.self) {
            try await TokenLedgerConfiguration.load(environment: environment)
        }
        #expect(error?.code == .invalidConfiguration)
        #expect(error?.message.contains(key) == true && error?.message.contains("'\(value)'") == true)
    }

    @Test("a wait given in code is checked; WAIT sends whole milliseconds, at least 1")
    func inCode() throws {
        #expect(throws: ValidationError.self) {
            try LedgerConfiguration(replicaWait: RedisReplicaWait(replicas: 0, timeout: .seconds(1)))
        }
        #expect(throws: ValidationError.self) {
            try LedgerConfiguration(replicaWait: RedisReplicaWait(replicas: 1, timeout: .zero))
        }
        let wait = WAIT(RedisReplicaWait(replicas: 2, timeout: .milliseconds(1500)))
        #expect(wait.command == RedisCommand("WAIT", 2, 1500) && wait.keys.isEmpty)
        #expect(WAIT(RedisReplicaWait(replicas: 1, timeout: .microseconds(10))).timeoutMilliseconds == 1)
        #expect(throws: RedisError.self) { try wait.decode(.status("OK")) }
        #expect(try wait.decode(.integer(1)) == 1)
    }
}
