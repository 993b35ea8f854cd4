import ArgumentParser
import Foundation
import Logging
import PhoneShift

/// `phoneshift demo`: the whole job against the bundled Graph emulator, start to finish.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Start graph-emulator on a free loopback port, run Jobs/demo.yaml through validate → plan → apply, show the results.")

    @Option(help: "The demo job file.")
    var job: String = "Jobs/demo.yaml"

    @Option(help: "The emulator's seed directory.")
    var directory: String = "Samples/directory.json"

    @OptionGroup var logging: LoggingOptions

    func run() async throws {
        let logger = logging.makeLogger("phoneshift.demo")
        var definition = try JobDefinition.load(path: job)
        guard let secretVariable = definition.tenant.secretEnvironment else {
            throw PhoneShiftError(.badSetting, "\(job): the demo job takes its secret from an environment variable (tenant.clientSecret.env)")
        }
        // The demo's own throwaway secret, shared with the emulator it starts; not a real credential.
        let demoSecret = "demo-" + UUID().uuidString
        let emulator = try startEmulator(secret: demoSecret)
        defer {
            emulator.process.terminate()
            emulator.process.waitUntilExit()
        }
        print("Graph emulator: \(emulator.baseURL) (seeded from \(directory))")
        definition.tenant.authority = emulator.baseURL
        definition.tenant.graph = emulator.baseURL + "/v1.0"
        var environment = ProcessInfo.processInfo.environment
        environment[secretVariable] = demoSecret
        // A demo starts from scratch: forget the previous demo's store.
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: definition.store + suffix) }

        // 1. Validate.
        print("\n== 1. validate \(definition.sheet.path)")
        let summary = try SheetValidator(options: try definition.validationOptions(), logger: logger).validate(path: definition.sheet.path)
        print(summary.render(problemsShown: 5), terminator: "")

        // 2. Plan.
        print("\n== 2. plan (read-only against Graph)")
        let session = try JobSession(job: definition, logger: logger, environment: environment)
        defer { session.close() }
        try lockJob(session.store, command: "demo", force: false)
        defer { try? session.store.releaseLock() }
        let planRun = try session.store.startRun(plan: nil, command: "plan", settings: session.runSettings)
        let plan = try await Planner(job: definition, client: session.client, store: session.store, logger: logger).plan()
        try session.store.setMeta("job_file", URL(fileURLWithPath: definition.jobFile).standardizedFileURL.path)
        try session.store.finishRun(planRun, status: "planned")
        printPlan(plan, limit: 8)

        // 3. Apply.
        print("\n== 3. apply")
        let run = try session.store.startRun(plan: plan.planId, command: "apply", settings: session.runSettings)
        let executor = Executor(client: session.client, store: session.store, plan: plan.planId, run: run,
                                concurrency: definition.rate.concurrency, logger: logger)
        let result = try await executor.apply(total: plan.changes)
        try session.store.finishRun(run, status: "finished")
        let progress = try session.store.progress(plan: plan.planId)
        print(String(format: "  %d rows in %.1f s (%.1f rows/s), %d answered 429", result.processed, result.elapsed,
                     Double(result.processed) / max(result.elapsed, 0.001), result.throttled))
        print("  outcomes: " + progress.byOutcome.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: "  "))
        let results = try session.writeResults(plan: plan.planId)
        print("\nResults:   \(results)")
        print("Job store: \(definition.store)  (phoneshift status \(definition.store))")
    }

    struct Emulator {
        let process: Process
        let baseURL: String
    }

    private func startEmulator(secret: String) throws -> Emulator {
        let executable = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
            .appendingPathComponent("graph-emulator").path
        guard FileManager.default.isExecutableFile(atPath: executable) else {
            throw PhoneShiftError(.badSetting, "graph-emulator is not built next to phoneshift (\(executable)); run: swift build -c release")
        }
        guard FileManager.default.fileExists(atPath: directory) else {
            throw PhoneShiftError(.unreadableFile, "no seed directory at '\(directory)' (run the demo from the project folder)")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = ["--port", "0", "--directory", directory]
        var environment = ProcessInfo.processInfo.environment
        environment["GRAPH_EMULATOR_CLIENT_SECRET"] = secret
        process.environment = environment
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        var data = Data()
        while !data.contains(0x0A) {
            let chunk = output.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            data.append(chunk)
        }
        let line = String(decoding: data, as: UTF8.self).split(separator: "\n").first.map(String.init) ?? ""
        guard line.hasPrefix("http://") else {
            process.terminate()
            throw PhoneShiftError(.badSetting, "graph-emulator did not start")
        }
        return Emulator(process: process, baseURL: line)
    }
}
