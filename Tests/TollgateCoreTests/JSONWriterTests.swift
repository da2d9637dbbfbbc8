import Foundation
import Testing
import TollgateCore

@Suite struct JSONWriterTests {
    @Test(arguments: [
        (0.0, "0"), (-0.0, "0"), (25, "25"), (-3, "-3"), (1.5, "1.5"), (0.1, "0.1"), (0.0015, "0.0015"),
        (1.5e-7, "1.5e-7"), (1e-7, "1e-7"), (1e-6, "0.000001"), (1.234e-6, "0.000001234"), (1e21, "1e+21"),
        (1e20, "100000000000000000000"), (123456789012345683968, "123456789012345680000"),
        (1.2345e21, "1.2345e+21"), (9007199254740992, "9007199254740992"), (1e15, "1000000000000000"),
        (1e16, "10000000000000000"), (0.000001, "0.000001"), (.leastNonzeroMagnitude, "5e-324"),
        (1.7976931348623157e308, "1.7976931348623157e+308"), (-1.5e-10, "-1.5e-10"), (100, "100"),
        (0.30000000000000004, "0.30000000000000004"), (123.456, "123.456"), (2.5e-5, "0.000025"),
        (1e100, "1e+100"), (-1e21, "-1e+21"), (4.35, "4.35"), (0.00015, "0.00015"),
    ] as [(Double, String)])
    func numbersAreWrittenAsJavaScriptWritesThem(_ value: Double, _ expected: String) {
        #expect(JSONValue.number(value).serializedString() == expected)
    }

    @Test func nonFiniteNumbersBecomeNull() {
        #expect(JSONValue.array([.number(.nan), .number(.infinity), .number(-.infinity)]).serializedString() == "[null,null,null]")
    }

    @Test func onlyQuotesBackslashesAndControlCharactersAreEscaped() {
        let value = JSONValue.string("a\"b\\c/d\u{8}\u{C}\n\r\t\u{0}\u{1F}\u{7F}é😀\u{2028}")
        #expect(value.serializedString() == #""a\"b\\c/d\b\f\n\r\t\u0000\u001f"# + "\u{7F}é😀\u{2028}\"")
    }

    @Test func outputIsCompact() {
        let value: JSONValue = ["a": [1, 2, ["b": nil]], "c": "d", "e": [], "f": [:]]
        #expect(value.serializedString() == #"{"a":[1,2,{"b":null}],"c":"d","e":[],"f":{}}"#)
    }

    @Test func trickyStringsFixtureRoundTripsToTheSameValue() throws {
        let value = try JSONParser.parse(Fixture.bytes("tricky-strings.json"))
        #expect(try JSONParser.parse(value.serialized()) == value)
        #expect(value[0]?.stringValue == "plain")
    }

    @Test(.enabled(if: NodeRunner.isAvailable))
    func outputEqualsNodesJSONStringifyOfTheParsedOutput() throws {
        var values = try JSONParser.parse(Fixture.bytes("tricky-strings.json")).arrayValue ?? []
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<3000 {
            values.append(.number(Double(bitPattern: generator.next())))
        }
        for exponent in -30...30 {
            values.append(.number(1.2345678 * pow(10, Double(exponent))))
            values.append(.number(pow(10, Double(exponent))))
            values.append(.number(-7 * pow(10, Double(exponent))))
        }
        for _ in 0..<500 {
            values.append(.number(Double(Int.random(in: -1_000_000...1_000_000)) / 1000))
        }
        for fixture in ["openai-chat.json", "anthropic-message.json", "openai-responses.json"] {
            values.append(try JSONParser.parse(Fixture.bytes(fixture)))
        }
        let ours = JSONValue.array(values).serialized()
        let theirs = try NodeRunner.stringifyParsed(ours)
        #expect(theirs == ours, "first difference at byte \(zip(ours, theirs).prefix { $0 == $1 }.count)")
    }
}

/// Runs Node to compare our output with `JSON.stringify(JSON.parse(...))`. Only tests use this.
enum NodeRunner {
    static let executable: URL? = {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/usr/local/bin"
        return path.split(separator: ":")
            .map { URL(fileURLWithPath: String($0)).appendingPathComponent("node") }
            .first { FileManager.default.isExecutableFile(atPath: $0.path) }
    }()

    static var isAvailable: Bool { executable != nil }

    static func stringifyParsed(_ bytes: [UInt8]) throws -> [UInt8] {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tollgate-node-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let input = directory.appendingPathComponent("in.json")
        let output = directory.appendingPathComponent("out.json")
        try Data(bytes).write(to: input)
        let process = Process()
        process.executableURL = executable
        process.arguments = [
            "-e",
            "const fs=require('fs');fs.writeFileSync(process.argv[2],JSON.stringify(JSON.parse(fs.readFileSync(process.argv[1],'utf8'))))",
            input.path, output.path,
        ]
        try process.run()
        process.waitUntilExit()
        return Array(try Data(contentsOf: output))
    }
}
