import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import RedisTestSupport
import Testing
import TokenLedger

@testable import TokenLedgerService

@Suite("Service concurrency")
struct ConcurrencyTests {
    @Test("1,000 concurrent reservations of 10 over 20 connections against a limit of 1,000 admit exactly 100")
    func reservationsAtLimit() async throws {
        try await withService { service in
            let limit = try await service.send(.put, "/v1/users/busy/limit", body: json(["tokens": 1000]))
            #expect(limit.status == 200)
            let connections = 20
            let perConnection = 50
            let port = service.port
            let secret = service.appKey
            let statuses = try await withThrowingTaskGroup(of: [Int].self) { group in
                for connection in 0..<connections {
                    group.addTask {
                        try await TestClient.withClient(
                            host: "localhost", port: port, configuration: .init(timeout: .seconds(120))
                        ) { client in
                            var statuses: [Int] = []
                            for index in 0..<perConnection {
                                let body = json(["user": "busy", "call_id": "c\(connection)-\(index)", "tokens": 10])
                                let response = try await client.post(
                                    "/v1/reservations",
                                    headers: [.authorization: "Bearer \(secret)", .contentType: "application/json"],
                                    body: ByteBuffer(string: body))
                                statuses.append(response.status.code)
                            }
                            return statuses
                        }
                    }
                }
                var all: [Int] = []
                for try await statuses in group { all += statuses }
                return all
            }
            #expect(statuses.count == connections * perConnection)
            #expect(statuses.filter { $0 == 201 }.count == 100)
            #expect(statuses.filter { $0 == 429 }.count == 900)
            let check = try await service.repository.check(user: "busy")
            #expect(check.reserved == 1000 && check.remaining == 0)
        }
    }
}
