import Foundation

/// Graph calls: throttling, permissions, routing, authentication methods.
extension EmulatorState {
    struct CallResult {
        var response: EmulatorResponse
        /// The user the call was about (id when found), for the request log.
        var user: String?
    }

    mutating func call(method: String, segments rawSegments: [String], query: String, headers: [String: String],
                      body: [UInt8], app: String, context: CallContext) -> CallResult {
        let params = queryParameters(query)
        let isWrite = method != "GET"
        // `/users('key')` is the same resource as `/users/key` (the form a UPN starting with `$` needs).
        var segments = rawSegments
        var quotedKey = false
        if let first = segments.first, let key = Self.parenthesisedKey(first, entitySet: "users") {
            segments = ["users", key] + segments.dropFirst()
            quotedKey = true
        }
        let verdict = throttle.admit(app: app, units: Self.resourceUnits(method: method, segments: segments, params: params),
                                     writes: isWrite ? 1 : 0, now: context.now)
        var extra: [(String, String)] = []
        if verdict.usedFraction > 0.8 {
            extra.append(("x-ms-throttle-limit-percentage", String(format: "%.2f", min(1.8, verdict.usedFraction))))
        }
        let userKey = segments.count >= 2 && segments[0] == "users" ? segments[1] : nil
        let userId = userKey.flatMap { tenant.index(of: $0) }.map { tenant.users[$0].id } ?? userKey
        guard verdict.allowed else {
            let response = error(429, "TooManyRequests", "Too many requests.", context: context, headers: [
                ("Retry-After", formatSeconds(verdict.retryAfter)),
                ("x-ms-throttle-scope", verdict.scope),
                ("x-ms-throttle-information", verdict.information),
            ])
            return CallResult(response: response, user: userId)
        }
        callingApp = app
        var result = route(method: method, segments: segments, quotedKey: quotedKey, params: params, body: body, context: context)
        result.response.headers += extra
        result.user = result.user ?? userId
        return result
    }

    /// The key in `users('…')` (quotes doubled inside), or nil when the segment is not that form.
    static func parenthesisedKey(_ segment: String, entitySet: String) -> String? {
        let prefix = entitySet + "('"
        guard segment.hasPrefix(prefix), segment.hasSuffix("')"), segment.count >= prefix.count + 2 else { return nil }
        let inner = segment.dropFirst(prefix.count).dropLast(2)
        return inner.replacingOccurrences(of: "''", with: "'")
    }

    /// Resource units a request costs (identity and access limits): listing users 2, anything
    /// else 1; `$select` takes one off and `$expand` adds one; never below 1.
    static func resourceUnits(method: String, segments: [String], params: [String: String]) -> Double {
        var units = segments == ["users"] && method == "GET" ? 2.0 : 1.0
        if params["$select"] != nil { units -= 1 }
        if params["$expand"] != nil { units += 1 }
        return max(1, units)
    }

    func hasPermission(_ any: [String]) -> Bool {
        any.contains { options.permissions.contains($0) }
    }

