import Foundation

/// Runs a receiver-side script (Node, Python) the way a webhook receiver would, for tests that
/// check our bytes against real verifiers. Only tests use this.
enum ScriptRunner {
    /// The Python that has `standardwebhooks`: the repo's `.venv` first, then `python3` on PATH.
    static let pythonWithStandardWebhooks: URL? = {
        let repo = URL(fileURLWithPath: #filePath).resolvingSymlinksInPath().deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        let candidates = [repo.appendingPathComponent(".venv/bin/python")] + onPath("python3")
        return candidates.first { url in
            FileManager.default.isExecutableFile(atPath: url.path)
                && (try? run(url, ["-c", "import standardwebhooks"]))?.status == 0
        }
    }()

    static func onPath(_ name: String) -> [URL] {
        (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/usr/local/bin").split(separator: ":")
            .map { URL(fileURLWithPath: String($0)).appendingPathComponent(name) }
    }

    /// Runs `executable` with `arguments` and returns its exit status and standard output.
    static func run(_ executable: URL, _ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    /// Writes `bytes` to a temporary file, passes its path to `body`, and removes it afterwards.
    static func withTemporaryFile<T>(_ bytes: [UInt8], _ body: (String) throws -> T) throws -> T {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("tollgate-webhook-\(UUID().uuidString)")
        try Data(bytes).write(to: url)
        defer { try? FileManager.default.removeItem(at: url) }
        return try body(url.path)
    }
}
