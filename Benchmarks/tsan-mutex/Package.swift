// swift-tools-version:6.0
// Not part of PhoneShift: a stand-alone program for Benchmarks/tsan_mutex.sh.
import PackageDescription

let package = Package(
    name: "tsan-mutex",
    platforms: [.macOS(.v15)],
    targets: [.executableTarget(name: "tsan-mutex")]
)