    /// Application permissions that allow each kind of call (least privileged first), from
    /// each API's permissions table on learn.microsoft.com.
    enum Permissions {
        static let readUsers = ["User.Read.All", "User.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"]
        /// GET …/authentication/methods (all method types).
        static let readAllMethods = ["UserAuthenticationMethod.Read.All", "UserAuthenticationMethod.ReadWrite.All"]
        /// GET …/authentication/phoneMethods: the phone-only permissions suffice.
        static let readPhoneMethods = ["UserAuthMethod-Phone.Read.All", "UserAuthMethod-Phone.ReadWrite.All"] + readAllMethods
        static let writePhoneMethods = ["UserAuthenticationMethod.ReadWrite.All", "UserAuthMethod-Phone.ReadWrite.All"]
        static let readRoleAssignments = ["RoleManagement.Read.Directory", "RoleManagement.Read.All", "Directory.Read.All",
                                          "RoleManagement.ReadWrite.Directory", "Directory.ReadWrite.All"]
        static let readRoleEligibility = ["RoleEligibilitySchedule.Read.Directory", "RoleEligibilitySchedule.ReadWrite.Directory",
                                          "RoleManagement.Read.All", "RoleManagement.Read.Directory", "RoleManagement.ReadWrite.Directory"]
        static let readDirectoryRoles = ["RoleManagement.Read.Directory", "Directory.Read.All", "RoleManagement.ReadWrite.Directory",
                                         "Directory.ReadWrite.All"]
        static let readGroupMembers = ["GroupMember.Read.All", "Group.Read.All", "Directory.Read.All", "GroupMember.ReadWrite.All",
                                       "Group.ReadWrite.All", "Directory.ReadWrite.All"]
        /// PIM for Groups eligibility schedules (privilegedaccessgroup-list-eligibilityschedules).
        static let readGroupEligibility = ["PrivilegedEligibilitySchedule.Read.AzureADGroup", "PrivilegedEligibilitySchedule.ReadWrite.AzureADGroup"]
        /// Administrative units and their members (directory-list-administrativeunits,
        /// administrativeunit-list-members).
        /// Temporary Access Passes (temporaryaccesspassauthenticationmethod-get / -create / -delete).
        static let readPasses = ["UserAuthMethod-TAP.Read.All", "UserAuthMethod-TAP.ReadWrite.All", "UserAuthenticationMethod.Read.All",
                                 "UserAuthenticationMethod.ReadWrite.All"]
        static let writePasses = ["UserAuthMethod-TAP.ReadWrite.All", "UserAuthenticationMethod.ReadWrite.All"]
        /// The authentication-methods registration report (authenticationmethodsroot-list-userregistrationdetails).
        static let readRegistrationDetails = ["AuditLog.Read.All", "UserAuthenticationMethod.Read.All"]
        static let readAdministrativeUnits = ["AdministrativeUnit.Read.All", "AdministrativeUnit.ReadWrite.All", "Directory.Read.All",
                                              "Directory.ReadWrite.All"]
    }

