/// Token bytes → rank, and rank → token bytes, for one vocabulary.
///
/// An open-addressing hash table (linear probing, at most half full) keyed by byte slices: each
/// slot keeps the token's first 8 bytes packed into a `UInt64`, so tokens of up to 8 bytes are
/// compared with one integer comparison; longer ones compare the rest against the byte arena.
/// Two direct tables answer the commonest questions without hashing: the rank of each single
/// byte and of each 2-byte pair.
///
/// Every lookup reads 8 bytes at a time, so callers pass slices that have at least 8 readable
/// bytes after their start (``BytePairEncoder`` copies text into a padded buffer).
///
/// ### Threading
/// Immutable after ``TokenTableBuilder/finish()``; any number of threads may read it at once.
final class TokenTable: @unchecked Sendable {
    // @unchecked: the pointers are written only while the builder fills them, before the table
    // is published, and freed only in deinit; all later access is read-only.

    /// One hash-table slot; `lengthAndOffset == 0` marks an empty slot.
    struct Slot {
        /// The token's first (up to) 8 bytes, little-endian, zero-padded.
        var prefix: UInt64
        /// The token's rank (its id).
        var rank: UInt32
        /// Token length in the low 8 bits, its offset in the arena in the high 24.
        var lengthAndOffset: UInt32
    }

    /// No rank: the slice is not a token.
    static let absent = UInt32.max

    let slots: UnsafeMutablePointer<Slot>
    let slotMask: Int
    let shift: UInt64
    /// All token bytes, back to back, followed by 8 zero bytes of padding.
    let arena: UnsafeMutablePointer<UInt8>
    /// For each rank: offset in the arena << 8 | length.
    let spans: UnsafeMutablePointer<UInt64>
    /// The number of ranks (ranks are exactly `0 ..< count`).
    let count: Int
    /// Rank of each single byte.
    let byteRanks: UnsafeMutablePointer<UInt32>
    /// Rank of each 2-byte token, indexed by `first << 8 | second`, or ``absent``.
    let pairRanks: UnsafeMutablePointer<UInt32>

    fileprivate init(
        slots: UnsafeMutablePointer<Slot>, slotCount: Int, arena: UnsafeMutablePointer<UInt8>,
        spans: UnsafeMutablePointer<UInt64>, count: Int, byteRanks: UnsafeMutablePointer<UInt32>,
        pairRanks: UnsafeMutablePointer<UInt32>
    ) {
        self.slots = slots
        self.slotMask = slotCount - 1
        self.shift = UInt64(64 - slotCount.trailingZeroBitCount)
        self.arena = arena
        self.spans = spans
        self.count = count
        self.byteRanks = byteRanks
        self.pairRanks = pairRanks
    }

    deinit {
        slots.deallocate()
        arena.deallocate()
        spans.deallocate()
        byteRanks.deallocate()
        pairRanks.deallocate()
    }

    // MARK: Hashing

    @inline(__always)
    static func load8(_ pointer: UnsafePointer<UInt8>) -> UInt64 {
        UInt64(littleEndian: UnsafeRawPointer(pointer).loadUnaligned(as: UInt64.self))
    }

    /// A mask keeping the low `count` bytes (1 ... 8) of a packed word.
    @inline(__always)
    static func lowBytesMask(_ count: Int) -> UInt64 {
        UInt64.max &>> UInt64(truncatingIfNeeded: (8 &- count) &* 8)
    }

    @inline(__always)
    static func hash(_ pointer: UnsafePointer<UInt8>, _ length: Int) -> UInt64 {
        let multiplier: UInt64 = 0x9E37_79B9_7F4A_7C15
        var h = UInt64(truncatingIfNeeded: length)
        var cursor = pointer
        var remaining = length
        while remaining > 8 {
            h = (h ^ load8(cursor)) &* multiplier
            h = (h &<< 29) | (h &>> 35)
            cursor += 8
            remaining &-= 8
        }
        return (h ^ (load8(cursor) & lowBytesMask(remaining))) &* multiplier
    }

    // MARK: Lookup

