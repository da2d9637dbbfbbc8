import Testing
import TollgateCore

@Suite struct JSONParserTests {
    @Test func objectsKeepTheProvidersMemberOrder() throws {
        let value = try JSONValue.parse(#"{"z":1,"a":{"y":true,"b":null},"m":[1,"two",false]}"#)
        #expect(value.objectValue?.map(\.0) == ["z", "a", "m"])
        #expect(value["a"]?.objectValue?.map(\.0) == ["y", "b"])
        #expect(value["m"]?[1]?.stringValue == "two")
        #expect(value.serializedString() == #"{"z":1,"a":{"y":true,"b":null},"m":[1,"two",false]}"#)
    }

    @Test func objectsWithDifferentOrderAreNotEqual() throws {
        #expect(try JSONValue.parse(#"{"a":1,"b":2}"#) != JSONValue.parse(#"{"b":2,"a":1}"#))
        #expect(try JSONValue.parse(#"{"a":1,"b":[2]}"#) == JSONValue.parse(#" { "a" : 1 , "b" : [ 2 ] } "#))
    }

    @Test func duplicateKeysAreKeptAndTheFirstOneIsLookedUp() throws {
        let value = try JSONValue.parse(#"{"k":1,"k":2}"#)
        #expect(value["k"]?.intValue == 1)
        #expect(value.serializedString() == #"{"k":1,"k":2}"#)
    }

    @Test func unicodeEscapesDecodeIncludingSurrogatePairs() throws {
        let value = try JSONValue.parse(#""caf\u00e9 \ud83d\ude00 \u2028 \/ \"q\" \\ \b\f\n\r\t""#)
        #expect(value.stringValue == "café 😀 \u{2028} / \"q\" \\ \u{8}\u{C}\n\r\t")
    }

    @Test func loneSurrogateEscapesBecomeReplacementCharacters() throws {
        #expect(try JSONValue.parse(#""a\ud800b""#).stringValue == "a\u{FFFD}b")
        #expect(try JSONValue.parse(#""\udc00""#).stringValue == "\u{FFFD}")
        #expect(try JSONValue.parse(#""\ud800\u0041""#).stringValue == "\u{FFFD}A")
    }

    @Test func rawUTF8IsKept() throws {
        #expect(try JSONValue.parse("\"日本語 😀\"").stringValue == "日本語 😀")
    }

    @Test func numbersParseAsJavaScriptWould() throws {
        let cases: [(String, Double)] = [
            ("0", 0), ("-0", -0.0), ("25", 25), ("-3", -3), ("1.5", 1.5), ("1e3", 1000), ("1E-2", 0.01),
            ("2.5e+2", 250), ("123456789012345678901234567890", 1.2345678901234568e29),
            ("9007199254740993", 9007199254740992), ("0.1", 0.1), ("1e400", .infinity), ("5e-324", .leastNonzeroMagnitude),
        ]
        for (text, expected) in cases {
            #expect(try JSONValue.parse(text).doubleValue == expected, "\(text)")
        }
        #expect(try JSONValue.parse("-0").doubleValue?.sign == .minus)
    }

    @Test func intValueOnlyForWholeNumbers() throws {
        #expect(try JSONValue.parse("42").intValue == 42)
        #expect(try JSONValue.parse("42.0").intValue == 42)
        #expect(try JSONValue.parse("42.5").intValue == nil)
        #expect(try JSONValue.parse("\"42\"").intValue == nil)
    }

    @Test(arguments: [
        "", " ", "{", "[1,]", "{\"a\":1,}", "{\"a\" 1}", "{a:1}", "[1 2]", "01", "1.", ".5", "+1", "-", "1e",
        "1e+", "0x10", "NaN", "Infinity", "'a'", "\"abc", "\"a\u{1}b\"", "\"a\nb\"", #""\x""#, #""\u12""#,
        #""\u12g4""#, "tru", "nul", "truex", "[1] 2", "{} {}", "\"a\" x", "[", "]",
    ])
    func malformedJSONIsRejected(_ text: String) {
        #expect(throws: JSONParseError.self) { try JSONValue.parse(text) }
    }

    @Test func errorsSayWhereTheyHappened() {
        do {
            _ = try JSONValue.parse("[1,2,x]")
            Issue.record("expected an error")
        } catch {
            #expect(error.offset == 5)
            #expect(error.description.contains("byte 5"))
        }
    }

    @Test func absurdNestingIsRefusedInsteadOfCrashing() {
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        #expect(throws: JSONParseError.self) { try JSONValue.parse(deep) }
        let ok = String(repeating: "[", count: 500) + String(repeating: "]", count: 500)
        #expect(throws: Never.self) { try JSONValue.parse(ok) }
    }

    @Test func surroundingWhitespaceIsAllowed() throws {
        #expect(try JSONValue.parse(" \t\r\n{\"a\":[ ]} \n") == ["a": []])
    }

    @Test func nonContiguousCollectionsParse() throws {
        let bytes = "[1,{\"b\":\"c\"}]".utf8.reversed().reversed()
        #expect(try JSONParser.parse(bytes) == [1, ["b": "c"]])
    }

    @Test func setReplacesInPlaceOrAppends() {
        var value: JSONValue = ["a": 1, "b": 2]
        value.set("a", "x")
        value.set("c", true)
        #expect(value.serializedString() == #"{"a":"x","b":2,"c":true}"#)
    }
}
