/// A FIFO queue kept in fixed-size chunks, so neither appending nor taking ever copies more than
/// one chunk: the pipeline's queue is appended to under a lock by every caller, and a queue that
/// grows to tens of thousands of groups must not stall them all while one array is reallocated
/// or compacted (profiles showed such stalls as rare ~100 µs spikes in fire-and-forget callers).
struct ChunkedQueue<Element> {
    private static var chunkSize: Int { 512 }
    private var chunks: [[Element]] = []
    /// The next element's index in `chunks[0]`.
    private var head = 0
    /// Elements queued.
    private(set) var count = 0

    mutating func append(_ element: Element) {
        if chunks.isEmpty || chunks[chunks.count - 1].count == Self.chunkSize {
            var chunk: [Element] = []
            chunk.reserveCapacity(Self.chunkSize)
            chunks.append(chunk)
        }
        chunks[chunks.count - 1].append(element)
        count += 1
    }

    mutating func popFirst() -> Element? {
        guard count > 0 else { return nil }
        let element = chunks[0][head]
        head += 1
        count -= 1
        if count == 0 {
            chunks.removeAll(keepingCapacity: true)
            head = 0
        } else if head == chunks[0].count {
            chunks.removeFirst()
            head = 0
        }
        return element
    }

    /// Takes every element, in order.
    mutating func removeAll() -> [Element] {
        var all: [Element] = []
        all.reserveCapacity(count)
        while let element = popFirst() { all.append(element) }
        return all
    }
}
