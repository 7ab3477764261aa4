import Foundation
import Testing

@testable import TokenLedgerService

@Suite("Problem codes")
struct ProblemCodeTests {
    /// The `ProblemCode` enum of the OpenAPI document.
    func documentedCodes() throws -> Set<String> {
        let text = String(decoding: try OpenAPIDocument.bytes(), as: UTF8.self)
        guard let start = text.range(of: "    ProblemCode:\n") else { return [] }
        var codes: Set<String> = []
        for line in text[start.upperBound...].split(separator: "\n").dropFirst(3) {
            guard line.hasPrefix("        - ") else { break }
            codes.insert(String(line.dropFirst(10)))
        }
        return codes
    }

    @Test("the OpenAPI document's code enum lists exactly the codes a problem can carry")
    func enumMatches() throws {
        #expect(try documentedCodes() == Problem.allCodes)
    }

    @Test("every documented status of a problem maps from its error")
    func statuses() {
        #expect(Problem.of(ServiceError(.unauthorized, "x")).status == 401)
        #expect(Problem.of(ServiceError(.forbidden, "x")).status == 403)
        #expect(Problem.of(ServiceError(.bodyTooLarge, "x")).status == 413)
        #expect(Problem.of(ServiceError(.unknownField, field: "f", "x")).field == "f")
    }
}
