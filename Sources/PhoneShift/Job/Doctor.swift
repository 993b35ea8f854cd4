import Foundation
import Logging
import X509

/// One thing `phoneshift doctor` checked: what, how it went, and what to do about it.
public struct DoctorCheck: Sendable, Encodable, Equatable {
    public enum Status: String, Sendable, Encodable { case ok, warning, failed, skipped }
    public var item: String
    public var status: Status
    public var detail: String
    public var fix: String?
    /// The exit code a run would end with because of this (failed checks only).
    public var exitCode: Int32?
}

/// `phoneshift doctor JOB`: everything a run of the job needs, checked item by item, each
/// with what to fix — the job file, the credential (file modes, the certificate's days left,
/// key and certificate matching), the clock against the token endpoint's `Date`, the token,
/// every permission the job's commands need (the token's `roles`, then one real read), the
/// admin guard's reads, the proxy, the store and outputs folders (writable, owner-only, free
/// space) and the sheet. Nothing is written to the tenant, the store or the outputs.
public enum Doctor {
    public struct Report: Sendable, Encodable {
        public var job: String
        public var checks: [DoctorCheck]
        /// The first failed check's exit code (the usual table); 0 when none failed.
        public var exitCode: Int32 { checks.first { $0.status == .failed }?.exitCode ?? 0 }
    }

    /// Below this much free space a folder is a warning; below a tenth of it, a failure.
    static let lowSpaceBytes: UInt64 = 200 << 20
    /// The token endpoint refuses a client assertion this far off (AADSTS700024).
    static let maxSkewSeconds = 300.0

    public static func run(jobPath: String, environment: [String: String] = ProcessInfo.processInfo.environment,
                           logger: Logger, now: @Sendable () -> Date = { Date() }) async -> Report {
        var checks: [DoctorCheck] = []
        func add(_ item: String, _ status: DoctorCheck.Status, _ detail: String, fix: String? = nil, exit: Int32? = nil) {
            checks.append(DoctorCheck(item: item, status: status, detail: Sanitize.forMessage(detail, limit: 2000),
                                      fix: fix.map { Sanitize.forMessage($0, limit: 2000) },
                                      exitCode: status == .failed ? (exit ?? ExitStatus.usage) : nil))
        }
        func failed(_ item: String, _ error: Error, fix: String? = nil) {
            let exit: Int32
            switch error {
            case let e as PhoneShiftError: exit = ExitStatus.of(e)
            case let e as GraphError: exit = ExitStatus.of(e)
            case let e as TransportError: exit = ExitStatus.of(e)
            default: exit = ExitStatus.usage
            }
            add(item, .failed, "\(error)", fix: fix, exit: exit)
        }

        // 1. The job file.
        let job: JobDefinition
        do {
            job = try await JobDefinition.open(jobPath)
            add("job file", .ok, "\(job.jobFile): \(job.mode.rawValue), \(job.phoneType.rawValue) numbers, the \(job.tenant.cloud.rawValue) cloud")
        } catch {
            failed("job file", error, fix: "correct the key the message names (README: Job file keys)")
            return Report(job: jobPath, checks: checks)
        }

        // 2. The sheet, offline.
        checkSheet(job, add: add, failed: failed)
        // 3. The store's and the outputs' folders.
        checkFolder((job.store as NSString).deletingLastPathComponent, what: "store folder", add: add)
        checkFolder(job.outputs, what: "outputs folder", add: add)
        // 4. The proxy.
        let proxy = job.tenant.proxy ?? ["https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"].lazy.compactMap { environment[$0] }.first { !$0.isEmpty }
        if let proxy {
            add("proxy", .ok, "requests to Microsoft go through \(withoutCredentials(proxy))\(job.tenant.proxy == nil ? " (from the environment)" : " (tenant.proxy)")"
                + ((environment["no_proxy"] ?? environment["NO_PROXY"]).map { "; no_proxy: \($0)" } ?? ""))
        } else {
            add("proxy", .ok, "none: requests to Microsoft go straight out")
        }

        // 5. The credential.
        let settings: GraphSettings
        if let certificate = job.tenant.certificateFile { checkCertificate(certificate, now: now(), add: add) }
        do {
            settings = try job.graphSettings(environment: environment)
            switch settings.credential {
            case .certificate(let certificate):
                add("credential", .ok, "\(certificate); the key matches it and only its owner can read it")
            case .secret:
                add("credential", .ok, "a client secret from " + (job.tenant.secretFile.map { "\($0) (owner-only)" } ?? "$\(job.tenant.secretEnvironment ?? "?")") + "; not shown",
                    fix: "prefer a certificate for unattended runs (phoneshift init --certificate)")
            }
        } catch {
            failed("credential", error)
            skipOnline(&checks, "the credential cannot be used")
            return Report(job: job.jobFile, checks: checks)
        }
        add("cloud", .ok, "\(job.tenant.cloud.rawValue): token from \(settings.authority.host ?? "?"), Graph at \(settings.graphBase.absoluteString)")

        let (client, transport) = JobSession.client(job: job, settings: settings, logger: logger)
        defer { transport.shutdown() }
        // 6. The clock, against the token endpoint's Date.
        do {
            let answer = try await transport.send(HTTPRequest(method: "GET", url: settings.tokenURL))
            if let date = answer.headers["date"].flatMap(parseHTTPDate) {
                let skew = now().timeIntervalSince(date)
                let said = "this machine's clock is \(Int(abs(skew).rounded())) s \(skew >= 0 ? "ahead of" : "behind") the token endpoint's"
                if abs(skew) > maxSkewSeconds {
                    add("clock", .failed, said, fix: "set the clock right (timedatectl set-ntp true, or chrony): beyond 5 minutes the token endpoint refuses client assertions and tokens seem expired", exit: ExitStatus.authentication)
                } else if abs(skew) > 60 {
                    add("clock", .warning, said, fix: "turn on NTP (timedatectl set-ntp true) before the skew grows past 5 minutes")
                } else {
                    add("clock", .ok, said)
                }
            } else {
                add("clock", .warning, "the token endpoint sent no Date header; the clock was not compared")
            }
        } catch {
            failed("clock", error, fix: "the token endpoint cannot be reached: check the network, the proxy and tenant.authority")
            skipOnline(&checks, "the token endpoint cannot be reached")
            return Report(job: job.jobFile, checks: checks)
        }

        // 7. A token.
        do {
            try await client.authenticate()
            add("token", .ok, "a token for \(settings.clientId) in tenant \(settings.tenantId)")
        } catch {
            failed("token", error, fix: "check tenant.tenantId, tenant.clientId and the credential against the app registration (Certificates & secrets)")
            skipOnline(&checks, "no token")
            return Report(job: job.jobFile, checks: checks)
        }

        // 8. Permissions: the token's roles, then one real read.
        await checkPermissions(job, client: client, add: add, failed: failed)
        // 9. The admin guard's reads.
        if !job.policy.allowPrivileged { await checkAdminGuard(client, add: add) }
        return Report(job: job.jobFile, checks: checks)
    }