    /// The rank of the token spelled by `length` bytes at `pointer`, or ``absent``.
    ///
    /// - Precondition: `length >= 1` and 8 bytes past `pointer + length - 1` are readable.
    @inline(__always)
    func rank(_ pointer: UnsafePointer<UInt8>, _ length: Int) -> UInt32 {
        if length == 2 {
            return pairRanks[Int(pointer[0]) &<< 8 | Int(pointer[1])]
        }
        let prefix = Self.load8(pointer) & Self.lowBytesMask(min(length, 8))
        var index = Int(truncatingIfNeeded: Self.hash(pointer, length) &>> shift)
        while true {
            let slot = slots[index]
            if slot.lengthAndOffset == 0 {
                return Self.absent
            }
            if slot.prefix == prefix && Int(slot.lengthAndOffset & 0xFF) == length {
                if length <= 8 || tailMatches(slot, pointer, length) {
                    return slot.rank
                }
            }
            index = (index &+ 1) & slotMask
        }
    }

    @inline(__always)
    private func tailMatches(_ slot: Slot, _ pointer: UnsafePointer<UInt8>, _ length: Int) -> Bool {
        let stored = arena + Int(slot.lengthAndOffset &>> 8)
        var offset = 8
        while length &- offset >= 8 {
            if Self.load8(stored + offset) != Self.load8(pointer + offset) { return false }
            offset &+= 8
        }
        if offset < length {
            let mask = Self.lowBytesMask(length &- offset)
            return (Self.load8(stored + offset) ^ Self.load8(pointer + offset)) & mask == 0
        }
        return true
    }

    /// The bytes of a token, or `nil` for an id outside `0 ..< count`.
    func bytes(ofRank rank: Int) -> UnsafeBufferPointer<UInt8>? {
        guard rank >= 0 && rank < count else { return nil }
        let span = spans[rank]
        return UnsafeBufferPointer(start: arena + Int(span &>> 8), count: Int(span & 0xFF))
    }
}

/// Fills a ``TokenTable`` one token at a time, checking for duplicates.
struct TokenTableBuilder: ~Copyable {
    /// Why a token could not be added.
    enum Refusal: Error {
        case duplicateRank(firstLine: Int)
        case duplicateToken(rank: UInt32, firstLine: Int)
        case rankOutOfRange
        case tokenTooLong
        case vocabularyTooLarge
    }

    private let expectedCount: Int
    private let slotCount: Int
    private let slots: UnsafeMutablePointer<TokenTable.Slot>
    private var arena: [UInt8] = []
    private let spans: UnsafeMutablePointer<UInt64>
    private let lines: UnsafeMutablePointer<Int32>
    private(set) var added = 0
    private var finished = false

    /// Creates a builder for a vocabulary of exactly `expectedCount` ranks.
    init(expectedCount: Int) {
        self.expectedCount = expectedCount
        var slotCount = 1024
        while slotCount < expectedCount * 2 { slotCount *= 2 }
        self.slotCount = slotCount
        slots = .allocate(capacity: slotCount)
        slots.initialize(repeating: .init(prefix: 0, rank: 0, lengthAndOffset: 0), count: slotCount)
        spans = .allocate(capacity: max(expectedCount, 1))
        spans.initialize(repeating: .max, count: max(expectedCount, 1))
        lines = .allocate(capacity: max(expectedCount, 1))
        lines.initialize(repeating: 0, count: max(expectedCount, 1))
        arena.reserveCapacity(expectedCount * 8 + 8)
        arena.append(contentsOf: repeatElement(0, count: 8))
    }

    deinit {
        lines.deallocate()
        if !finished {
            slots.deallocate()
            spans.deallocate()
        }
    }

