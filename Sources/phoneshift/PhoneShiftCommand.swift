import ArgumentParser
import Foundation
import Logging
import PhoneShift

/// `phoneshift`: the command line. Parsing, exit codes and terminal output only; the
/// work is done by the PhoneShift library.
struct PhoneShiftCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "phoneshift",
        abstract: "Change the MFA phone numbers of many Microsoft 365 / Entra ID users at once.",
        discussion: ExitStatus.table,
        version: VersionInfo.text,
        subcommands: [ValidateCommand.self, PlanCommand.self, ApplyCommand.self, RunCommand.self, StatusCommand.self, ReportCommand.self, ExportCommand.self, ReadinessCommand.self, NotifyCommand.self, RollbackCommand.self, VerifyCommand.self, ApproveCommand.self, AuditCommand.self, InitCommand.self, DoctorCommand.self, DemoCommand.self]
    )
}

/// Ends the process with `status` once standard output is flushed: output that could not be
/// written (a full disk, a closed pipe, /dev/full) is an error, never a silent success.
func finish(_ status: Int32) -> Never {
    if fflush(nil) != 0 {
        let reason = String(cString: strerror(errno))
        FileHandle.standardError.write(Data("phoneshift: error: cannot write to standard output: \(reason); the output is incomplete\n".utf8))
        exit(status == 0 ? ExitStatus.usage : status)
    }
    exit(status)
}

/// Ends the command with an error: one line for people, or one JSON object with the exit code.
/// Control characters in it (a file name can hold terminal escape sequences) are replaced.
func fail(_ raw: String, _ status: Int32, code: String) -> Never {
    let message = Sanitize.forMessage(raw, limit: 4000)
    if Console.current.format == .json {
        JSONLinesLogHandler.emit(level: "error", label: "phoneshift", message: message,
                                 fields: ["event": .string("exit"), "exitCode": .int(Int(status)), "error": .string(code)])
    } else {
        FileHandle.standardError.write(Data("phoneshift: \(status == ExitStatus.interrupted ? "" : "error: ")\(message)\n".utf8))
    }
    finish(status)
}

@main
enum Entry {
    static func main() async {
        do {
            var command = try PhoneShiftCommand.parseAsRoot()
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch let error as PhoneShiftError {
            fail("\(error)", ExitStatus.of(error), code: error.code.rawValue)
        } catch let error as GraphError {
            fail("\(error)", ExitStatus.of(error), code: "graph")
        } catch let error as TransportError {
            fail("the network: \(error)", ExitStatus.of(error), code: "network")
        } catch let error as SQLiteError {
            fail("the job store: \(error)", ExitStatus.of(error), code: "store")
        } catch is CancellationError {
            fail("interrupted; nothing more was sent. Run the command again to go on.", ExitStatus.interrupted, code: "interrupted")
        } catch let exit as ExitCode where Console.current.format == .json {
            JSONLinesLogHandler.emit(level: exit.rawValue == 0 ? "info" : "notice", label: "phoneshift", message: "exit \(exit.rawValue)",
                                     fields: ["event": .string("exit"), "exitCode": .int(Int(exit.rawValue))])
            finish(exit.rawValue)
        } catch {
            let code = PhoneShiftCommand.exitCode(for: error)
            let message = PhoneShiftCommand.fullMessage(for: error)
            if code == .success {
                print(message)
                finish(0)
            }
            if !message.isEmpty { 
                // Line by line: usage text has lines; an argument can hold escape sequences.
                let clean = message.split(separator: "\n", omittingEmptySubsequences: false).map { Sanitize.forMessage(String($0), limit: 2000) }
                FileHandle.standardError.write(Data((clean.joined(separator: "\n") + "\n").utf8))
             }
            // Argument errors are usage errors: 2, like every other usage error here.
            finish(code == .validationFailure ? 2 : code.rawValue)
        }
        finish(0)
    }
}
