import Foundation
import FuzzSupport
import PhoneShift

// libFuzzer target: phone normalisation (PhoneShift's fast paths and libphonenumber) on
// arbitrary text, for every phone type and a few regions. The fast path must agree with
// libphonenumber wherever it answers. Built by Benchmarks/fuzz.sh.

let fast = [PhoneType.mobile, .alternateMobile, .office].map { PhoneNormalizer(phoneType: $0) }
let slow = [PhoneType.mobile, .alternateMobile, .office].map { PhoneNormalizer(phoneType: $0, fastPath: false) }
let regions: [String?] = [nil, "US", "GB", "DE", "IN", "ZZ", "\u{0}"]

func fuzzNormalizer(_ bytes: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data = bytes else { return 0 }
    let text = String(decoding: UnsafeBufferPointer(start: data, count: min(size, 4096)), as: UTF8.self)
    let region = regions[size % regions.count]
    for i in fast.indices {
        let a = fast[i].normalize(text, region: region)
        let b = slow[i].normalize(text, region: region)
        if a != b {
            fatalError("fast path and libphonenumber disagree on \(text.debugDescription) (\(region ?? "no region")): \(a) vs \(b)")
        }
    }
    return 0
}

exit(runFuzzer(CommandLine.argc, CommandLine.unsafeArgv) { data, size in fuzzNormalizer(data, size) })
