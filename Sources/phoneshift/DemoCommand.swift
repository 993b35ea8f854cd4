import ArgumentParser
import Foundation
import Logging
import PhoneShift

/// `phoneshift demo`: the whole job against the bundled Graph emulator, start to finish,
/// through the same runner (lock, checks, results) as plan and apply.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Start graph-emulator on a free loopback port, run Jobs/demo.yaml through validate → plan → apply, show the results.")

    @Option(help: "The demo job file.")
    var job: String = "Jobs/demo.yaml"

    @Option(help: "The emulator's seed directory.")
    var directory: String = "Samples/directory.json"

    @OptionGroup var display: OutputOptions

    /// Where an installed package keeps the demo's job and seed (`/usr/share/phoneshift/demo`),
    /// beside the binary's `bin` folder.
    static var installedDemo: String {
        URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
            .appendingPathComponent("../share/phoneshift/demo").standardizedFileURL.path
    }

    func run() async throws {
        _ = display.activate()
        let logger = Console.current.makeLogger("phoneshift.demo")
        // Outside the project folder (an installed package), the installed demo is run, and its
        // outputs go to ./phoneshift-demo (the installed files are never written).
        var job = self.job, directory = self.directory, installed = false
        if job == "Jobs/demo.yaml", !FileManager.default.fileExists(atPath: job),
           FileManager.default.fileExists(atPath: Self.installedDemo + "/Jobs/demo.yaml") {
            job = Self.installedDemo + "/Jobs/demo.yaml"
            if directory == "Samples/directory.json" { directory = Self.installedDemo + "/Samples/directory.json" }
            installed = true
        }
        var definition = try JobDefinition.load(path: job)
        if installed {
            let out = FileManager.default.currentDirectoryPath + "/phoneshift-demo"
            definition.outputs = out
            definition.store = out + "/demo.sqlite"
            say("Running the installed demo (\(job)); its outputs go to \(out)")
        }
        guard let secretVariable = definition.tenant.secretEnvironment else {
            throw PhoneShiftError(.badSetting, "\(job): the demo job takes its secret from an environment variable (tenant.clientSecret.env)")
        }
        // A demo starts from scratch, but only ever deletes a store that a demo made.
        try await DemoStore.reset(definition.store)
        // The demo's own throwaway secret, shared with the emulator it starts; not a real credential.
        let demoSecret = "demo-" + UUID().uuidString
        let emulator = try startEmulator(secret: demoSecret, directory: directory)
        defer {
            emulator.process.terminate()
            emulator.process.waitUntilExit()
        }
        say("Graph emulator: \(emulator.baseURL) (seeded from \(directory))")
        definition.tenant.authority = emulator.baseURL
        definition.tenant.graph = emulator.baseURL + "/v1.0"
        var environment = ProcessInfo.processInfo.environment
        environment[secretVariable] = demoSecret
        let runner = JobRunner(job: definition, logger: logger, environment: environment)

        say("\n== 1. validate \(definition.sheet.path)")
        let options = try definition.validationOptions()
        let sheet = definition.sheet.path
        let summary = try await DemoStore.validate(sheet, options: options, logger: logger)
        say(summary.render(problemsShown: 5))

        say("\n== 2. plan (read-only against Graph)")
        try await DemoStore.create(definition.store)
        let plan = try await withInterruptibleTask { try await runner.plan(notice: { notice($0) }) }
        printPlan(plan.result, limit: 8)
        if let tripped = plan.valveTripped { throw tripped }

        say("\n== 3. apply")
        let outcome = try await withInterruptibleTask { try await runner.apply(notice: { notice($0) }) }
        printApplyOutcome(outcome)
        say("Job store: \(definition.store)  (phoneshift status \(definition.store))")
        say("\n== 4. report")
        say("The run's report: \(outcome.reports.csv) and \(outcome.reports.json)")
        say("Open in a browser: file://\(outcome.reports.html)")
        if let drafts = outcome.drafts {
            // (apply's summary above already counted them)
            say("\n== 5. notification drafts")
            say("Open them in a mail client (nothing was sent): \(drafts.folder)  — one .eml per user, and \(drafts.summary)")
        }
        say("\n== 6. readiness for the end of SMS and voice (read-only)")
        let session = try JobSession(job: definition, logger: logger, environment: environment)
        defer { session.close() }
        let readiness = try await ReadinessScan(session: session, logger: logger)
            .run(.init(output: definition.outputs + "/readiness.csv"))
        say("\(readiness.total) users: " + ReadinessClass.allCases.map { "\($0.rawValue) \(readiness.counts[$0] ?? 0)" }.joined(separator: ", ")
            + " (\(readiness.source == .registrationReport ? "registration report" : "per-user reads: \(readiness.sourceNote)"))")
        say("Open in a browser: file://\(readiness.html)  (every user in \(readiness.csv))")
        if outcome.exitStatus() != 0 { throw ExitCode(outcome.exitStatus()) }
    }

    struct Emulator {
        let process: Process
        let baseURL: String
    }

    private func startEmulator(secret: String, directory: String) throws -> Emulator {
        // Next to phoneshift (a build), or in ../lib/phoneshift (the Debian package).
        let bin = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
        let executable = [bin.appendingPathComponent("graph-emulator").path,
                          bin.appendingPathComponent("../lib/phoneshift/graph-emulator").standardizedFileURL.path]
            .first { FileManager.default.isExecutableFile(atPath: $0) } ?? bin.appendingPathComponent("graph-emulator").path
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
