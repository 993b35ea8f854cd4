import ArgumentParser
import Foundation
import PhoneShift

struct InitCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Write a commented job file from a sheet, optionally a key and certificate, and print how to register the app.",
        discussion: """
            The sheet's columns are detected as validate detects them and written into the job \
            (shown, and confirmed on a terminal). --use chooses safe defaults: migration (plan, \
            review, apply), nightly (an unattended run: tight valves, delta reads, a certificate) \
            or readiness (read-only). With --certificate, an RSA key and a self-signed \
            certificate are made beside the job (owner-only; the thumbprint is printed). The \
            registration steps printed name the least-privilege application permissions the \
            job's commands need, as Azure CLI and Microsoft Graph PowerShell commands for the \
            job's cloud. Nothing is sent anywhere. Then: phoneshift doctor JOB.

            """ + ExitStatus.table)

    @Argument(help: "The sheet the job will read (CSV or .xlsx); its columns are detected. Leave out to fill them in later.")
    var sheet: String?

    @Option(name: [.short, .long], help: "The job file to write (default: phoneshift-job.yaml).")
    var output: String = "phoneshift-job.yaml"

    @Option(help: "What the job is for: migration, nightly or readiness.")
    var use: String?

    @Option(help: "The job's name (default: the job file's name).")
    var name: String?

    @Option(help: "The country of national numbers on rows without one (US, GB, DE, …).")
    var region: String?

    @Option(help: "Which phone the sheet sets: mobile, alternateMobile or office.")
    var phoneType: PhoneType = .mobile

    @Option(help: "The user column, when detection picks the wrong one.")
    var userColumn: String?

    @Option(help: "The phone column, when detection picks the wrong one.")
    var phoneColumn: String?

    @Option(help: "The tenant's id (a GUID).")
    var tenantId: String?

    @Option(help: "The app's client id (a GUID), when it is registered already.")
    var clientId: String?

    @Option(help: "The cloud: global, usgov (GCC High), usgovdod or china.")
    var cloud: String = "global"

    @Option(help: "The token endpoint's host, when not the cloud's (the bundled emulator).")
    var authority: String?

    @Option(help: "Graph's base URL, when not the cloud's (the bundled emulator).")
    var graph: String?

    @Option(help: "The environment variable the client secret will be in (without --certificate).")
    var secretEnv: String = "PHONESHIFT_CLIENT_SECRET"

    @Flag(help: "Make an RSA key and a self-signed certificate for the app (NAME.key, NAME.crt beside the job).")
    var certificate = false

    @Option(help: "Days the certificate is valid.")
    var certificateDays: Int = 365

    @Flag(help: "Replace a job file (or key and certificate) that is there already.")
    var force = false

    @Flag(help: "Do not ask anything, even on a terminal (automation).")
    var yes = false

    @OptionGroup var display: OutputOptions

    func validate() throws {
        if let use, JobUse(rawValue: use) == nil {
            throw ValidationError("--use must be migration, nightly or readiness, not '\(use)'")
        }
        if !(1...3650).contains(certificateDays) { throw ValidationError("--certificate-days must be from 1 to 3650") }
    }

    func run() async throws {
        _ = display.activate()
        guard let chosenCloud = GraphCloud(rawValue: cloud.lowercased()) else {
            throw PhoneShiftError(.badSetting, "--cloud must be global, usgov, usgovdod or china, not '\(Sanitize.forMessage(cloud, limit: 40))'")
        }
        let asking = !yes && Console.current.interactive && isatty(STDIN_FILENO) != 0
        var options = JobInit.Options(output: output)
        options.sheet = sheet
        options.name = name
        options.region = region
        options.phoneType = phoneType
        options.columns = ColumnOverrides(user: userColumn, phone: phoneColumn)
        options.tenantId = tenantId
        options.clientId = clientId
        options.cloud = chosenCloud
        options.authority = authority
        options.graph = graph
        options.secretEnvironment = secretEnv
        options.certificateDays = certificateDays
        options.force = force
        options.use = use.flatMap(JobUse.init(rawValue:)) ?? .migration
        if asking && use == nil {
            options.use = ask("What is the job for? migration (plan, review, apply), nightly (unattended run) or readiness (read-only)",
                              default: "migration") { JobUse(rawValue: $0.lowercased()) }
        }
        // Nightly runs are unattended: a certificate rather than a secret, unless told otherwise.
        options.certificate = certificate || (options.use == .nightly && asking
            && ask("Make a key and certificate for the app (recommended for unattended runs)?", default: "yes") { yesNo($0) } == true)
        if let sheet {
            let mapping = try JobInit.detectColumns(sheet: sheet, options: options)
            say("Columns in \(Sanitize.forMessage(sheet, limit: 200)):")
            for line in JobInit.describe(mapping) { say("  \(line)") }
            for note in mapping.notes where note.contains("ambiguous") || note.contains("guess") { say("  \(Sanitize.forMessage(note, limit: 300))") }
            if asking, ask("Use these columns?", default: "yes", yesNo) == false {
                throw PhoneShiftError(.badSetting, "nothing was written; name the columns with --user-column and --phone-column")
            }
        }
        if asking && region == nil {
            let answer = ask("Default country for numbers without +CC (ISO code, empty for none)", default: "") { $0 }
            if !answer.isEmpty { options.region = answer }
        }
        let result = try JobInit.write(options)
        say("Wrote \(Sanitize.forMessage(result.jobPath, limit: 300)) (\(options.use.rawValue)).")
        if let crt = result.certificatePath, let key = result.keyPath, let thumbprint = result.thumbprint {
            say("Made \(Sanitize.forMessage(crt, limit: 300)) and \(Sanitize.forMessage(key, limit: 300)) (owner-only); thumbprint \(thumbprint), valid until \(result.notValidAfter.map { ISO8601DateFormatter().string(from: $0) } ?? "?").")
            say("Upload only the .crt to the app; the .key never leaves this machine.")
        }
        say("")
        say(result.steps)
    }

    /// Asks on the terminal until `parse` accepts the answer (an empty answer is `default`).
    func ask<T>(_ question: String, default fallback: String, _ parse: (String) -> T?) -> T {
        while true {
            printError("\(question) [\(fallback)]: ", newline: false)
            let answer = (readLine() ?? fallback).trimmingCharacters(in: .whitespaces)
            if let value = parse(answer.isEmpty ? fallback : answer) { return value }
            printError("Not understood: \(Sanitize.forMessage(answer, limit: 60))")
        }
    }
}

/// yes/no as people type it.
func yesNo(_ text: String) -> Bool? {
    switch text.lowercased() {
    case "y", "yes": true
    case "n", "no": false
    default: nil
    }
}
