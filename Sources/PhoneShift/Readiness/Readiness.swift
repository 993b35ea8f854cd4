import Foundation

/// Where a user stands for the end of Microsoft-provided SMS and voice (Microsoft Entra:
/// "Passkeys by default and retirement of Microsoft-provided SMS and voice authentication",
/// concept-sms-voice-retirement.md): from 2027-02-01 SMS and voice codes are no longer
/// delivered in the public cloud, and users whose only MFA methods are SMS or voice must
/// register a passkey at sign-in.
public enum ReadinessClass: String, Sendable, CaseIterable, Codable {
    /// A passkey (FIDO2, device-bound or in Authenticator), Windows Hello for Business or a
    /// platform credential: nothing to do.
    case phishingResistant = "phishing-resistant"
    /// Microsoft Authenticator or an OATH token, no phishing-resistant method: MFA goes on.
    case app
    /// Phone methods and nothing else that can do MFA: these users are blocked at sign-in
    /// until they register a passkey.
    case phoneOnly = "phone-only"
    /// No MFA method at all.
    case none

    /// What it means, for the sheet and the page.
    public var meaning: String {
        switch self {
        case .phishingResistant: "ready: a phishing-resistant method"
        case .app: "keeps MFA without phones (Authenticator or OATH); a passkey is better"
        case .phoneOnly: "only phones: must register a passkey at sign-in once SMS and voice stop (2027-02-01)"
        case .none: "no MFA method registered"
        }
    }
}

/// An authentication method, as either source names it: the registration report's
/// `methodsRegistered` values, or the `@odata.type` of `/users/{id}/authentication/methods`.
public enum MethodKind: String, Sendable, CaseIterable, Comparable {
    case passkey, windowsHello, platformCredential
    case authenticator, softwareOath, hardwareOath
    case mobilePhone, alternateMobilePhone, officePhone
    case temporaryAccessPass, email, password

    public static func < (a: MethodKind, b: MethodKind) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }

    public var isPhishingResistant: Bool { [.passkey, .windowsHello, .platformCredential].contains(self) }
    public var isApp: Bool { [.authenticator, .softwareOath, .hardwareOath].contains(self) }
    public var isPhone: Bool { [.mobilePhone, .alternateMobilePhone, .officePhone].contains(self) }

    /// A `methodsRegistered` value of `userRegistrationDetails` (nil: one PhoneShift does not
    /// know, such as `securityQuestion`, which does no MFA).
    public init?(registered name: String) {
        switch name {
        case "fido2", "fido2SecurityKey", "passKeyDeviceBound", "passKeyDeviceBoundAuthenticator", "passKeyDeviceBoundWindowsHello",
             "passKeySynced", "microsoftAuthenticatorPasswordless": self = .passkey
        case "windowsHelloForBusiness": self = .windowsHello
        case "macOsSecureEnclaveKey", "platformCredential": self = .platformCredential
        case "microsoftAuthenticatorPush": self = .authenticator
        case "softwareOneTimePasscode": self = .softwareOath
        case "hardwareOneTimePasscode": self = .hardwareOath
        case "mobilePhone": self = .mobilePhone
        case "alternateMobilePhone": self = .alternateMobilePhone
        case "officePhone": self = .officePhone
        case "temporaryAccessPass": self = .temporaryAccessPass
        case "email": self = .email
        default: return nil
        }
    }

    /// The `@odata.type` of an authentication method (nil: a type PhoneShift does not know).
    public init?(odataType: String) {
        switch odataType.replacingOccurrences(of: "#microsoft.graph.", with: "") {
        case "fido2AuthenticationMethod": self = .passkey
        case "windowsHelloForBusinessAuthenticationMethod": self = .windowsHello
        case "platformCredentialAuthenticationMethod": self = .platformCredential
        case "microsoftAuthenticatorAuthenticationMethod": self = .authenticator
        case "softwareOathAuthenticationMethod": self = .softwareOath
        case "hardwareOathAuthenticationMethod": self = .hardwareOath
        case "temporaryAccessPassAuthenticationMethod": self = .temporaryAccessPass
        case "emailAuthenticationMethod": self = .email
        case "passwordAuthenticationMethod": self = .password
        default: return nil
        }
    }

    /// The name the sheet and the page use.
    public var label: String {
        switch self {
        case .passkey: "passkey/FIDO2"
        case .windowsHello: "Windows Hello for Business"
        case .platformCredential: "platform credential"
        case .authenticator: "Microsoft Authenticator"
        case .softwareOath: "software OATH"
        case .hardwareOath: "hardware OATH"
        case .mobilePhone: "mobile"
        case .alternateMobilePhone: "alternate mobile"
        case .officePhone: "office"
        case .temporaryAccessPass: "Temporary Access Pass"
        case .email: "email"
        case .password: "password"
        }
    }
}

