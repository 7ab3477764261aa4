import Foundation
import HTTPTypes
import RedisTestSupport
import Testing

@testable import TokenLedgerService

@Suite("Service contract")
struct ContractTests {
    @Test("every path and method of the OpenAPI document is routed on the live server, and every route is documented")
    func everyOperationRouted() async throws {
        let documented = try documentedOperations()
        #expect(documented.count == 23)  // 19 service operations and 4 proxy routes
        try await withService { service in
            for (method, path) in documented {
                let concrete =
                    path
                    .replacingOccurrences(of: "{user}", with: "contract-user")
                    .replacingOccurrences(of: "{call_id}", with: "contract-call")
                    .replacingOccurrences(of: "{scope}", with: "contract-scope")
                let answer = try await service.send(HTTPRequest.Method(method)!, concrete, body: "{}")
                #expect(answer.status != 404 && answer.status != 405, "\(method) \(path): \(answer.text)")
            }
            let routed = Set(service.server.routes().map { "\($0.0.method.rawValue) \($0.0.path)" })
            #expect(routed == Set(documented.map { "\($0.method) \($0.path)" }))
        }
    }

    @Test("GET /openapi.yaml serves the document as application/yaml without a key")
    func servesDocument() async throws {
        try await withService { service in
            let answer = try await service.send(.get, "/openapi.yaml", key: .some(nil))
            #expect(answer.status == 200)
            #expect(answer.header(.contentType) == "application/yaml")
            #expect(answer.text.hasPrefix("openapi: 3.1.0"))
        }
    }
}
