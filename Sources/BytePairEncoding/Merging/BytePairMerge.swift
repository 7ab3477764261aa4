/// Working memory for merging pieces; one per call, never shared between threads.
final class MergeScratch {
    private(set) var capacity = 0
    private(set) var positions = UnsafeMutablePointer<Int32>.allocate(capacity: 1)
    private(set) var ranks = UnsafeMutablePointer<UInt32>.allocate(capacity: 1)
    private(set) var tokens = UnsafeMutablePointer<UInt32>.allocate(capacity: 1)
    private(set) var links = UnsafeMutablePointer<Int32>.allocate(capacity: 1)
    private(set) var heap = UnsafeMutablePointer<UInt64>.allocate(capacity: 1)

    /// Makes room for a piece of `length` bytes.
    @inline(__always)
    func reserve(_ length: Int) {
        if length >= capacity { grow(length) }
    }

    private func grow(_ length: Int) {
        let newCapacity = max(length + 2, capacity * 2, 64)
        positions.deallocate()
        ranks.deallocate()
        tokens.deallocate()
        links.deallocate()
        heap.deallocate()
        positions = .allocate(capacity: newCapacity)
        ranks = .allocate(capacity: newCapacity)
        tokens = .allocate(capacity: newCapacity)
        links = .allocate(capacity: newCapacity)
        heap = .allocate(capacity: newCapacity * 2)
        capacity = newCapacity
    }

    deinit {
        positions.deallocate()
        ranks.deallocate()
        tokens.deallocate()
        links.deallocate()
        heap.deallocate()
    }
}

/// Pieces longer than this use the heap-based merge; shorter ones the array scan.
let longPieceThreshold = 96

/// Byte-pair merges one piece the way tiktoken does: repeatedly join the adjacent pair whose
/// concatenation has the lowest rank (the leftmost on a tie) until no pair is a token.
///
/// - Parameters:
///   - piece: The piece's bytes, with 8 readable bytes after its end.
///   - length: The piece's length, at least 2.
///   - writeTokens: Whether to leave the resulting ranks in `scratch.tokens`.
/// - Returns: The number of tokens.
@inline(__always)
func bytePairMerge(
    _ piece: UnsafePointer<UInt8>, _ length: Int, _ table: TokenTable, _ scratch: MergeScratch,
    writeTokens: Bool
) -> Int {
    scratch.reserve(length)
    if length > longPieceThreshold {
        return mergeLong(piece, length, table, scratch, writeTokens: writeTokens)
    }
    return mergeShort(piece, length, table, scratch, writeTokens: writeTokens)
}

/// tiktoken's own O(n·m) algorithm over arrays: fast for the short pieces that dominate text.
@inline(__always)
func mergeShort(
    _ piece: UnsafePointer<UInt8>, _ length: Int, _ table: TokenTable, _ scratch: MergeScratch,
    writeTokens: Bool
) -> Int {
    let absent = TokenTable.absent
    let positions = scratch.positions
    let ranks = scratch.ranks
    let tokens = scratch.tokens
    let pairRanks = table.pairRanks
    for index in 0..<length {
        positions[index] = Int32(truncatingIfNeeded: index)
    }
    positions[length] = Int32(truncatingIfNeeded: length)
    for index in 0..<(length - 1) {
        ranks[index] = pairRanks[Int(piece[index]) &<< 8 | Int(piece[index &+ 1])]
    }
    ranks[length - 1] = absent
    if writeTokens {
        for index in 0..<length { tokens[index] = table.byteRanks[Int(piece[index])] }
    }
    var parts = length
    while parts > 1 {
        var best = absent
        var bestIndex = 0
        for index in 0..<(parts &- 1) where ranks[index] < best {
            best = ranks[index]
            bestIndex = index
        }
        if best == absent { break }
        // Join part bestIndex with the next: drop positions[bestIndex + 1].
        let removed: Int = bestIndex &+ 1
        let following: Int = bestIndex &+ 2
        let movedPositions: Int = parts &- removed
        (positions + removed).update(from: positions + following, count: movedPositions)
        let tail: Int = movedPositions &- 1
        if tail > 0 {
            (ranks + removed).update(from: ranks + following, count: tail)
            if writeTokens {
                (tokens + removed).update(from: tokens + following, count: tail)
            }
        }
        if writeTokens { tokens[bestIndex] = best }
        parts &-= 1
        if bestIndex &+ 1 < parts {
            let start = Int(positions[bestIndex])
            ranks[bestIndex] = table.rank(piece + start, Int(positions[bestIndex &+ 2]) &- start)
        } else {
            ranks[bestIndex] = absent
        }
        if bestIndex > 0 {
            let start = Int(positions[bestIndex &- 1])
            ranks[bestIndex &- 1] = table.rank(piece + start, Int(positions[bestIndex &+ 1]) &- start)
        }
    }
    return parts
}