    /// What the job's commands need: plan's reads, apply's write, and the optional reads.
    static func needs(_ job: JobDefinition) -> (required: [(GraphNeed, String)], optional: [(GraphNeed, String)]) {
        var required: [(GraphNeed, String)] = [(.readUsers, "plan"), (.readPhoneMethods, "plan")]
        var optional: [(GraphNeed, String)] = []
        if !job.policy.allowPrivileged {
            required += [(.readRoleAssignments, "plan"), (.readRoleEligibility, "plan"), (.readGroupMembers, "plan")]
            optional += [(.readGroupEligibility, "plan, for groups that hold a role")]
        }
        if job.mode != .setNumbers || job.policy.requireBackupMethod { required.append((.readAllMethods, "plan")) }
        required.append((job.mode == .issuePasses ? .writePasses : .writePhoneMethods, "apply"))
        optional += [(.readAdministrativeUnits, "plan: protected users shown as blocked"), (.readAuditLog, "plan: the takeover guard"),
                     (.readRiskyUsers, "plan: the takeover guard")]
        return (required, optional)
    }

    static func checkPermissions(_ job: JobDefinition, client: GraphClient, add: (String, DoctorCheck.Status, String, String?, Int32?) -> Void,
                                 failed: (String, Error, String?) -> Void) async {
        let (required, optional) = needs(job)
        let granted: Set<String>?
        do { granted = try await client.grantedPermissions() } catch { failed("permissions", error, nil); return }
        if let granted {
            for (need, command) in required {
                let item = "permission \(need.toGrant)"
                if let held = need.permissions.first(where: granted.contains) {
                    add(item, .ok, "\(command) can \(need.purpose) (\(held))", nil, nil)
                } else {
                    add(item, .failed, "\(command) cannot \(need.purpose): none of \(need.permissions.joined(separator: ", ")) is granted",
                        "grant \(need.toGrant): app registration \(job.tenant.clientId) › API permissions › Add a permission › Microsoft Graph › Application permissions, then Grant admin consent",
                        ExitStatus.authentication)
                }
            }
            for (need, command) in optional where !need.permissions.contains(where: granted.contains) {
                add("permission \(need.toGrant)", .warning, "not granted: \(command) cannot \(need.purpose) (optional)",
                    "grant \(need.toGrant) for it, or leave it: the check says it was skipped", nil)
            }
        } else {
            add("permissions", .warning, "the token does not list its roles; they are proven by the reads below only", nil, nil)
        }
        // One real read: a role can be listed while its consent was withdrawn since.
        do {
            let probe = try await client.send("GET", "/users?$top=1&$select=id")
            if probe.status == 403 {
                add("read /users", .failed, "Graph refused it: \(PermissionCheck.describe(probe))",
                    "grant \(GraphNeed.readUsers.toGrant) and admin consent", ExitStatus.authentication)
            } else if probe.status >= 400 {
                add("read /users", .failed, "Graph answered \(PermissionCheck.describe(probe))", nil, ExitStatus.transient)
            } else {
                add("read /users", .ok, "Graph answered \(probe.status)", nil, nil)
            }
        } catch {
            failed("read /users", error, nil)
        }
    }