    /// Adds one token read from `line`.
    mutating func add(_ token: UnsafeBufferPointer<UInt8>, rank: UInt32, line: Int) throws(Refusal) {
        guard Int(rank) < expectedCount else { throw .rankOutOfRange }
        guard token.count <= 255 else { throw .tokenTooLong }
        guard arena.count + token.count + 8 < (1 << 24) else { throw .vocabularyTooLarge }
        if spans[Int(rank)] != .max {
            throw .duplicateRank(firstLine: Int(lines[Int(rank)]))
        }
        // The arena always ends in 8 zero bytes, so the 8-byte loads stay in bounds.
        arena.removeLast(8)
        let offset = arena.count
        arena.append(contentsOf: token)
        arena.append(contentsOf: repeatElement(0, count: 8))
        let length = token.count
        let (finalPrefix, finalHash) = arena.withUnsafeBufferPointer { buffer in
            let p = buffer.baseAddress! + offset
            return (
                TokenTable.load8(p) & TokenTable.lowBytesMask(min(length, 8)),
                TokenTable.hash(p, length)
            )
        }
        let shift = UInt64(64 - slotCount.trailingZeroBitCount)
        var index = Int(truncatingIfNeeded: finalHash &>> shift)
        while slots[index].lengthAndOffset != 0 {
            let slot = slots[index]
            if slot.prefix == finalPrefix && Int(slot.lengthAndOffset & 0xFF) == length {
                let other = spans[Int(slot.rank)]
                let otherOffset = Int(other &>> 8)
                let same = arena.withUnsafeBufferPointer { buffer in
                    (0..<length).allSatisfy { buffer[otherOffset + $0] == buffer[offset + $0] }
                }
                if same {
                    arena.removeLast(length + 8)
                    arena.append(contentsOf: repeatElement(0, count: 8))
                    throw .duplicateToken(rank: slot.rank, firstLine: Int(lines[Int(slot.rank)]))
                }
            }
            index = (index + 1) & (slotCount - 1)
        }
        slots[index] = .init(
            prefix: finalPrefix, rank: rank,
            lengthAndOffset: UInt32(length) | UInt32(offset) << 8)
        spans[Int(rank)] = UInt64(offset) << 8 | UInt64(length)
        lines[Int(rank)] = Int32(truncatingIfNeeded: line)
        added += 1
    }

    /// Bytes that have no single-byte token, in increasing order.
    func missingBytes() -> [UInt8] {
        var missing: [UInt8] = []
        for byte in 0...255 {
            if lookupBeforeFinish([UInt8(byte)]) == TokenTable.absent { missing.append(UInt8(byte)) }
        }
        return missing
    }

    private func lookupBeforeFinish(_ token: [UInt8]) -> UInt32 {
        var padded = [UInt8](repeating: 0, count: 16)
        padded.replaceSubrange(0..<token.count, with: token)
        return padded.withUnsafeBufferPointer { buffer in
            let p = buffer.baseAddress!
            let prefix = TokenTable.load8(p) & TokenTable.lowBytesMask(token.count)
            let shift = UInt64(64 - slotCount.trailingZeroBitCount)
            var index = Int(truncatingIfNeeded: TokenTable.hash(p, token.count) &>> shift)
            while slots[index].lengthAndOffset != 0 {
                let slot = slots[index]
                if slot.prefix == prefix && Int(slot.lengthAndOffset & 0xFF) == token.count {
                    return slot.rank
                }
                index = (index + 1) & (slotCount - 1)
            }
            return TokenTable.absent
        }
    }

    /// Hands the filled storage to a ``TokenTable``.
    ///
    /// - Precondition: every rank in `0 ..< expectedCount` was added and every byte has a token.
    consuming func finish() -> TokenTable {
        // The arena already ends in its 8 bytes of zero padding.
        let arenaPointer = UnsafeMutablePointer<UInt8>.allocate(capacity: arena.count)
        arena.withUnsafeBufferPointer { buffer in
            arenaPointer.initialize(from: buffer.baseAddress!, count: buffer.count)
        }
        let byteRanks = UnsafeMutablePointer<UInt32>.allocate(capacity: 256)
        for byte in 0...255 {
            byteRanks[byte] = lookupBeforeFinish([UInt8(byte)])
        }
        let pairRanks = UnsafeMutablePointer<UInt32>.allocate(capacity: 65536)
        pairRanks.initialize(repeating: TokenTable.absent, count: 65536)
        for rank in 0..<expectedCount {
            let span = spans[rank]
            if span & 0xFF == 2 {
                let offset = Int(span >> 8)
                pairRanks[Int(arena[offset]) << 8 | Int(arena[offset + 1])] = UInt32(rank)
            }
        }
        finished = true
        return TokenTable(
            slots: slots, slotCount: slotCount, arena: arenaPointer, spans: spans,
            count: expectedCount, byteRanks: byteRanks, pairRanks: pairRanks)
    }
}
