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

    /// `value`'s JSON: written by ``DirectJSONEncoder``, else (a floating-point number, a date…) by
    /// `JSONEncoder` with the CLI's settings; the same bytes either way.
    static func bytes(_ value: some Encodable) throws -> [UInt8] {
        if let bytes = DirectJSONEncoder.encode(value) { return bytes }
        return Array(try encoder().encode(value))
    }

    /// `value` as `application/json` with `status`.
    static func make(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws -> Response {
        var bytes = try bytes(value)
        bytes.append(0x0A)
        return Response(
            status: status, headers: [.contentType: "application/json"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    /// `problem` as `application/problem+json`, with `headers` added.
    static func problem(_ problem: Problem, headers: HTTPFields = [:]) -> Response {
        var data = (try? bytes(problem)) ?? Array(#"{"code":"internal","status":500}"#.utf8)
        data.append(0x0A)
        var fields = headers
        fields[.contentType] = "application/problem+json"
        return Response(
            status: HTTPResponse.Status(code: problem.status), headers: fields,
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }
}
