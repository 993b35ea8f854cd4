import Foundation

/// Who runs PhoneShift: the operating-system account (from the password database, not from
/// `$USER`, which anyone can set) and the host.
public struct OperatorIdentity: Sendable, Equatable {
    public var account: String
    public var host: String

    public static var current: OperatorIdentity {
        var name: String?
        if let entry = getpwuid(geteuid()), let raw = entry.pointee.pw_name { name = String(cString: raw) }
        return OperatorIdentity(account: name ?? "uid \(geteuid())", host: JobStore.hostName)
    }
}

/// A recorded approval of a plan: bound to the plan's digest, with who, where and when, and
/// (optionally) an SSH signature over `statement` that can be verified later.
public struct Approval: Sendable, Equatable {
    public var plan: Int
    public var planHash: String
    public var time: String
    public var osAccount: String
    public var host: String
    /// The text that was approved (and signed, when signed): it names the plan's digest.
    public var statement: String
    /// An armoured SSH signature (`ssh-keygen -Y sign`, namespace `phoneshift-approval`).
    public var signature: String?
    public var comment: String?

    public init(plan: Int, planHash: String, time: String, osAccount: String, host: String, statement: String,
                signature: String? = nil, comment: String? = nil) {
        self.plan = plan
        self.planHash = planHash
        self.time = time
        self.osAccount = osAccount
        self.host = host
        self.statement = statement
        self.signature = signature
        self.comment = comment
    }

    /// The statement an approver approves (and signs): the plan, its digest, the sheet's, the
    /// counts, who and when. One `key: value` per line; the digest line is checked on use.
    public static func statement(job: String, plan: Int, planHash: String, sheetHash: String, changes: Int, held: Int,
                                 account: String, host: String, time: String, comment: String?) -> String {
        var lines = ["phoneshift-approval-v1", "job: \(Sanitize.forMessage(job, limit: 200))", "plan: \(plan)", "plan-digest: \(planHash)",
                     "sheet-digest: \(sheetHash)", "changes: \(changes)", "held-by-risk-checks: \(held)",
                     "approved-by: \(account)", "host: \(host)", "time: \(time)"]
        if let comment { lines.append("comment: \(Sanitize.forMessage(comment, limit: 500))") }
        return lines.joined(separator: "\n") + "\n"
    }

    /// The `plan-digest:` line of a statement.
    static func digest(inStatement text: String) -> String? {
        text.split(separator: "\n").first { $0.hasPrefix("plan-digest: ") }.map { String($0.dropFirst("plan-digest: ".count)) }
    }
}

/// Whether a plan may be applied under `policy.requireApproval`, decided from values (pure):
/// the plan's digest then and now, who made it, and each approval with the principal its
/// signature verified as (nil: unsigned, or not verifiable).
public enum ChangeControl {
    public enum Verdict: Sendable, Equatable {
        case approved(by: String, signed: Bool)
        case refused(String)
    }

    public struct Candidate: Sendable {
        public var approval: Approval
        /// The principal of the allowed-signers file the signature verified as.
        public var signer: String?
        /// Why the signature did not verify (when it was there and did not).
        public var signatureProblem: String?
        public init(approval: Approval, signer: String? = nil, signatureProblem: String? = nil) {
            self.approval = approval
            self.signer = signer
            self.signatureProblem = signatureProblem
        }
        /// Who approved: the signer when signed and verified, else the OS account.
        var identity: String { signer ?? approval.osAccount }
    }

    public static func judge(plan: Int, recordedHash: String?, currentHash: String, madeBy: String?, candidates: [Candidate],
                             signaturesRequired: Bool) -> Verdict {
        guard let recordedHash else {
            return .refused("plan \(plan) was made by an older PhoneShift and has no digest to approve; run phoneshift plan again, then phoneshift approve")
        }
        guard recordedHash == currentHash else {
            return .refused("plan \(plan) changed in the job store since it was made (its rows no longer match its digest); nothing is applied. Plan again and have it approved")
        }
        var reasons: [String] = []
        for candidate in candidates {
            let a = candidate.approval
            guard a.planHash == recordedHash, Approval.digest(inStatement: a.statement) == recordedHash else {
                reasons.append("the approval of \(a.time) by \(a.osAccount) is for another digest of the plan")
                continue
            }
            if a.signature != nil && candidate.signer == nil && signaturesRequired {
                reasons.append("the approval of \(a.time) by \(a.osAccount) has a signature that does not verify\(candidate.signatureProblem.map { " (\($0))" } ?? "")")
                continue
            }
            if signaturesRequired && candidate.signer == nil {
                reasons.append("the approval of \(a.time) by \(a.osAccount) is not signed, and approval.allowedSigners asks for signed approvals")
                continue
            }
            if let madeBy, candidate.identity.caseInsensitiveCompare(madeBy) == .orderedSame || (candidate.signer == nil && a.osAccount.caseInsensitiveCompare(madeBy) == .orderedSame) {
                reasons.append("the approval of \(a.time) is by \(candidate.identity), who made the plan: a second person must approve it")
                continue
            }
            return .approved(by: candidate.identity, signed: candidate.signer != nil)
        }
        if reasons.isEmpty {
            return .refused("plan \(plan) is not approved, and policy.requireApproval is on: a second person reviews and approves it (phoneshift approve JOB), then phoneshift apply JOB applies it; nothing was written")
        }
        return .refused("plan \(plan) has no valid approval (policy.requireApproval): " + reasons.joined(separator: "; "))
    }
}

