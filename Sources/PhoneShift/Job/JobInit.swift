import Crypto
import Foundation
import SwiftASN1
import X509
import _CryptoExtras

/// What a new job is for: it chooses safe defaults and the permissions to ask for.
public enum JobUse: String, Sendable, CaseIterable {
    /// A quarterly number migration: plan, review, apply by hand.
    case migration
    /// A nightly HR import under `phoneshift run`: valves tight, delta reads, a certificate.
    case nightly
    /// Readiness for the end of SMS and voice: read-only.
    case readiness
}

/// `phoneshift init`: a commented job file written from what can be seen (the sheet's columns,
/// the use, the region), an optional RSA key and self-signed certificate (swift-crypto,
/// swift-certificates), and the exact steps to register the app with the least privilege the
/// job's commands need (Azure CLI and Microsoft Graph PowerShell, for the job's cloud).
public enum JobInit {
    public struct Options: Sendable {
        public var sheet: String?
        public var output: String
        public var use: JobUse = .migration
        public var name: String?
        public var region: String?
        public var phoneType: PhoneType = .mobile
        public var columns = ColumnOverrides()
        public var tenantId: String?
        public var clientId: String?
        public var cloud: GraphCloud = .global
        /// Token and Graph endpoints when they are not the cloud's own (the bundled emulator).
        public var authority: String?
        public var graph: String?
        /// The environment variable that holds the client secret (when no certificate is made).
        public var secretEnvironment = "PHONESHIFT_CLIENT_SECRET"
        /// Make an RSA key and a self-signed certificate beside the job file.
        public var certificate = false
        public var certificateDays = 365
        public var force = false
        public init(output: String) { self.output = output }
    }

    public struct Result: Sendable {
        public var jobPath: String
        /// The columns as detected (nil: no sheet was given).
        public var columns: [String]?
        public var certificatePath: String?
        public var keyPath: String?
        /// The certificate's SHA-1 thumbprint in hex, as the portal shows it.
        public var thumbprint: String?
        public var notValidAfter: Date?
        /// The application permissions to grant, least privilege first, and the optional ones.
        public var permissions: [String]
        public var optionalPermissions: [String]
        /// The registration steps, ready to run.
        public var steps: String
    }

    /// The sheet's columns, detected as `validate` detects them.
    public static func detectColumns(sheet: String, options: Options) throws -> ColumnMapping {
        var reader = SheetReaderOptions()
        reader.pipeWriterWait = 0
        let header = try SheetReader(path: sheet, options: reader).header()
        if let problem = header.problem {
            throw PhoneShiftError(.badHeader, line: header.line, "the header cannot be read: \(problem.message)")
        }
        return try ColumnMapping.resolve(headers: header.fields, overrides: options.columns, phoneType: options.phoneType,
                                         usersOnly: options.use == .readiness)
    }

    /// The permissions the job's commands need, least privilege, and the optional ones.
    public static func permissions(for use: JobUse) -> (required: [String], optional: [String]) {
        switch use {
        case .migration, .nightly:
            // The phone write permission also reads phone methods.
            let needs: [GraphNeed] = [.readUsers, .writePhoneMethods, .readRoleAssignments, .readGroupMembers, .readGroupEligibility,
                                      .readAdministrativeUnits]
            return (needs.map(\.toGrant), ["AuditLog.Read.All", "Directory.Read.All", "IdentityRiskyUser.Read.All"])
        case .readiness:
            return (["AuditLog.Read.All", GraphNeed.readUsers.toGrant, GraphNeed.readAllMethods.toGrant,
                     GraphNeed.readRoleAssignments.toGrant, GraphNeed.readGroupMembers.toGrant], [])
        }
    }