    /// The 403 of directory endpoints (users, groups, roles).
    func directoryDenied(_ context: CallContext) -> CallResult {
        CallResult(response: error(403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.", context: context))
    }

    /// PIM reads on a tenant without Entra ID P2 / Governance: 400 `AadPremiumLicenseRequired`
    /// (OurChoices.premiumLicense: after the permission check); nil when the tenant has P2.
    func premiumLicenseRequired(_ context: CallContext) -> CallResult? {
        guard options.seed.tenant.entraIdP2 == false else { return nil }
        return CallResult(response: error(400, OurChoices.premiumLicenseCode, OurChoices.premiumLicenseMessage, context: context))
    }

    /// The 403 of the authentication-methods endpoints.
    func methodsDenied(_ context: CallContext) -> CallResult {
        CallResult(response: error(403, "accessDenied", "Request Authorization failed", context: context))
    }

    mutating func route(method: String, segments: [String], quotedKey: Bool, params: [String: String], body: [UInt8],
                        context: CallContext) -> CallResult {
        let base = options.publicBaseURL + "/v1.0"
        func notFound(_ key: String) -> CallResult {
            CallResult(response: error(404, "Request_ResourceNotFound",
                "Resource '\(key)' does not exist or one of its queried reference-property objects are not present.",
                context: context), user: nil)
        }
        func badRequest(_ message: String, code: String = OurChoices.badRequestCode) -> CallResult {
            CallResult(response: error(400, code, message, context: context), user: nil)
        }

        if ["directoryRoles", "roleManagement", "groups", "directoryObjects", "identityGovernance", "directory"].contains(segments.first ?? "") {
            guard method == "GET" else { return CallResult(response: error(405, "Request_BadRequest", "The method \(method) is not supported on this resource.", context: context)) }
            return directoryCall(segments: segments, params: params, base: base, context: context)
        }
        if segments == ["auditLogs", "directoryAudits"] || segments == ["identityProtection", "riskyUsers"] {
            guard method == "GET" else { return CallResult(response: error(405, "Request_BadRequest", "The method \(method) is not supported on this resource.", context: context)) }
            return segments[0] == "auditLogs" ? directoryAudits(params: params, base: base, context: context)
                                              : riskyUsers(params: params, base: base, context: context)
        }
        if segments == ["reports", "authenticationMethods", "userRegistrationDetails"] {
            guard method == "GET" else { return CallResult(response: error(405, "Request_BadRequest", "The method \(method) is not supported on this resource.", context: context)) }
            return registrationDetails(params: params, base: base, context: context)
        }
        guard segments.first == "users" else {
            return CallResult(response: error(400, "BadRequest", "Resource not found for the segment '\(segments.first ?? "")'.", context: context), user: nil)
        }
        if segments.count == 1 {
            guard method == "GET" else { return badRequest("Unsupported method on /users.", code: "BadRequest") }
            guard hasPermission(Permissions.readUsers) else { return directoryDenied(context) }
            return listUsers(params: params, base: base, context: context)
        }
        let key = segments[1]
        // Graph reads `/users/$…` as a system segment, and takes no braces around an id.
        if key.hasPrefix("$") && !quotedKey {
            return badRequest("Resource not found for the segment '\(key)'.", code: "BadRequest")
        }
        if key.hasPrefix("{") || key.hasSuffix("}") {
            return badRequest("Invalid object identifier '\(key)'.", code: OurChoices.invalidIdentifierCode)
        }
        guard let index = tenant.index(of: key) else { return notFound(key) }
        let user = tenant.users[index]
        let rest = Array(segments.dropFirst(2))
        let phoneMethodId: String? = rest.count == 3 && rest[0] == "authentication" && rest[1] == "phoneMethods" ? rest[2] : nil
        let passId: String? = rest.count == 3 && rest[0] == "authentication" && rest[1] == "temporaryAccessPassMethods" ? rest[2] : nil
        let path = phoneMethodId != nil ? "authentication/phoneMethods/{id}"
            : passId != nil ? "authentication/temporaryAccessPassMethods/{id}" : rest.joined(separator: "/")
        let phones = user.visiblePhones(at: context.now)
        if method == "GET", user.unavailableReads > 0 {
            tenant.users[index].unavailableReads -= 1
            return CallResult(response: error(503, "serviceNotAvailable", "The service is temporarily unavailable. Please retry later.",
                                              context: context, headers: [("Retry-After", "1")]), user: user.id)
        }
        var result: CallResult
        switch (method, path) {
        case ("GET", ""):
            guard hasPermission(Permissions.readUsers) else { return directoryDenied(context) }
            if user.acceptedReads > 0 {
                // Accepted: background work on the user is not finished (user: get, "202 Accepted").
                tenant.users[index].acceptedReads -= 1
                if OurChoices.acceptedUserReadHasBody {
                    var accepted = userResponse(user, select: params["$select"], base: base, context: context)
                    accepted.response.status = 202
                    return accepted
                }
                return CallResult(response: EmulatorResponse(status: 202, headers: [], body: []), user: user.id)
            }
            result = userResponse(user, select: params["$select"], base: base, context: context)
        case ("PATCH", ""):
            // user-update (application: User.ReadWrite.All); the emulator takes the UPN only.
            guard hasPermission(["User.ReadWrite.All", "Directory.ReadWrite.All"]) else { return directoryDenied(context) }
            guard let document = JSON.parse(body), let upn = document["userPrincipalName"]?.stringValue else {
                return badRequest("The emulator updates userPrincipalName only.", code: "Request_BadRequest")
            }
            do { try tenant.rename(user: index, to: upn) } catch { return failure(error, context: context) }
            result = CallResult(response: EmulatorResponse(status: 204, headers: [], body: []))
        case ("GET", "authentication/methods"):
            if options.cloud == "china" {
                return badRequest("Resource not found for the segment 'methods'.", code: OurChoices.chinaMethodsListCode)
            }
            guard hasPermission(Permissions.readAllMethods) else { return methodsDenied(context) }
            var items: [JSON] = []
            for other in user.others where other.type == "password" { items.append(otherJSON(other)) }
            for slot in PhoneSlot.allCases { if let p = phones[slot] { items.append(phoneJSON(p, typed: true)) } }
            for other in user.others where other.type != "password" { items.append(otherJSON(other)) }
            result = CallResult(response: json(200, .object([
                ("@odata.context", .string("\(base)/$metadata#users('\(user.id)')/authentication/methods")),
                ("value", .array(items)),
            ])))
        case ("GET", "authentication/phoneMethods"):
            guard hasPermission(Permissions.readPhoneMethods) else { return methodsDenied(context) }
            result = CallResult(response: json(200, .object([
                ("@odata.context", .string("\(base)/$metadata#users('\(user.id)')/authentication/phoneMethods")),
                ("value", .array(PhoneSlot.allCases.compactMap { phones[$0] }.map { self.phoneJSON($0) })),
            ])))
        case ("GET", "authentication/phoneMethods/{id}"):
            let methodId = phoneMethodId!
            guard hasPermission(Permissions.readPhoneMethods) else { return methodsDenied(context) }
            guard let slot = PhoneSlot(methodId: methodId), let phone = phones[slot] else {
                return CallResult(response: error(404, OurChoices.unknownMethodCode, "The phone method '\(methodId)' was not found for this user.", context: context))
            }
            result = CallResult(response: json(200, withContext(phoneJSON(phone), "\(base)/$metadata#users('\(user.id)')/authentication/phoneMethods/$entity")))
        case ("POST", "authentication/phoneMethods"), ("PATCH", "authentication/phoneMethods/{id}"):
            guard hasPermission(Permissions.writePhoneMethods) else { return methodsDenied(context) }
            // OurChoices.restrictedWriteAnswer: refused exactly as a missing permission is.
            if tenant.isRestricted(userId: user.id) { return CallResult(response: methodsDenied(context).response, user: user.id) }
            guard let document = JSON.parse(body), case .object = document else {
                return badRequest("Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.", code: "BadRequest")
            }
            let before = user.phones
            let written: PhoneMethodState
            do {
                if method == "POST" {
                    guard let number = document["phoneNumber"]?.stringValue, let type = document["phoneType"]?.stringValue else {
                        return badRequest("phoneNumber and phoneType are required.")
                    }
                    written = try tenant.addPhone(user: index, number: number, type: type)
                } else {
                    written = try tenant.updatePhone(user: index, methodId: phoneMethodId!, number: document["phoneNumber"]?.stringValue,
                                                     type: document["phoneType"]?.stringValue)
                }
            } catch {
                return failure(error, context: context)
            }
            recordAudit(method == "POST" ? "Admin registered security info" : "Admin updated security info", user: index, now: context.now)
            if written.smsSignInState == "phoneNumberNotUnique" {
                // Saved, but another user signs in by SMS with the number: documented as no
                // error (the method's smsSignInState tells); reads may lag.
                if faults.replicationLagSeconds > 0 {
                    tenant.users[index].stale = (context.now + faults.replicationLagSeconds, before)
                }
                if faults.notUniqueAnswers409 { return CallResult(response: phoneNotUnique(context), user: user.id) }
            }
            if method == "POST" {
                result = CallResult(response: json(201, withContext(phoneJSON(written), "\(base)/$metadata#users('\(user.id)')/authentication/phoneMethods/$entity"),
                                                   headers: [("Location", "\(base)/users/\(user.id)/authentication/phoneMethods/\(written.slot.methodId)")]))
            } else {
                result = CallResult(response: EmulatorResponse(status: 204, headers: [], body: []))
            }
        case ("DELETE", "authentication/phoneMethods/{id}"):
            let methodId = phoneMethodId!
            guard hasPermission(Permissions.writePhoneMethods) else { return methodsDenied(context) }
            if tenant.isRestricted(userId: user.id) { return CallResult(response: methodsDenied(context).response, user: user.id) }
            do {
                try tenant.deletePhone(user: index, methodId: methodId)
                recordAudit("Admin deleted security info", user: index, now: context.now)
                result = CallResult(response: EmulatorResponse(status: 204, headers: [], body: []))
            } catch {
                return failure(error, context: context)
            }
        case ("GET", "authentication/temporaryAccessPassMethods"):
            guard hasPermission(Permissions.readPasses) else { return methodsDenied(context) }
            result = CallResult(response: json(200, .object([
                ("@odata.context", .string("\(base)/$metadata#users('\(user.id)')/authentication/temporaryAccessPassMethods")),
                ("value", .array(user.others.filter { $0.type == "temporaryAccessPass" }.map { passJSON($0, showPass: false, now: context.now) })),
            ])))
        case ("GET", "authentication/temporaryAccessPassMethods/{id}"):
            guard hasPermission(Permissions.readPasses) else { return methodsDenied(context) }
            guard let pass = user.others.first(where: { $0.type == "temporaryAccessPass" && $0.id == passId! }) else {
                return CallResult(response: error(404, OurChoices.unknownMethodCode, "The temporary access pass was not found.", context: context), user: user.id)
            }
            result = CallResult(response: json(200, passJSON(pass, showPass: false, now: context.now)))
        case ("POST", "authentication/temporaryAccessPassMethods"):
            guard hasPermission(Permissions.writePasses) else { return methodsDenied(context) }
            if tenant.isRestricted(userId: user.id) { return CallResult(response: methodsDenied(context).response, user: user.id) }
            let document = JSON.parse(body)
            let lifetime = document?["lifetimeInMinutes"]?.doubleValue.map { Int($0) } ?? 60
            guard OurChoices.temporaryAccessPassLifetimes.contains(lifetime) else {
                return badRequest("lifetimeInMinutes must be between \(OurChoices.temporaryAccessPassLifetimes.lowerBound) and \(OurChoices.temporaryAccessPassLifetimes.upperBound) (the Temporary Access Pass policy).")
            }
            let pass = tenant.issuePass(user: index, lifetimeInMinutes: lifetime, isUsableOnce: document?["isUsableOnce"]?.boolValue ?? true, now: context.now)
            recordAudit("Admin registered security info", user: index, now: context.now)
            result = CallResult(response: json(201, withContext(passJSON(pass, showPass: true, now: context.now),
                                                                "\(base)/$metadata#users('\(user.id)')/authentication/temporaryAccessPassMethods/$entity")))
        case ("DELETE", "authentication/temporaryAccessPassMethods/{id}"):
            guard hasPermission(Permissions.writePasses) else { return methodsDenied(context) }
            guard user.others.contains(where: { $0.type == "temporaryAccessPass" && $0.id == passId! }) else {
                return CallResult(response: error(404, OurChoices.unknownMethodCode, "The temporary access pass was not found.", context: context), user: user.id)
            }
            tenant.users[index].others.removeAll { $0.type == "temporaryAccessPass" && $0.id == passId! }
            result = CallResult(response: EmulatorResponse(status: 204, headers: [], body: []))
        case ("GET", "transitiveMemberOf/microsoft.graph.directoryRole"), ("GET", "memberOf/microsoft.graph.directoryRole"):
            guard hasPermission(Permissions.readUsers) else { return directoryDenied(context) }
            result = CallResult(response: json(200, .object([
                ("@odata.context", .string("\(base)/$metadata#directoryRoles")),
                ("value", .array(user.roles.map(roleJSON))),
            ])))
        default:
            return CallResult(response: error(405, "Request_BadRequest", "The method \(method) is not supported on this resource.", context: context), user: user.id)
        }
        result.user = user.id
        return result
    }

    func phoneNotUnique(_ context: CallContext) -> EmulatorResponse {
        error(409, "phoneNumberNotUnique", "The phone number is already in use for SMS sign-in by another user. The phone method was saved, but SMS sign-in is not enabled for it.", context: context)
    }

    func failure(_ error: Error, context: CallContext) -> CallResult {
        switch error as? Tenant.Failure {
        case .badRequest(let message): CallResult(response: self.error(400, OurChoices.badRequestCode, message, context: context))
        case .notFound(let message): CallResult(response: self.error(404, OurChoices.unknownMethodCode, message, context: context))
        case nil: CallResult(response: self.error(500, "generalException", "An unexpected error occurred.", context: context))
        }
    }

    func withContext(_ value: JSON, _ context: String) -> JSON {
        guard case .object(let pairs) = value else { return value }
        return .object([("@odata.context", .string(context))] + pairs)
    }

    func phoneJSON(_ p: PhoneMethodState) -> JSON { phoneJSON(p, typed: false) }

    func phoneJSON(_ p: PhoneMethodState, typed: Bool) -> JSON {
        var pairs: [(String, JSON)] = []
        if typed { pairs.append(("@odata.type", .string("#microsoft.graph.phoneAuthenticationMethod"))) }
        pairs += [("id", .string(p.slot.methodId)), ("phoneNumber", .string(p.number)),
                  ("phoneType", .string(p.slot.rawValue)), ("smsSignInState", .string(p.smsSignInState))]
        return .object(pairs)
    }

    func otherJSON(_ m: OtherMethodState) -> JSON {
        let created = JSON.string(m.created)
        switch m.type {
        case "password":
            return .object([("@odata.type", .string("#microsoft.graph.passwordAuthenticationMethod")), ("id", .string(m.id)),
                            ("password", .null), ("createdDateTime", created)])
        case "email":
            return .object([("@odata.type", .string("#microsoft.graph.emailAuthenticationMethod")), ("id", .string(m.id)),
                            ("emailAddress", m.emailAddress.map(JSON.string) ?? .null)])
        case "microsoftAuthenticator":
            return .object([("@odata.type", .string("#microsoft.graph.microsoftAuthenticatorAuthenticationMethod")),
                            ("id", .string(m.id)), ("displayName", m.displayName.map(JSON.string) ?? .null),
                            ("deviceTag", .string("SoftwareTokenActivated")), ("phoneAppVersion", .string("6.2401.0119")),
                            ("createdDateTime", created)])
        case "fido2":
            return .object([("@odata.type", .string("#microsoft.graph.fido2AuthenticationMethod")), ("id", .string(m.id)),
                            ("displayName", m.displayName.map(JSON.string) ?? .null), ("createdDateTime", created),
                            ("aaGuid", .string("cb69481e-8ff7-4039-93ec-0a2729a154a8")), ("model", .string("YubiKey 5 Series")),
                            ("attestationCertificates", .array([])), ("attestationLevel", .string("attested"))])
        case "softwareOath":
            return .object([("@odata.type", .string("#microsoft.graph.softwareOathAuthenticationMethod")), ("id", .string(m.id)),
                            ("secretKey", .null)])
        case "temporaryAccessPass":
            guard case .object(let pairs) = passJSON(m, showPass: false, now: nil) else { return .null }
            return .object([("@odata.type", .string("#microsoft.graph.temporaryAccessPassAuthenticationMethod"))] + pairs)
        case "windowsHelloForBusiness":
            return .object([("@odata.type", .string("#microsoft.graph.windowsHelloForBusinessAuthenticationMethod")), ("id", .string(m.id)),
                            ("displayName", m.displayName.map(JSON.string) ?? .null), ("createdDateTime", created),
                            ("keyStrength", .string("normal"))])
        default:
            return .object([("@odata.type", .string("#microsoft.graph.\(m.type)AuthenticationMethod")), ("id", .string(m.id))])
        }
    }

    func roleJSON(_ name: String) -> JSON {
        .object([
            ("@odata.type", .string("#microsoft.graph.directoryRole")), ("id", .string(DirectoryRoles.roleObjectId(name))),
            ("deletedDateTime", .null), ("description", .string("Members of this role: \(name).")),
            ("displayName", .string(name)), ("roleTemplateId", .string(DirectoryRoles.templateId(name))),
        ])
    }

    /// `GET /reports/authenticationMethods/userRegistrationDetails`: one row per enabled user
    /// ("this method doesn't work for disabled users"), paged; AuditLog.Read.All (or
    /// UserAuthenticationMethod.Read.All) and a P1 or P2 licence (OurChoices.reportsLicenseCode).
    func registrationDetails(params: [String: String], base: String, context: CallContext) -> CallResult {
        guard hasPermission(Permissions.readRegistrationDetails) else { return directoryDenied(context) }
        if options.seed.tenant.entraIdP1 == false {
            return CallResult(response: error(403, OurChoices.reportsLicenseCode, OurChoices.reportsLicenseMessage, context: context))
        }
        let enabled = tenant.users.indices.filter { tenant.users[$0].accountEnabled }
        var query = params
        query["$top"] = String(OurChoices.registrationDetailsPageSize)
        let updated = ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: context.now))
        return page(count: enabled.count, item: { registrationJSON(tenant.users[enabled[$0]], updated: updated) },
                    path: "reports/authenticationMethods/userRegistrationDetails",
                    context: "reports/authenticationMethods/userRegistrationDetails", params: query, base: base, call: context)
    }

