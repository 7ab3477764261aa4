/// Byte comparison whose time does not depend on where two values differ, for secrets' hashes.
enum ConstantTimeComparison {
    /// Whether `a` and `b` hold the same bytes, looking at every byte whatever it finds: the XOR of
    /// each pair is accumulated and tested once at the end, so an attacker timing the comparison
    /// learns nothing of how many leading bytes matched. Values of different lengths are unequal
    /// at once (the length of a hash is no secret).
    @inline(never)
    static func equal(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for index in a.indices {
            difference |= a[index] ^ b[index]
        }
        return difference == 0
    }
}
