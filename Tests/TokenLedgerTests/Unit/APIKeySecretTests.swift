import Foundation
import Testing

@testable import TokenLedger

@Suite("API key secrets: shape, parsing, hashing and the constant-time comparison (no server)")
struct APIKeySecretTests {
    @Test("a new secret is tl_ + 16 lowercase hex + _ + 43 base64url characters, parses back to its key id")
    func generatedShape() throws {
        var seen = Set<String>()
        for _ in 0..<200 {
            let secret = APIKeySecret.generate()
            let bytes = Array(secret.text.utf8)
            #expect(bytes.count == 63)
            #expect(secret.text.hasPrefix("tl_" + secret.keyID + "_"))
            #expect(secret.keyID.utf8.count == 16 && secret.keyID.utf8.allSatisfy(APIKeySecret.isLowercaseHex))
            #expect(bytes[20...].allSatisfy(APIKeySecret.isBase64URL), "\(secret.text)")
            let parsed = try #require(APIKeySecret(parsing: secret.text))
            #expect(parsed == secret)
            seen.insert(secret.keyID)
            seen.insert(secret.text)
        }
        #expect(seen.count == 400, "key ids and secrets are random, never repeated")
    }

    @Test("the random part is 32 bytes in base64url without padding (RFC 4648 §5)")
    func base64URL() {
        #expect(APIKeySecret.base64URL([0xFB, 0xFF, 0xBF]) == "-_-_")
        #expect(APIKeySecret.base64URL([0x00]) == "AA")
        #expect(APIKeySecret.base64URL(Array(repeating: 0xFF, count: 32)).utf8.count == 43)
        #expect(APIKeySecret.hex([0x00, 0x0F, 0xA0, 0xFF]) == "000fa0ff")
    }

    @Test(
        "malformed secrets are refused without Redis",
        arguments: [
            "", "tl_", "Bearer x", "tl_0123456789abcdef", "tl_0123456789abcdef_",
            // One character short, one too many.
            "tl_0123456789abcdef_" + String(repeating: "A", count: 42),
            "tl_0123456789abcdef_" + String(repeating: "A", count: 44),
            // Upper-case hex, a non-hex id, a wrong prefix, a wrong separator.
            "tl_0123456789ABCDEF_" + String(repeating: "A", count: 43),
            "tl_0123456789abcdeg_" + String(repeating: "A", count: 43),
            "TL_0123456789abcdef_" + String(repeating: "A", count: 43),
            "tk_0123456789abcdef_" + String(repeating: "A", count: 43),
            "tl_0123456789abcdef-" + String(repeating: "A", count: 43),
            // Characters outside base64url: padding, '+', '/', a space, a non-ASCII letter.
            "tl_0123456789abcdef_" + String(repeating: "A", count: 42) + "=",
            "tl_0123456789abcdef_" + String(repeating: "A", count: 42) + "+",
            "tl_0123456789abcdef_" + String(repeating: "A", count: 42) + "/",
            "tl_0123456789abcdef_" + String(repeating: "A", count: 42) + " ",
            "tl_0123456789abcdef_" + String(repeating: "A", count: 41) + "é",
            "\u{0}tl_0123456789abcdef_" + String(repeating: "A", count: 42),
        ])
    func malformed(_ text: String) {
        #expect(APIKeySecret(parsing: text) == nil, "\(text.debugDescription)")
    }

    @Test("a well-formed secret parses to its id, whatever its random part")
    func wellFormed() throws {
        let text = "tl_0123456789abcdef_" + String(repeating: "-", count: 21) + String(repeating: "_", count: 22)
        #expect(try #require(APIKeySecret(parsing: text)).keyID == "0123456789abcdef")
    }

