import Foundation
import Hummingbird
import TokenLedger

extension TokenLedgerServer {
    /// Usage and reports: role read.
    func readRoutes() -> [(Route, Handler)] {
        [
            (
                Route(method: .get, path: "/v1/users/{user}/usage", access: .read),
                { request, context in try await self.usage(request, context) }
            ),
            (Route(method: .get, path: "/v1/report", access: .read), { request, _ in try await self.report(request) }),
        ]
    }

    /// `GET /v1/users/{user}/usage[?cycle=]` → the CLI's `usage` JSON.
    func usage(_ request: Request, _ context: ServiceRequestContext) async throws -> Response {
        let user = try PathInput.user(context)
        let query = try PathInput.query(request)
        try PathInput.refuseUnknown(query, allowed: ["cycle"])
        let cycle = try PathInput.text(query, "cycle").map { try Validation.parseCycleDate($0, field: "cycle") }
        return try JSONResponse.make(try await repository.usage(user: user, cycle: cycle))
    }

    /// The most users a report may be cut to (`top`).
    static let maximumTop = 1_000_000

    /// `GET /v1/report[?cycle=&top=&sort=]` → the CLI's `report` JSON (users whose stored data
    /// cannot be read are listed in `unreadable`, not left out silently).
    func report(_ request: Request) async throws -> Response {
        let query = try PathInput.query(request)
        try PathInput.refuseUnknown(query, allowed: ["cycle", "top", "sort"])
        let cycle = try PathInput.text(query, "cycle").map { try Validation.parseCycleDate($0, field: "cycle") }
        var top: Int?
        if let text = try PathInput.text(query, "top") {
            guard text.utf8.count <= 7, text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let value = Int(text),
                value <= Self.maximumTop
            else {
                throw ServiceError(
                    .invalidParameter, field: "top", "top must be a whole number from 0 to \(Self.maximumTop)")
            }
            top = value
        }
        var sort = ReportSort.total
        if let text = try PathInput.text(query, "sort") {
            guard let value = ReportSort(rawValue: text) else {
                throw ServiceError(.invalidParameter, field: "sort", "sort must be total, input, output or cost")
            }
            sort = value
        }
        return try JSONResponse.make(try await repository.report(cycle: cycle, top: top, sort: sort))
    }
}
