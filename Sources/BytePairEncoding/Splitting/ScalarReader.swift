/// Reads scalars and their ``ScalarClass`` flags out of valid UTF-8.
///
/// The scanners read only whole scalars before the end they are given; the rank lookups of the
/// encoder need the text padded with at least 8 readable bytes.
@usableFromInline
struct ScalarReader {
    /// The text: valid UTF-8.
    @usableFromInline let base: UnsafePointer<UInt8>
    @usableFromInline let stage1: UnsafePointer<UInt32>
    @usableFromInline let blocks: UnsafePointer<UInt8>

    init(base: UnsafePointer<UInt8>, classes: ScalarClassTable) {
        self.base = base
        self.stage1 = UnsafePointer(classes.stage1)
        self.blocks = UnsafePointer(classes.blocks)
    }

    /// The flags and UTF-8 length of the scalar starting at byte `index`.
    @inline(__always)
    func scalar(at index: Int) -> (flags: UInt8, length: Int) {
        let (_, flags, length) = decode(at: index)
        return (flags, length)
    }

    /// The value, flags and UTF-8 length of the scalar starting at byte `index`.
    @inlinable @inline(__always)
    func decode(at index: Int) -> (value: UInt32, flags: UInt8, length: Int) {
        let lead = UInt32(base[index])
        if lead < 0x80 {
            // Block 0 is stored first, so ASCII flags are at `blocks[lead]`.
            return (lead, blocks[Int(lead)], 1)
        }
        let value: UInt32
        let length: Int
        if lead < 0xE0 {
            value = (lead & 0x1F) &<< 6 | (UInt32(base[index &+ 1]) & 0x3F)
            length = 2
        } else if lead < 0xF0 {
            value =
                (lead & 0x0F) &<< 12 | (UInt32(base[index &+ 1]) & 0x3F) &<< 6
                | (UInt32(base[index &+ 2]) & 0x3F)
            length = 3
        } else {
            value =
                (lead & 0x07) &<< 18 | (UInt32(base[index &+ 1]) & 0x3F) &<< 12
                | (UInt32(base[index &+ 2]) & 0x3F) &<< 6 | (UInt32(base[index &+ 3]) & 0x3F)
            length = 4
        }
        return (value, blocks[Int(stage1[Int(value &>> 8)]) &+ Int(value & 0xFF)], length)
    }

    /// The end of the run of scalars, from `index`, that have any of `flags`.
    @inline(__always)
    func run(from index: Int, to end: Int, having flags: UInt8) -> Int {
        var cursor = index
        while cursor < end {
            let (found, length) = scalar(at: cursor)
            if found & flags == 0 { break }
            cursor &+= length
        }
        return cursor
    }

    /// The end of `(?i:'s|'t|'re|'ve|'m|'ll|'d)` at `index`, or `index` when it does not match.
    ///
    /// Case-insensitive as Rust's regex is: Unicode simple case folding adds only U+017F `ſ`
    /// (which folds to `s`) to the ASCII letters involved.
    @inline(__always)
    func contraction(at index: Int, end: Int) -> Int {
        guard index &+ 1 < end, base[index] == UInt8(ascii: "'") else { return index }
        let first = base[index &+ 1]
        switch first | 0x20 {
        case UInt8(ascii: "s"), UInt8(ascii: "t"), UInt8(ascii: "m"), UInt8(ascii: "d"):
            return index &+ 2
        case UInt8(ascii: "r"), UInt8(ascii: "v"):
            if index &+ 2 < end && base[index &+ 2] | 0x20 == UInt8(ascii: "e") { return index &+ 3 }
            return index
        case UInt8(ascii: "l"):
            if index &+ 2 < end && base[index &+ 2] | 0x20 == UInt8(ascii: "l") { return index &+ 3 }
            return index
        default:
            // U+017F LATIN SMALL LETTER LONG S, UTF-8 C5 BF.
            if first == 0xC5 && index &+ 2 < end && base[index &+ 2] == 0xBF { return index &+ 3 }
            return index
        }
    }
}
