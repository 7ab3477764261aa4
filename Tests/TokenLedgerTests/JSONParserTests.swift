import Testing

@testable import TokenLedger

/// The strict JSON parser's container handling: empty containers, separators and the faults after
/// a member or an element, each named with its path, line and column. No server needed.
@Suite("JSON parser: objects and arrays")
struct JSONParserTests {
    static func message(_ text: String) -> String? {
        do {
            _ = try JSONParser.parseDocument(Array(text.utf8))
            return nil
        } catch {
            return error.message
        }
    }

    @Test("empty and nested containers parse, whitespace anywhere between tokens")
    func containers() throws {
        let value = try JSONParser.parseDocument(Array(#" { "a" : [ ] , "b" : { } , "c" : [ 1 , [ 2 ] , { "d" : null } ] } "#.utf8))
        #expect(value == .object(["a": .array([]), "b": .object([:]), "c": .array([.number(1), .array([.number(2)]), .object(["d": .null])])]))
        #expect(try JSONParser.parseDocument(Array("[]".utf8)) == .array([]))
        #expect(try JSONParser.parseDocument(Array("{}".utf8)) == .object([:]))
    }

    @Test("a fault after a member or an element names the expected separator, the path and the place")
    func separators() {
        #expect(Self.message(#"{"a":1 "b":2}"#) == "$: malformed JSON at line 1, column 8: unexpected '\"', expected ',' or '}'")
        #expect(Self.message("[1 2]") == "$: malformed JSON at line 1, column 4: unexpected '2', expected ',' or ']'")
        #expect(Self.message(#"{"a":[1,2}"#) == "$.a: malformed JSON at line 1, column 10: unexpected '}', expected ',' or ']'")
        #expect(Self.message(#"{"a":1"#) == "$: malformed JSON at line 1, column 7: unexpected end of input inside an object")
        #expect(Self.message("[1,\n2") == "$: malformed JSON at line 2, column 2: unexpected end of input inside an array")
        #expect(Self.message("[") == "$[0]: malformed JSON at line 1, column 2: unexpected end of input, expected a value")
        #expect(Self.message(String(repeating: "[", count: JSONParser.maxDepth + 1))?.hasSuffix("nesting deeper than 512 levels") == true)
        #expect(Self.message(String(repeating: "[", count: JSONParser.maxDepth) + String(repeating: "]", count: JSONParser.maxDepth)) == nil)
    }
}