    /// The reads plan makes to find admins: active roles, PIM-eligible ones (P2).
    static func checkAdminGuard(_ client: GraphClient, add: (String, DoctorCheck.Status, String, String?, Int32?) -> Void) async {
        for (item, path) in [("admin guard: active roles", "/roleManagement/directory/roleAssignments?$top=1"),
                             ("admin guard: PIM-eligible roles", "/roleManagement/directory/roleEligibilitySchedules?$top=1")] {
            do {
                let r = try await client.send("GET", path)
                let error = r.failure()
                if r.status < 300 {
                    add(item, .ok, "readable", nil, nil)
                } else if PrivilegedUsers.isNoPremiumLicense(error) {
                    add(item, .warning, "the tenant has no Entra ID P2 licence (\(PermissionCheck.describe(r))): no PIM-eligible roles exist to read; plan says so and goes on", nil, nil)
                } else if r.status == 403 {
                    add(item, .failed, "Graph refused it: \(PermissionCheck.describe(r))", "grant RoleManagement.Read.Directory and admin consent", ExitStatus.authentication)
                } else {
                    add(item, .failed, "Graph answered \(PermissionCheck.describe(r))", nil, ExitStatus.transient)
                }
            } catch {
                add(item, .failed, "\(error)", nil, ExitStatus.transient)
            }
        }
    }

    static func checkSheet(_ job: JobDefinition, add: (String, DoctorCheck.Status, String, String?, Int32?) -> Void,
                           failed: (String, Error, String?) -> Void) {
        do {
            var options = try job.validationOptions()
            options.temporaryDirectory = NSTemporaryDirectory()
            let summary = try SheetValidator(options: options, logger: Logger(label: "phoneshift.doctor") { _ in SwiftLogNoOpLogHandler() })
                .validate(path: job.sheet.path)
            let bad = summary.unusableRows
            let detail = "\(job.sheet.path): \(summary.rows) rows, \(summary.count(of: .ok)) ok, \(summary.count(of: .warning)) with a warning, \(bad) invalid or in conflict"
            if bad > 0 {
                add("sheet", .warning, detail, "phoneshift validate \(job.sheet.path) names each bad row; plan skips them", nil)
            } else {
                add("sheet", .ok, detail, nil, nil)
            }
        } catch {
            failed("sheet", error, "fix the sheet or sheet.path; phoneshift validate SHEET says more")
        }
    }

