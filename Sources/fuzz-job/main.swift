import Foundation
import FuzzSupport
import PhoneShift

// libFuzzer target: the job-file parser (Yams and PhoneShift's strict reading) on arbitrary
// bytes. Built by Benchmarks/fuzz.sh.

let scratch = FuzzScratch(suffix: ".yaml")

func fuzzJob(_ bytes: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data = bytes else { return 0 }
    scratch.write(data, size)
    do {
        let job = try JobDefinition.load(path: scratch.path)
        _ = job.planSettings
        _ = try? job.validationOptions()
    } catch {
    }
    return 0
}

exit(runFuzzer(CommandLine.argc, CommandLine.unsafeArgv) { data, size in fuzzJob(data, size) })
