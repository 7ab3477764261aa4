import Foundation
import Testing

@testable import TokenLedger

@Suite("Call fingerprints")
struct CallFingerprintTests {
    /// SHA-256 test vectors (FIPS 180-2): "abc" and "".
    @Test(
        "a call id's fingerprint is bytes 1…12 of its SHA-256, in the bucket its first byte picks",
        arguments: [
            ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
            ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        ])
    func layout(callID: String, digestHex: String) {
        var digest: [UInt8] = []
        var index = digestHex.startIndex
        while index < digestHex.endIndex {
            let next = digestHex.index(index, offsetBy: 2)
            digest.append(UInt8(digestHex[index..<next], radix: 16)!)
            index = next
        }
        let fingerprint = CallFingerprint(callID: callID)
        #expect(fingerprint.field == Array(digest[1...12]))
        #expect(fingerprint.field.count == CallFingerprint.fieldBytes)
        #expect(fingerprint.bucket == Int(digest[0]) % CallFingerprint.bucketCount)
        #expect(fingerprint == CallFingerprint(callID: callID))
    }

    @Test("bucket keys: two hex digits after the cycle, all 32 of a cycle in the user's hash tag")
    func bucketKeys() throws {
        let user = try LedgerKeys(namespace: "tl").user("alice")
        let cycle = try CalendarDate(parsing: "2026-11-01")
        #expect(user.callBucket(named: "2026-11-01", bucket: 0) == "tl:{alice}:calls:2026-11-01:00")
        #expect(user.callBucket(named: "2026-11-01", bucket: 31) == "tl:{alice}:calls:2026-11-01:1f")
        let all = user.callBuckets(cycle)
        #expect(all.count == 32 && Set(all).count == 32)
        #expect(all.allSatisfy { $0.hasPrefix("tl:{alice}:calls:2026-11-01:") })
        let fingerprint = CallFingerprint(callID: "c1")
        #expect(all[fingerprint.bucket] == user.callBucket(named: "2026-11-01", fingerprint: fingerprint))
    }

    @Test("reserve and the legacy import hash the call id once: one fingerprint gives the bucket key and the field")
    func scriptsHashOnce() throws {
        let user = try LedgerKeys(namespace: "tl").user("alice")
        let cycle = try CalendarDate(parsing: "2026-11-01")
        // A fingerprint the caller already has is the one used, for the key and the argument alike.
        let given = CallFingerprint(callID: "computed-before")
        let reserve = ReserveScript(
            userKeys: user, cycle: cycle, carried: [], assumedPolicy: "", callID: "c1", tokens: 5,
            ttlMilliseconds: 1000, defaultLimit: nil, fingerprint: given)
        #expect(reserve.fingerprint == given)
        #expect(reserve.keys[2] as? String == user.callBucket(named: "2026-11-01", fingerprint: given))
        #expect(reserve.arguments[11] as? [UInt8] == given.field)
        let own = ReserveScript(
            userKeys: user, cycle: cycle, carried: [], assumedPolicy: "", callID: "c1", tokens: 5,
            ttlMilliseconds: 1000, defaultLimit: nil)
        #expect(own.fingerprint == CallFingerprint(callID: "c1"))
        // The legacy import's call id is `legacy:<date>`, hashed when the call is made.
        let legacy = LegacyImportScript(userKeys: user, cycle: cycle, input: 1, output: 2, limit: nil)
        let expected = CallFingerprint(callID: "legacy:2026-11-01")
        #expect(legacy.fingerprint == expected && legacy.callID == "legacy:2026-11-01")
        #expect(legacy.keys[2] as? String == user.callBucket(named: "2026-11-01", fingerprint: expected))
        #expect(legacy.arguments[9] as? [UInt8] == expected.field)
    }

    @Test("10,000 call ids spread over the 32 buckets within a few percent of even")
    func spread() {
        var counts = [Int](repeating: 0, count: CallFingerprint.bucketCount)
        for index in 0..<10_000 { counts[CallFingerprint(callID: "call-\(index)").bucket] += 1 }
        // 312.5 expected per bucket; a uniform hash stays well inside 200…450.
        #expect(counts.allSatisfy { (200...450).contains($0) }, "\(counts)")
    }
}