    /// A folder the job writes to: there (or creatable), writable, owner-only, with room.
    static func checkFolder(_ raw: String, what: String, add: (String, DoctorCheck.Status, String, String?, Int32?) -> Void) {
        let folder = raw.isEmpty ? "." : raw
        var info = stat()
        guard stat(folder, &info) == 0 else {
            // Not there yet: made (owner-only) and removed again, to know a run can make it.
            var missing: [String] = []
            var path = folder
            while !path.isEmpty, path != "/", !FileManager.default.fileExists(atPath: path) {
                missing.append(path)
                path = (path as NSString).deletingLastPathComponent
            }
            do {
                try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
                for made in missing { rmdir(made) }
                add(what, .ok, "\(folder) will be made (owner-only) on the first run", nil, nil)
            } catch {
                add(what, .failed, "\(folder) does not exist and cannot be made: \((error as NSError).localizedDescription)",
                    "make it (mkdir -m 700 \(folder)) as the account that runs the job, or point the job elsewhere", ExitStatus.storeUnwritable)
            }
            return
        }
        guard info.st_mode & S_IFMT == S_IFDIR else {
            add(what, .failed, "\(folder) is not a folder", "point the job at a folder, or move the file away", ExitStatus.storeUnwritable)
            return
        }
        // Writable in fact (a read-only mount, an ACL), not only by its mode bits.
        let probe = folder + "/.phoneshift-doctor-\(getpid())"
        let fd = open(probe, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        if fd < 0 {
            add(what, .failed, "\(folder) is not writable for this account (\(String(cString: strerror(errno))))",
                "chown it to the account that runs the job, and chmod 700 it", ExitStatus.storeUnwritable)
            return
        }
        close(fd)
        unlink(probe)
        var space = statvfs()
        let free: UInt64? = statvfs(folder, &space) == 0 ? UInt64(space.f_bavail) * UInt64(space.f_frsize) : nil
        if let free, free < lowSpaceBytes / 10 {
            add(what, .failed, "\(folder): only \(free >> 20) MB free", "free some space: a run needs room for its store and reports", ExitStatus.storeUnwritable)
        } else if info.st_mode & 0o077 != 0 {
            add(what, .warning, "\(folder) is open to others (mode \(String(info.st_mode & 0o777, radix: 8))); what PhoneShift writes there is owner-only, but others may list it",
                "chmod 700 \(folder)", nil)
        } else if let free, free < lowSpaceBytes {
            add(what, .warning, "\(folder): only \(free >> 20) MB free", "free some space before a large job", nil)
        } else {
            add(what, .ok, "\(folder): writable, owner-only" + (free.map { ", \($0 >> 20) MB free" } ?? ""), nil, nil)
        }
    }

    /// The certificate's file and days left (the key is checked when the credential loads).
    static func checkCertificate(_ path: String, now: Date, add: (String, DoctorCheck.Status, String, String?, Int32?) -> Void) {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8), let certificate = try? Certificate(pemEncoded: text) else {
            return  // the credential check says what is wrong with it
        }
        let left = certificate.notValidAfter.timeIntervalSince(now)
        let days = Int(left / 86_400)  // whole days, toward zero
        if left < 0 {
            add("certificate", .failed, "\(path) expired \(-days) day(s) ago (\(certificate.notValidAfter))",
                "make a new one (phoneshift init --certificate, or your PKI), upload it to the app, and point tenant.clientCertificate at it", ExitStatus.authentication)
        } else if days < 30 {
            add("certificate", .warning, "\(path) expires in \(days) day(s) (\(certificate.notValidAfter))", "renew it and upload the new one before then", nil)
        } else {
            add("certificate", .ok, "\(path) is valid for \(days) more days", nil, nil)
        }
    }

    static func skipOnline(_ checks: inout [DoctorCheck], _ why: String) {
        for item in ["token", "permissions", "admin guard"] where !checks.contains(where: { $0.item.hasPrefix(item) }) {
            checks.append(DoctorCheck(item: item, status: .skipped, detail: "not checked: \(why)", fix: nil, exitCode: nil))
        }
    }

    /// `http://user:pass@proxy:3128` → `http://proxy:3128`: a proxy's password is never shown.
    static func withoutCredentials(_ proxy: String) -> String {
        guard var components = URLComponents(string: proxy), components.user != nil || components.password != nil else {
            return Sanitize.forMessage(proxy, limit: 200)
        }
        components.user = nil
        components.password = nil
        return Sanitize.forMessage(components.string ?? "(a proxy)", limit: 200)
    }

    /// An HTTP date (RFC 9110 IMF-fixdate: `Sun, 06 Nov 1994 08:49:37 GMT`).
    static func parseHTTPDate(_ text: String) -> Date? {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        return formatter.date(from: text)
    }
}