/// Which source the readiness figures came from.
public enum ReadinessSource: String, Sendable, Codable {
    /// `GET /reports/authenticationMethods/userRegistrationDetails`: the report Microsoft
    /// recommends for the whole population (AuditLog.Read.All and an Entra ID P1 or P2 licence);
    /// enabled users only, no numbers.
    case registrationReport = "registration-report"
    /// `/users`, then each user's `/authentication/methods` (UserAuthenticationMethod.Read.All).
    case perUserReads = "per-user-reads"
}

/// One user's readiness, from either source.
public struct ReadinessRow: Sendable {
    public var id: String
    public var userPrincipalName: String
    public var displayName: String
    /// The user's mail, when the source gave it (per-user reads; the report has none).
    public var mail: String?
    /// nil: the source does not say (the report lists enabled users only).
    public var enabled: Bool?
    public var methods: Set<MethodKind>
    /// Numbers by phone type, when the source shows them (per-user reads).
    public var phones: [PhoneType: String] = [:]
    /// The mobile's SMS sign-in state, when read.
    public var smsSignIn: String?
    /// "usable", "not usable" (expired or used), "registered" (the report does not say), nil: none.
    public var temporaryAccessPass: String?
    /// The user's default MFA method as the report gives it (nil: not reported).
    public var defaultMethod: String?
    /// Directory roles (admin) when known; nil: unknown.
    public var admin: [String]?
    /// A read that failed for this user (its class is then unknown).
    public var problem: String?

    public var readinessClass: ReadinessClass? {
        guard problem == nil else { return nil }
        if methods.contains(where: \.isPhishingResistant) { return .phishingResistant }
        if methods.contains(where: \.isApp) { return .app }
        if methods.contains(where: \.isPhone) { return .phoneOnly }
        return ReadinessClass.none
    }

    /// The phone types, as the sheet lists them.
    public var phoneTypes: [PhoneType] {
        PhoneType.allCases.filter { type in
            switch type {
            case .mobile: methods.contains(.mobilePhone)
            case .alternateMobile: methods.contains(.alternateMobilePhone)
            case .office: methods.contains(.officePhone)
            }
        }
    }
}

/// `readiness --users SHEET`: the users a sheet names, by UPN or object id (lowercased).
public enum ReadinessUsers {
    /// Reads the sheet's user column (detected as for a job's sheet). An e-mail column is
    /// matched against UPNs (usually the same); an employee id column is refused, since the
    /// registration report has no employee ids.
    public static func read(_ path: String, options: SheetReaderOptions = .init()) throws -> Set<String> {
        let reader = try SheetReader(path: path, options: options)
        let header = try reader.header()
        let found = try ColumnMapping.detectUserColumn(headers: header.fields)
        guard found.kind != .employeeId else {
            throw PhoneShiftError(.badHeader, line: header.line, "readiness --users needs a UPN or object id column; '\(Sanitize.forMessage(header.fields[found.column]))' holds employee ids, which the registration report does not have")
        }
        var users = Set<String>()
        while let record = try reader.next() {
            guard found.column < record.fields.count else { continue }
            let value = PhoneNormalizer.clean(record.fields[found.column]).lowercased()
            if !value.isEmpty { users.insert(value) }
        }
        guard !users.isEmpty else { throw PhoneShiftError(.noDataRows, line: header.line, "'\(Sanitize.forMessage(path, limit: 200))' names no users") }
        return users
    }
}
