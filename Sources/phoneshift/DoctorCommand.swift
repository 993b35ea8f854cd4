import ArgumentParser
import Foundation
import PhoneShift

struct DoctorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "doctor",
        abstract: "Check everything a run of the job needs, item by item, and say what to fix.",
        discussion: """
            The job file; the sheet (offline); the store's and the outputs' folders (writable, \
            owner-only, free space); the proxy; the credential (file modes, the certificate's days \
            left, key and certificate matching); the cloud; the clock against the token endpoint's \
            Date; a token; each permission the job's commands need (from the token's roles, then one \
            real read); the admin guard's reads. Nothing is written to the tenant, the store or the \
            outputs. The exit code is the first failed check's, from the table below (0: nothing \
            failed; warnings allowed).

            """ + ExitStatus.table)

    @Argument(help: "The job file (YAML).")
    var job: String

    @Flag(help: "One JSON object on standard output (for monitoring): every check, and the exit code.")
    var json = false

    @OptionGroup var display: OutputOptions

    func run() async throws {
        _ = display.activate()
        let report = await Doctor.run(jobPath: job, logger: Console.current.makeLogger("phoneshift.doctor"))
        if json {
            struct Document: Encodable { var job: String; var exitCode: Int32; var checks: [DoctorCheck] }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            print(String(decoding: try encoder.encode(Document(job: report.job, exitCode: report.exitCode, checks: report.checks)), as: UTF8.self))
        } else {
            for check in report.checks {
                let mark = switch check.status {
                case .ok: "ok      "
                case .warning: "WARNING "
                case .failed: "FAILED  "
                case .skipped: "skipped "
                }
                say("\(mark)\(check.item): \(check.detail)")
                if let fix = check.fix, check.status == .failed || check.status == .warning { say("        fix: \(fix)") }
            }
            let failed = report.checks.filter { $0.status == .failed }.count, warned = report.checks.filter { $0.status == .warning }.count
            say(failed == 0 ? "Ready to run (\(warned) warning(s))." : "\(failed) thing(s) to fix before a run; exit \(report.exitCode).")
        }
        if report.exitCode != 0 { throw ExitCode(report.exitCode) }
    }
}