    @Test("the stored hash is the SHA-256 of the whole secret in lowercase hex, and it matches only that secret")
    func hashing() throws {
        let text = "tl_0123456789abcdef_" + String(repeating: "A", count: 43)
        let secret = try #require(APIKeySecret(parsing: text))
        // sha256 of the 63 ASCII bytes, computed independently (python3 hashlib).
        #expect(secret.sha256 == "3c4afcf2345f7e02c125176b6a591415160621f736ab30b04d20616bf07f1070")
        #expect(secret.matches(sha256: secret.sha256))
        let other = try #require(
            APIKeySecret(parsing: "tl_0123456789abcdef_" + String(repeating: "A", count: 42) + "B"))
        #expect(!other.matches(sha256: secret.sha256))
        #expect(!secret.matches(sha256: String(secret.sha256.dropLast())))
        #expect(!secret.matches(sha256: ""))
    }

    @Test(
        "the constant-time comparison: equal only for the same bytes, wherever they differ, and never for other lengths"
    )
    func constantTimeComparison() {
        let a = Array(APIKeySecret.generate().sha256.utf8)
        #expect(ConstantTimeComparison.equal(a, a))
        #expect(ConstantTimeComparison.equal([], []))
        for index in a.indices {
            var b = a
            b[index] ^= 0x01
            #expect(!ConstantTimeComparison.equal(a, b), "differs at \(index)")
            b[index] ^= 0x81
            #expect(!ConstantTimeComparison.equal(a, b), "differs at \(index) in the high bit")
        }
        #expect(!ConstantTimeComparison.equal(a, Array(a.dropLast())))
        #expect(!ConstantTimeComparison.equal(a, a + [0]))
        #expect(!ConstantTimeComparison.equal([], [0]))
    }

    @Test("roles: admin permits everything, app and read only themselves")
    func roles() {
        for required in APIKeyRole.allCases { #expect(APIKeyRole.admin.permits(required)) }
        #expect(APIKeyRole.app.permits(.app) && !APIKeyRole.app.permits(.read) && !APIKeyRole.app.permits(.admin))
        #expect(APIKeyRole.read.permits(.read) && !APIKeyRole.read.permits(.app) && !APIKeyRole.read.permits(.admin))
        #expect(APIKeyRole.allCases.map(\.rawValue) == ["app", "read", "admin"])
    }

    @Test("key names: 1-64 bytes of A-Z a-z 0-9 _ . -, else invalid_key_name naming the field")
    func names() throws {
        for name in ["a", "billing-service", "svc_1.prod", String(repeating: "x", count: 64)] {
            try APIKeyStore.validateName(name)
        }
        for name in ["", String(repeating: "x", count: 65), "has space", "a:b", "{global}", "naïve", "a/b", "tab\t"] {
            #expect {
                try APIKeyStore.validateName(name)
            } throws: { error in
                let error = error as? ValidationError
                return error?.code == .invalidKeyName && error?.field == "name"
                    && error?.message.hasPrefix("name ") == true
            }
        }
    }

    @Test("JSON: a key is {created_at,name,role}; a created key's description and mirror hide the secret")
    func encodingAndRedaction() throws {
        let key = APIKey(name: "svc", role: .read, createdAt: "2026-11-28T18:00:00Z")
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        #expect(
            String(decoding: try encoder.encode(key), as: UTF8.self)
                == #"{"created_at":"2026-11-28T18:00:00Z","name":"svc","role":"read"}"#)
        #expect(try JSONDecoder().decode(APIKey.self, from: try encoder.encode(key)) == key)
        let created = CreatedAPIKey(key: key, secret: APIKeySecret.generate().text)
        #expect(!created.description.contains(created.secret) && created.description.contains("svc"))
        #expect(!String(reflecting: created).contains(created.secret))
        var dumped = ""
        dump(created, to: &dumped)
        #expect(!dumped.contains(created.secret) && dumped.contains("svc"))
    }

    @Test(
        "a stored record is sorted JSON holding the hash, never the secret; a record another program wrote is corrupt data"
    )
    func records() throws {
        let secret = APIKeySecret.generate()
        let record = APIKeyRecord(name: "svc", role: .app, createdAt: "2026-11-28T18:00:00Z", sha256: secret.sha256)
        let text = record.encoded()
        #expect(
            text == #"{"created_at":"2026-11-28T18:00:00Z","name":"svc","role":"app","sha256":""# + secret.sha256
                + #""}"#)
        #expect(!text.contains(secret.text))
        #expect(try APIKeyRecord(decoding: text, keyID: secret.keyID, in: "tl:{global}:apikeys") == record)
        for bad in [
            "", "{}", "not json", #"{"created_at":"x","name":"svc","role":"owner","sha256":"\#(secret.sha256)"}"#,
            #"{"created_at":"x","name":"svc","role":"app","sha256":"abc"}"#,
            #"{"created_at":"x","name":"bad name","role":"app","sha256":"\#(secret.sha256)"}"#,
        ] {
            #expect {
                _ = try APIKeyRecord(decoding: bad, keyID: "00ff", in: "tl:{global}:apikeys")
            } throws: { error in
                let error = error as? LedgerError
                return error?.code == .corruptData && error?.message.contains("tl:{global}:apikeys field 00ff") == true
            }
        }
    }
}