/// SSH signatures through OpenSSH's own `ssh-keygen -Y` (never hand-rolled cryptography):
/// sign a statement with a private key, and find and verify its signer in an allowed-signers file.
public enum SSHSignature {
    public static let namespace = "phoneshift-approval"

    /// Signs `text` with the key at `keyPath` (a private key, or a public key whose private
    /// half is in ssh-agent). Returns the armoured signature. Throws `badSetting` with
    /// ssh-keygen's own message when it refuses.
    public static func sign(_ text: String, keyPath: String) throws -> String {
        try withScratch { folder in
            let message = folder + "/statement"
            try Data(text.utf8).write(to: URL(fileURLWithPath: message))
            let r = try run(["-Y", "sign", "-f", keyPath, "-n", namespace, message], stdin: nil)
            guard r.status == 0, let signature = try? String(contentsOfFile: message + ".sig", encoding: .utf8) else {
                throw PhoneShiftError(.badSetting, "ssh-keygen could not sign with '\(Sanitize.forMessage(keyPath, limit: 200))': \(Sanitize.forMessage(r.error, limit: 300))")
            }
            return signature
        }
    }

    /// The principal of `allowedSigners` whose key made `signature` over `text`, or the reason
    /// there is none (no key in the file made it, or the text changed since it was signed).
    public static func verify(_ text: String, signature: String, allowedSigners: String) throws -> Result<String, SignatureProblem> {
        guard FileManager.default.isReadableFile(atPath: allowedSigners) else {
            throw PhoneShiftError(.badSetting, "approval.allowedSigners '\(Sanitize.forMessage(allowedSigners, limit: 200))' cannot be read")
        }
        return try withScratch { folder in
            let sig = folder + "/statement.sig"
            try Data(signature.utf8).write(to: URL(fileURLWithPath: sig))
            let found = try run(["-Y", "find-principals", "-s", sig, "-f", allowedSigners], stdin: nil)
            let principals = found.output.split(whereSeparator: \.isNewline).map(String.init).filter { !$0.isEmpty }
            guard found.status == 0, let principal = principals.first else {
                return .failure(SignatureProblem(text: "signed by a key that is not in approval.allowedSigners"))
            }
            let checked = try run(["-Y", "verify", "-f", allowedSigners, "-I", principal, "-n", namespace, "-s", sig], stdin: Data(text.utf8))
            guard checked.status == 0 else {
                return .failure(SignatureProblem(text: "the approved text was changed after it was signed, or the signature is damaged"))
            }
            return .success(principal)
        }
    }

    public struct SignatureProblem: Error, Sendable, Equatable {
        public var text: String
    }

    static func withScratch<T>(_ body: (String) throws -> T) throws -> T {
        let folder = NSTemporaryDirectory() + "phoneshift-sign-" + UUID().uuidString
        try OwnerOnly.makeDirectories(folder)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        return try body(folder)
    }

    /// Runs ssh-keygen (from PATH) and waits for it. Blocking: callers run it off the
    /// cooperative pool (`runOnThread`).
    static func run(_ arguments: [String], stdin: Data?) throws -> (status: Int32, output: String, error: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["ssh-keygen"] + arguments
        let out = Pipe(), err = Pipe(), input = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = input
        do { try process.run() } catch {
            throw PhoneShiftError(.badSetting, "cannot run ssh-keygen (install openssh-client): \(error.localizedDescription)")
        }
        if let stdin { input.fileHandleForWriting.write(stdin) }
        try? input.fileHandleForWriting.close()
        let output = out.fileHandleForReading.readDataToEndOfFile()
        let error = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: output, as: UTF8.self), String(decoding: error, as: UTF8.self))
    }
}
