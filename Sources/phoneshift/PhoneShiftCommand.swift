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
        discussion: """
            Exit codes: 0 success; 1 some rows invalid, in conflict, failed or needing attention; \
            2 usage error, bad job file or unreadable input (plan --detailed-exitcode: changes to make); \
            3 the job is locked by another run (or this run lost its lock); 4 authentication failed before any row was touched; \
            130 interrupted (apply again to resume).
            """,
        subcommands: [ValidateCommand.self, PlanCommand.self, ApplyCommand.self, StatusCommand.self, ReportCommand.self, ExportCommand.self, NotifyCommand.self, RollbackCommand.self, DemoCommand.self]
    )
}

/// Common logging switch.
struct LoggingOptions: ParsableArguments {
    @Flag(name: .shortAndLong, help: "Log what is decided (to standard error).")
    var verbose = false

    func makeLogger(_ label: String) -> Logger {
        var logger = Logger(label: label) { StreamLogHandler.standardError(label: $0) }
        logger.logLevel = verbose ? .info : .warning
        return logger
    }
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
            FileHandle.standardError.write(Data("phoneshift: error: \(error)\n".utf8))
            exit(ExitStatus.of(error))
        } catch let error as GraphError {
            FileHandle.standardError.write(Data("phoneshift: error: \(error)\n".utf8))
            exit(ExitStatus.of(error))
        } catch let error as SQLiteError {
            FileHandle.standardError.write(Data("phoneshift: error: the job store: \(error)\n".utf8))
            exit(ExitStatus.of(error))
        } catch is CancellationError {
            FileHandle.standardError.write(Data("phoneshift: interrupted; nothing more was sent. Run the command again to go on.\n".utf8))
            exit(ExitStatus.interrupted)
        } catch {
            let code = PhoneShiftCommand.exitCode(for: error)
            let message = PhoneShiftCommand.fullMessage(for: error)
            if code == .success {
                print(message)
                exit(0)
            }
            if !message.isEmpty { FileHandle.standardError.write(Data("\(message)\n".utf8)) }
            // Argument errors are usage errors: 2, like every other usage error here.
            exit(code == .validationFailure ? 2 : code.rawValue)
        }
    }
}