/// The same merges in O(n log n): a doubly linked list of parts and a min-heap of
/// `rank << 32 | position` keys (so ties go to the leftmost pair), with stale entries skipped.
func mergeLong(
    _ piece: UnsafePointer<UInt8>, _ length: Int, _ table: TokenTable, _ scratch: MergeScratch,
    writeTokens: Bool
) -> Int {
    let absent = TokenTable.absent
    // next: scratch.positions (-1 marks a part that was merged away); prev: scratch.links.
    let next = scratch.positions
    let previous = scratch.links
    let pairRank = scratch.ranks
    let tokens = scratch.tokens
    let heap = scratch.heap
    var heapCount = 0
    for index in 0..<length {
        next[index] = Int32(truncatingIfNeeded: index &+ 1)
        previous[index] = Int32(truncatingIfNeeded: index &- 1)
        let rank =
            index &+ 1 < length
            ? table.pairRanks[Int(piece[index]) &<< 8 | Int(piece[index &+ 1])] : absent
        pairRank[index] = rank
        if writeTokens { tokens[index] = table.byteRanks[Int(piece[index])] }
        if rank != absent {
            heap[heapCount] = UInt64(rank) &<< 32 | UInt64(index)
            heapCount &+= 1
        }
    }
    // Heapify.
    var node = heapCount / 2
    while node > 0 {
        node &-= 1
        siftDown(heap, heapCount, node)
    }

    var parts = length
    while heapCount > 0 {
        let top = heap[0]
        heapCount &-= 1
        if heapCount > 0 {
            heap[0] = heap[heapCount]
            siftDown(heap, heapCount, 0)
        }
        let rank = UInt32(truncatingIfNeeded: top &>> 32)
        let left = Int(truncatingIfNeeded: top & 0xFFFF_FFFF)
        guard next[left] >= 0, pairRank[left] == rank else { continue }  // stale entry
        let right = Int(next[left])
        let afterRight = Int(next[right])
        next[right] = -1
        next[left] = Int32(truncatingIfNeeded: afterRight)
        if afterRight < length { previous[afterRight] = Int32(truncatingIfNeeded: left) }
        if writeTokens { tokens[left] = rank }
        parts &-= 1

        if afterRight < length {
            let newRank = table.rank(piece + left, Int(next[afterRight]) &- left)
            pairRank[left] = newRank
            if newRank != absent {
                heapPush(heap, &heapCount, UInt64(newRank) &<< 32 | UInt64(left))
            }
        } else {
            pairRank[left] = absent
        }
        let before = Int(previous[left])
        if before >= 0 {
            let newRank = table.rank(piece + before, afterRight &- before)
            pairRank[before] = newRank
            if newRank != absent {
                heapPush(heap, &heapCount, UInt64(newRank) &<< 32 | UInt64(before))
            }
        }
    }
    if writeTokens {
        // Compact the surviving parts' tokens to the front, in order.
        var cursor = 0
        var written = 0
        while cursor < length {
            tokens[written] = tokens[cursor]
            written &+= 1
            cursor = Int(next[cursor])
        }
    }
    return parts
}

@inline(__always)
private func siftDown(_ heap: UnsafeMutablePointer<UInt64>, _ count: Int, _ start: Int) {
    var index = start
    let value = heap[index]
    while true {
        var child = index &* 2 &+ 1
        if child >= count { break }
        if child &+ 1 < count && heap[child &+ 1] < heap[child] { child &+= 1 }
        if heap[child] >= value { break }
        heap[index] = heap[child]
        index = child
    }
    heap[index] = value
}

@inline(__always)
private func heapPush(_ heap: UnsafeMutablePointer<UInt64>, _ count: inout Int, _ value: UInt64) {
    var index = count
    count &+= 1
    while index > 0 {
        let parent = (index &- 1) / 2
        if heap[parent] <= value { break }
        heap[index] = heap[parent]
        index = parent
    }
    heap[index] = value
}