    /// Writes the job (and the key and certificate when asked); refuses to replace a file
    /// unless `force`.
    public static func write(_ options: Options) throws -> Result {
        let output = (options.output as NSString).expandingTildeInPath
        let folder = (output as NSString).deletingLastPathComponent.isEmpty ? "." : (output as NSString).deletingLastPathComponent
        let base = ((output as NSString).lastPathComponent as NSString).deletingPathExtension
        let name = options.name ?? base
        guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == "." }) else {
            throw PhoneShiftError(.badSetting, "--name '\(Sanitize.forMessage(name, limit: 60))' may hold letters, digits, '-', '_' and '.' only")
        }
        if let region = options.region, RegionResolver.region(for: region) == nil {
            throw PhoneShiftError(.badSetting, "--region '\(Sanitize.forMessage(region, limit: 40))' is not a country the phone library knows (use ISO codes such as US, GB, DE)")
        }
        for (value, flag) in [(options.tenantId, "--tenant-id"), (options.clientId, "--client-id")] {
            if let value, UUID(uuidString: value) == nil {
                throw PhoneShiftError(.badSetting, "\(flag) '\(Sanitize.forMessage(value, limit: 60))' is not a GUID (as the portal shows: Overview › Directory (tenant) ID / Application (client) ID)")
            }
        }
        var mapping: ColumnMapping?
        let sheetForJob = options.sheet.map { relative($0, to: folder) } ?? "sheet.csv"
        if let sheet = options.sheet { mapping = try detectColumns(sheet: sheet, options: options) }
        let keyPath = folder + "/\(name).key", certificatePath = folder + "/\(name).crt"
        var refused = [output]
        if options.certificate { refused += [keyPath, certificatePath] }
        if !options.force, let existing = refused.first(where: { FileManager.default.fileExists(atPath: $0) }) {
            throw PhoneShiftError(.badSetting, "'\(Sanitize.forMessage(existing, limit: 200))' already exists; nothing was written (--force replaces it)")
        }
        if !FileManager.default.fileExists(atPath: folder) {
            do {
                try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            } catch {
                throw PhoneShiftError(.badSetting, "cannot make the folder '\(Sanitize.forMessage(folder, limit: 200))' for the job: \((error as NSError).localizedDescription)")
            }
        }
        var result = Result(jobPath: output, columns: mapping.map(describe), permissions: [], optionalPermissions: [], steps: "")
        if options.certificate {
            let made = try makeCertificate(commonName: "PhoneShift \(name)", days: options.certificateDays)
            try writePrivate(made.key, to: keyPath)
            try writePrivate(made.certificate, to: certificatePath)
            // Read back as a run will read it: the pair matches, the thumbprint is the portal's.
            let credential = try CertificateCredential.load(certificatePath: certificatePath, keyPath: keyPath)
            result.certificatePath = certificatePath
            result.keyPath = keyPath
            result.thumbprint = credential.thumbprintSHA1Hex
            result.notValidAfter = made.notValidAfter
        }
        let (required, optional) = permissions(for: options.use)
        result.permissions = required
        result.optionalPermissions = optional
        let text = render(options, name: name, sheet: sheetForJob, mapping: mapping,
                          certificate: options.certificate ? (relative(certificatePath, to: folder), relative(keyPath, to: folder)) : nil,
                          permissions: required)
        let writer = try AtomicFileWriter(path: output)
        try writer.write(text)
        try writer.commit()
        result.steps = steps(options, name: name, permissions: required, optional: optional,
                             certificate: options.certificate ? certificatePath : nil)
        return result
    }

    public static func describe(_ mapping: ColumnMapping) -> [String] {
        var out = ["user: '\(Sanitize.forMessage(mapping.headers[mapping.userColumn], limit: 80))' (column \(mapping.userColumn + 1), \(mapping.userKind.rawValue))"]
        if let phone = mapping.phoneColumn { out.append("phone: '\(Sanitize.forMessage(mapping.headers[phone], limit: 80))' (column \(phone + 1))") }
        if let region = mapping.regionColumn { out.append("country: '\(Sanitize.forMessage(mapping.headers[region], limit: 80))' (column \(region + 1))") }
        return out
    }

    /// `path` as the job file names it: relative to the job's folder when it is under it.
    static func relative(_ path: String, to folder: String) -> String {
        let absolute = URL(fileURLWithPath: path).standardizedFileURL.path
        let base = URL(fileURLWithPath: folder, isDirectory: true).standardizedFileURL.path
        if absolute.hasPrefix(base + "/") { return String(absolute.dropFirst(base.count + 1)) }
        return absolute
    }

    /// A YAML scalar in double quotes (a header may hold `:` or `#`).
    static func quoted(_ text: String) -> String {
        "\"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }

    static func render(_ o: Options, name: String, sheet: String, mapping: ColumnMapping?,
                       certificate: (crt: String, key: String)?, permissions: [String]) -> String {
        var lines: [String] = []
        func add(_ line: String) { lines.append(line) }
        switch o.use {
        case .migration:
            add("# A number migration, written by `phoneshift init`. The flow:")
            add("#   phoneshift doctor \(name).yaml     # everything a run needs, item by item")
            add("#   phoneshift plan \(name).yaml       # read-only: what would change (plan.csv/html for the change board)")
            add("#   phoneshift apply \(name).yaml      # resumable; run it again after any crash")
        case .nightly:
            add("# A nightly HR import, written by `phoneshift init`: one unattended `phoneshift run`")
            add("# (cron, a systemd timer; Jobs/systemd holds ready units). Try it by hand first:")
            add("#   phoneshift doctor \(name).yaml && phoneshift plan \(name).yaml")
            add("#   15 2 * * *  phoneshift run /etc/phoneshift/\(name).yaml --quiet --detailed-exitcode")
        case .readiness:
            add("# Readiness for the end of SMS and voice, written by `phoneshift init`: read-only.")
            add("#   phoneshift doctor \(name).yaml && phoneshift readiness \(name).yaml --users \(sheet)")
        }
        add("name: \(name)")
        add("sheet:")
        add("  path: \(quoted(sheet))")
        if let mapping {
            add("  # The columns init found (the same detection as validate); change them here if wrong.")
            add("  userColumn: \(quoted(mapping.headers[mapping.userColumn]))")
            if let phone = mapping.phoneColumn { add("  phoneColumn: \(quoted(mapping.headers[phone]))") }
            if let region = mapping.regionColumn { add("  regionColumn: \(quoted(mapping.headers[region]))") }
        } else {
            add("  # userColumn: UserPrincipalName   # detected from the header when left out")
            add("  # phoneColumn: Mobile")
        }
        if let region = o.region.flatMap(RegionResolver.region(for:)) {
            add("  defaultRegion: \(region)          # for numbers without +CC on rows with no country")
        } else {
            add("  # defaultRegion: US               # for numbers without +CC on rows with no country")
        }
        add("  # worksheet: Sheet1               # an Excel workbook's worksheet (default: the first)")
        if o.use != .readiness {
            add("phoneType: \(o.phoneType.rawValue)                 # mobile | alternateMobile | office")
        }
        add("tenant:")
        add("  tenantId: \(o.tenantId ?? "00000000-0000-0000-0000-000000000000")   # Entra admin center › Overview › Tenant ID")
        add("  clientId: \(o.clientId ?? "00000000-0000-0000-0000-000000000000")   # the app registered below › Application (client) ID")
        if let certificate {
            add("  clientCertificate:               # made by init; both files owner-only")
            add("    certificate: \(quoted(certificate.crt))")
            add("    privateKey: \(quoted(certificate.key))")
        } else {
            add("  clientSecret:")
            add("    env: \(o.secretEnvironment)   # or file: ~/.config/phoneshift/\(name).secret (chmod 600)")
        }
        add("  cloud: \(o.cloud.rawValue)                     # global | usgov (GCC High) | usgovdod | china")
        if let authority = o.authority { add("  authority: \(quoted(authority))") }
        if let graph = o.graph { add("  graph: \(quoted(graph))") }
        add("# Permissions this job needs (application permissions, admin consent): \(permissions.joined(separator: ", ")).")
        add("rate:")
        switch o.use {
        case .nightly:
            add("  writesPerSecond: 10              # a ceiling: leave room for the tenant's other apps")
        default:
            add("  # writesPerSecond: left out, apply finds the tenant's write quota (a ceiling when set)")
        }
        add("  readsPerSecond: 150")
        add("policy:")
        add("  allowPrivileged: false           # admins' numbers are never changed by a bulk job")
        if o.use != .readiness {
            add("  requireBackupMethod: \(o.use == .nightly ? "true " : "false")        # true: never change a user's only MFA method")
            add("  # requireApproval: true         # four eyes: apply needs `phoneshift approve` by someone else")
        }
        if o.use == .nightly {
            add("  changedElsewhere: keep           # a number changed in the portal since is kept and reported")
            add("  blankRemovesNumber: false        # a blank cell never removes a number")
            add("delta:")
            add("  fullEveryDays: 7                 # only changed rows cost calls; every row again weekly")
            add("valves:                            # a broken export trips these instead of rewriting everyone")
            add("  maxChanges: 500")
            add("  maxChangePercent: 10")
            add("  maxShrinkPercent: 20")
            add("  maxBlankOrInvalidPercent: 30")
            add("keepRuns: 30")
        } else if o.use == .migration {
            add("valves:")
            add("  maxBlankOrInvalidPercent: 5      # a sheet this broken is stopped before any write")
        }
        add("store: \(quoted("state/\(name).sqlite"))        # the job store: resume, reports, rollback")
        add("outputs: \(quoted("out/\(name)"))              # reports, plan review files, drafts (owner-only)")
        return lines.joined(separator: "\n") + "\n"
    }

    /// An RSA 3072 key (PKCS#8 PEM) and a self-signed certificate for it (PEM): SHA-256 with
    /// RSA, the subject as issuer, `days` of life from an hour ago (clock skew).
    public static func makeCertificate(commonName: String, days: Int, now: Date = Date()) throws
        -> (key: String, certificate: String, notValidAfter: Date) {
        let key = try _RSA.Signing.PrivateKey(keySize: .bits3072)
        let name = try DistinguishedName { CommonName(commonName) }
        var serial = [UInt8](repeating: 0, count: 16)
        var generator = SystemRandomNumberGenerator()
        for i in serial.indices { serial[i] = UInt8.random(in: 0...255, using: &generator) }
        serial[0] &= 0x7F
        let notAfter = now.addingTimeInterval(Double(days) * 86_400)
        let certificate = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(bytes: serial),
            publicKey: Certificate.PublicKey(key.publicKey), notValidBefore: now.addingTimeInterval(-3_600), notValidAfter: notAfter,
            issuer: name, subject: name, signatureAlgorithm: .sha256WithRSAEncryption,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true))
            },
            issuerPrivateKey: Certificate.PrivateKey(key))
        let pem = try certificate.serializeAsPEM().pemString
        return (key.pkcs8PEMRepresentation, pem + "\n", notAfter)
    }

    /// Writes a file only its owner can read, atomically.
    static func writePrivate(_ text: String, to path: String) throws {
        let writer = try AtomicFileWriter(path: path)
        try writer.write(text)
        try writer.commit()
    }

    /// The registration, step by step: Azure CLI and Microsoft Graph PowerShell.
    static func steps(_ o: Options, name: String, permissions: [String], optional: [String], certificate: String?) -> String {
        let graphApp = "00000003-0000-0000-c000-000000000000"
        let azCloud = switch o.cloud {
        case .global: "AzureCloud"
        case .usgov, .usgovdod: "AzureUSGovernment"
        case .china: "AzureChinaCloud"
        }
        let psEnvironment = switch o.cloud {
        case .global: "Global"
        case .usgov: "USGov"
        case .usgovdod: "USGovDoD"
        case .china: "China"
        }
        let tenant = o.tenantId ?? "<tenant id>"
        let job = o.output
        var out: [String] = []
        out.append("Register the app (once), as someone who may register apps and grant admin consent")
        out.append("(Privileged Role Administrator, or Cloud Application Administrator with a Privileged Role")
        out.append("Administrator for the consent). Application permissions, least privilege:")
        for p in permissions { out.append("  \(p)") }
        if !optional.isEmpty { out.append("Optional (the takeover guard's checks; each is skipped, and says so, without it): \(optional.joined(separator: ", "))") }
        out.append("")
        out.append("With the Azure CLI (bash):")
        out.append("  az cloud set --name \(azCloud) && az login --tenant \(tenant) --allow-no-subscriptions")
        out.append("  APP_ID=$(az ad app create --display-name \"PhoneShift \(name)\" --sign-in-audience AzureADMyOrg --query appId -o tsv)")
        out.append("  az ad sp create --id \"$APP_ID\"")
        if let certificate {
            out.append("  az ad app credential reset --id \"$APP_ID\" --cert @\(certificate) --append")
        } else {
            out.append("  (umask 077; az ad app credential reset --id \"$APP_ID\" --append --years 1 --query password -o tsv > ~/.config/phoneshift/\(name).secret)")
            out.append("  # then in \(job): clientSecret: { file: ~/.config/phoneshift/\(name).secret } (or export \(o.secretEnvironment))")
        }
        out.append("  for p in \(permissions.joined(separator: " ")); do")
        out.append("    az ad app permission add --id \"$APP_ID\" --api \(graphApp) \\")
        out.append("      --api-permissions \"$(az ad sp show --id \(graphApp) --query \"appRoles[?value=='$p'].id\" -o tsv)=Role\"")
        out.append("  done")
        out.append("  az ad app permission admin-consent --id \"$APP_ID\"")
        out.append("  echo \"tenant.clientId: $APP_ID\"     # put it in \(job)")
        out.append("")
        out.append("With Microsoft Graph PowerShell:")
        out.append("  Connect-MgGraph -TenantId \(tenant) -Environment \(psEnvironment) -Scopes Application.ReadWrite.All,AppRoleAssignment.ReadWrite.All")
        out.append("  $app = New-MgApplication -DisplayName 'PhoneShift \(name)' -SignInAudience AzureADMyOrg")
        if let certificate {
            out.append("  $cert = [System.Security.Cryptography.X509Certificates.X509Certificate2]::new('\(certificate)')")
            out.append("  Update-MgApplication -ApplicationId $app.Id -KeyCredentials @(@{Type='AsymmetricX509Cert'; Usage='Verify'; Key=$cert.RawData})")
        } else {
            out.append("  (Add-MgApplicationPassword -ApplicationId $app.Id).SecretText   # keep it in a file only you can read")
        }
        out.append("  $sp = New-MgServicePrincipal -AppId $app.AppId")
        out.append("  $graph = Get-MgServicePrincipal -Filter \"appId eq '\(graphApp)'\"")
        out.append("  foreach ($p in @(\(permissions.map { "'\($0)'" }.joined(separator: ", ")))) {")
        out.append("    $role = $graph.AppRoles | Where-Object { $_.Value -eq $p -and $_.AllowedMemberTypes -contains 'Application' }")
        out.append("    New-MgServicePrincipalAppRoleAssignment -ServicePrincipalId $sp.Id -PrincipalId $sp.Id -ResourceId $graph.Id -AppRoleId $role.Id")
        out.append("  }")
        out.append("  $app.AppId     # tenant.clientId in \(job)")
        out.append("")
        out.append("Then: phoneshift doctor \(job)")
        return out.joined(separator: "\n")
    }
}
