import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// Responses in the CLI's JSON shapes: sorted keys, snake_case (the library's `Codable` types
/// carry their snake_case keys), no escaped slashes.
enum JSONResponse {
    /// The CLI's encoder settings (`OutputFormatter.jsonEncoder`).
    static func encoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }

    /// `value` as `application/json` with `status`.
    static func make(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws -> Response {
        var data = try encoder().encode(value)
        data.append(0x0A)
        return Response(
            status: status, headers: [.contentType: "application/json"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// `problem` as `application/problem+json`, with `headers` added.
    static func problem(_ problem: Problem, headers: HTTPFields = [:]) -> Response {
        var data = (try? encoder().encode(problem)) ?? Data(#"{"code":"internal","status":500}"#.utf8)
        data.append(0x0A)
        var fields = headers
        fields[.contentType] = "application/problem+json"
        return Response(
            status: HTTPResponse.Status(code: problem.status), headers: fields,
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }
}