    func registrationJSON(_ u: UserState, updated: String) -> JSON {
        var registered: [String] = []
        for slot in PhoneSlot.allCases where u.phones[slot] != nil {
            switch slot {
            case .mobile: registered.append("mobilePhone")
            case .alternateMobile: registered.append("alternateMobilePhone")
            case .office: registered.append("officePhone")
            }
        }
        for other in u.others { if let name = OurChoices.registeredMethodNames[other.type], !registered.contains(name) { registered.append(name) } }
        let strong = registered.contains { !["email", "temporaryAccessPass"].contains($0) }
        let passwordless = registered.contains { ["passKeyDeviceBound", "windowsHelloForBusiness", "macOsSecureEnclaveKey"].contains($0) }
        let preferred: String
        switch u.defaultMethod {
        case "microsoftAuthenticator": preferred = "push"
        case "softwareOath", "hardwareOath": preferred = "oath"
        case "mobile": preferred = "sms"
        case "alternateMobile": preferred = "voiceAlternateMobile"
        case "office": preferred = "voiceOffice"
        default: preferred = registered.isEmpty ? "" : "none"
        }
        return .object([
            ("id", .string(u.id)), ("userPrincipalName", .string(u.userPrincipalName)), ("userDisplayName", .string(u.displayName)),
            ("userType", .string(u.userType.lowercased() == "guest" ? "guest" : "member")), ("isAdmin", .bool(!u.roles.isEmpty)),
            ("isSsprRegistered", .bool(strong)), ("isSsprEnabled", .bool(false)), ("isSsprCapable", .bool(false)),
            ("isMfaRegistered", .bool(strong)), ("isMfaCapable", .bool(strong)), ("isPasswordlessCapable", .bool(passwordless)),
            ("lastUpdatedDateTime", .string(updated)),
            ("methodsRegistered", .array(registered.map(JSON.string))),
            ("isSystemPreferredAuthenticationMethodEnabled", .bool(false)), ("systemPreferredAuthenticationMethods", .array([])),
            ("userPreferredMethodForSecondaryAuthentication", .string(preferred)),
        ])
    }

    /// A Temporary Access Pass as Graph shows it; the pass itself only in the answer to its
    /// creation ("temporaryAccessPass … returned only on creation"). An issued one is usable
    /// while its lifetime runs (`now` nil: not checked).
    func passJSON(_ m: OtherMethodState, showPass: Bool, now: Double?) -> JSON {
        var usable = m.isUsable
        // An issued pass expires with its lifetime; a seeded one is as the seed says.
        if let now, m.pass != nil, let start = parseISODate(m.created) { usable = usable && now < start + Double(m.lifetimeInMinutes) * 60 }
        return .object([("id", .string(m.id)), ("temporaryAccessPass", showPass ? m.pass.map(JSON.string) ?? .null : .null),
                        ("createdDateTime", .string(m.created)), ("startDateTime", .string(m.created)),
                        ("lifetimeInMinutes", .int(m.lifetimeInMinutes)), ("isUsableOnce", .bool(m.isUsableOnce)), ("isUsable", .bool(usable)),
                        // temporaryaccesspassauthenticationmethod.md: EnabledByPolicy, DisabledByPolicy, Expired, NotYetValid, OneTimeUsed.
                        ("methodUsabilityReason", .string(usable ? "EnabledByPolicy" : "Expired"))])
    }
}
