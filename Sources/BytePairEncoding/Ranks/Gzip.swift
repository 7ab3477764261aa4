import CZlib

/// Decompression of gzip data through zlib (`inflateInit2` with `16 + MAX_WBITS`).
enum Gzip {
    /// Whether the bytes start with the gzip magic number `1f 8b`.
    static func hasMagic(_ bytes: UnsafeRawBufferPointer) -> Bool {
        bytes.count >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b
    }

    /// Inflates a whole gzip file (one or more members).
    ///
    /// - Returns: The decompressed bytes, or a message saying why zlib refused the data.
    static func decompress(_ input: UnsafeRawBufferPointer) -> Result<[UInt8], GzipFailure> {
        guard let base = input.baseAddress, input.count > 0 else {
            return .failure(GzipFailure(message: "no gzip data (empty file)"))
        }
        guard input.count <= Int(UInt32.max) else {
            return .failure(GzipFailure(message: "gzip file larger than 4 GiB"))
        }
        var stream = z_stream()
        let initCode = inflateInit2_(
            &stream, 16 + MAX_WBITS, zlibVersion(), Int32(MemoryLayout<z_stream>.size))
        guard initCode == Z_OK else {
            return .failure(GzipFailure(message: "inflateInit2 failed with code \(initCode)"))
        }
        defer { inflateEnd(&stream) }

        stream.next_in = UnsafeMutablePointer(
            mutating: base.assumingMemoryBound(to: UInt8.self))
        stream.avail_in = UInt32(input.count)

        var output: [UInt8] = []
        output.reserveCapacity(input.count * 3)
        let chunkSize = 1 << 18
        let chunk = UnsafeMutablePointer<UInt8>.allocate(capacity: chunkSize)
        defer { chunk.deallocate() }

        while true {
            stream.next_out = chunk
            stream.avail_out = UInt32(chunkSize)
            let code = inflate(&stream, Z_NO_FLUSH)
            let produced = chunkSize - Int(stream.avail_out)
            output.append(contentsOf: UnsafeBufferPointer(start: chunk, count: produced))
            switch code {
            case Z_STREAM_END:
                if stream.avail_in == 0 {
                    return .success(output)
                }
                // Another gzip member follows (as `cat a.gz b.gz` makes); inflate it too.
                guard inflateReset(&stream) == Z_OK else {
                    return .failure(GzipFailure(message: "inflateReset failed"))
                }
            case Z_OK:
                continue
            case Z_BUF_ERROR where stream.avail_in == 0:
                return .failure(
                    GzipFailure(
                        message: "unexpected end of gzip data after \(input.count) bytes (truncated file?)"))
            default:
                let detail = stream.msg.map { String(cString: $0) } ?? "zlib error code \(code)"
                return .failure(GzipFailure(message: "corrupt gzip data: \(detail)"))
            }
        }
    }
}

/// Why zlib could not inflate some data.
struct GzipFailure: Error {
    /// A message naming the cause.
    var message: String
}
