import Foundation

/// Graph calls: throttling, permissions, routing, authentication methods.
extension EmulatorState {
    struct CallResult {
        var response: EmulatorResponse
        /// The user the call was about (id when found), for the request log.
        var user: String?
    }

    mutating func call(method: String, segments: [String], query: String, headers: [String: String],
                      body: [UInt8], app: String, context: CallContext) -> CallResult {
        let params = queryParameters(query)
        let isWrite = method != "GET"
        // Cost in resource units (GRAPH.md): a GET 1, a user GET 2, a write 1 plus 1 write.
        let units: Double = (segments.count == 2 && segments[0] == "users" && method == "GET") ? 2 : 1
        let verdict = throttle.admit(app: app, units: units, writes: isWrite ? 1 : 0, now: context.now)
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
        var result = route(method: method, segments: segments, params: params, body: body, context: context)
        result.response.headers += extra
        result.user = result.user ?? userId
        return result
    }

    func hasPermission(_ any: [String]) -> Bool {
        any.contains { options.permissions.contains($0) }
    }

        mutating func route(method: String, segments: [String], params: [String: String], body: [UInt8],
                       context: CallContext) -> CallResult {
        let base = options.publicBaseURL + "/v1.0"
        let readUsers = ["User.Read.All", "User.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"]
        let readMethods = ["UserAuthenticationMethod.Read.All", "UserAuthenticationMethod.ReadWrite.All"]
        let writeMethods = ["UserAuthenticationMethod.ReadWrite.All"]
        func denied() -> CallResult {
            CallResult(response: error(403, "accessDenied", "Request Authorization failed", context: context), user: nil)
        }
        func notFound(_ key: String) -> CallResult {
            CallResult(response: error(404, "Request_ResourceNotFound",
                "Resource '\(key)' does not exist or one of its queried reference-property objects are not present.",
                context: context), user: nil)
        }
        func badRequest(_ message: String, code: String = OurChoices.badRequestCode) -> CallResult {
            CallResult(response: error(400, code, message, context: context), user: nil)
        }

        if segments == ["directoryRoles"], method == "GET" {
            guard hasPermission(readUsers) else { return denied() }
            return CallResult(response: directoryRoles(expandMembers: params["$expand"] == "members", base: base), user: nil)
        }
        guard segments.first == "users" else {
            return CallResult(response: error(400, "BadRequest", "Resource not found for the segment '\(segments.first ?? "")'.", context: context), user: nil)
        }
        if segments.count == 1 {
            guard method == "GET" else { return badRequest("Unsupported method on /users.", code: "BadRequest") }
            guard hasPermission(readUsers) else { return denied() }
            return listUsers(params: params, base: base, context: context)
        }
        let key = segments[1]
        guard let index = tenant.index(of: key) else { return notFound(key) }
        let user = tenant.users[index]
        let rest = Array(segments.dropFirst(2))
        let phoneMethodId: String? = rest.count == 3 && rest[0] == "authentication" && rest[1] == "phoneMethods" ? rest[2] : nil
        let path = phoneMethodId == nil ? rest.joined(separator: "/") : "authentication/phoneMethods/{id}"
        var result: CallResult
        switch (method, path) {
        case ("GET", ""):
            guard hasPermission(readUsers) else { return denied() }
            result = userResponse(user, select: params["$select"], base: base, context: context)
        case ("GET", "authentication/methods"):
            guard hasPermission(readMethods) else { return denied() }
            var items: [JSON] = []
            for other in user.others where other.type == "password" { items.append(otherJSON(other)) }
            for slot in PhoneSlot.allCases { if let p = user.phones[slot] { items.append(phoneJSON(p, typed: true)) } }
            for other in user.others where other.type != "password" { items.append(otherJSON(other)) }
            result = CallResult(response: json(200, .object([
                ("@odata.context", .string("\(base)/$metadata#users('\(user.id)')/authentication/methods")),
                ("value", .array(items)),
            ])))
        case ("GET", "authentication/phoneMethods"):
            guard hasPermission(readMethods) else { return denied() }
            result = CallResult(response: json(200, .object([
                ("@odata.context", .string("\(base)/$metadata#users('\(user.id)')/authentication/phoneMethods")),
                ("value", .array(PhoneSlot.allCases.compactMap { user.phones[$0] }.map { self.phoneJSON($0) })),
            ])))
        case ("GET", "authentication/phoneMethods/{id}"):
            let methodId = phoneMethodId!
            guard hasPermission(readMethods) else { return denied() }
            guard let slot = PhoneSlot(methodId: methodId), let phone = user.phones[slot] else {
                return CallResult(response: error(404, OurChoices.unknownMethodCode, "The phone method '\(methodId)' was not found for this user.", context: context))
            }
            result = CallResult(response: json(200, withContext(phoneJSON(phone), "\(base)/$metadata#users('\(user.id)')/authentication/phoneMethods/$entity")))
        case ("POST", "authentication/phoneMethods"):
            guard hasPermission(writeMethods) else { return denied() }
            guard let document = JSON.parse(body), case .object = document else {
                return badRequest("Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.", code: "BadRequest")
            }
            guard let number = document["phoneNumber"]?.stringValue, let type = document["phoneType"]?.stringValue else {
                return badRequest("phoneNumber and phoneType are required.")
            }
            do {
                let method = try tenant.addPhone(user: index, number: number, type: type)
                if method.slot == PhoneSlot.mobile && tenant.numberUsedForSMSSignIn(method.number, except: index) {
                    return CallResult(response: phoneNotUnique(context))
                }
                result = CallResult(response: json(201, withContext(phoneJSON(method), "\(base)/$metadata#users('\(user.id)')/authentication/phoneMethods/$entity"),
                                                   headers: [("Location", "\(base)/users/\(user.id)/authentication/phoneMethods/\(method.slot.methodId)")]))
            } catch {
                return failure(error, context: context)
            }
        case ("PATCH", "authentication/phoneMethods/{id}"):
            let methodId = phoneMethodId!
            guard hasPermission(writeMethods) else { return denied() }
            guard let document = JSON.parse(body), case .object = document else {
                return badRequest("Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.", code: "BadRequest")
            }
            do {
                let method = try tenant.updatePhone(user: index, methodId: methodId,
                                                    number: document["phoneNumber"]?.stringValue,
                                                    type: document["phoneType"]?.stringValue)
                if method.slot == PhoneSlot.mobile && tenant.numberUsedForSMSSignIn(method.number, except: index) {
                    return CallResult(response: phoneNotUnique(context))
                }
                result = CallResult(response: EmulatorResponse(status: 204, headers: [], body: []))
            } catch {
                return failure(error, context: context)
            }
        case ("DELETE", "authentication/phoneMethods/{id}"):
            let methodId = phoneMethodId!
            guard hasPermission(writeMethods) else { return denied() }
            do {
                try tenant.deletePhone(user: index, methodId: methodId)
                result = CallResult(response: EmulatorResponse(status: 204, headers: [], body: []))
            } catch {
                return failure(error, context: context)
            }
        case ("GET", "transitiveMemberOf/microsoft.graph.directoryRole"), ("GET", "memberOf/microsoft.graph.directoryRole"):
            guard hasPermission(readUsers) else { return denied() }
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
            return .object([("@odata.type", .string("#microsoft.graph.temporaryAccessPassAuthenticationMethod")), ("id", .string(m.id)),
                            ("temporaryAccessPass", .null), ("createdDateTime", created), ("startDateTime", created),
                            ("lifetimeInMinutes", .int(60)), ("isUsableOnce", .bool(true)), ("isUsable", .bool(false)),
                            ("methodUsabilityReason", .string("Expired"))])
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

    func directoryRoles(expandMembers: Bool, base: String) -> EmulatorResponse {
        var names: [String] = []
        for user in tenant.users { for role in user.roles where !names.contains(role) { names.append(role) } }
        let value: [JSON] = names.sorted().map { name in
            guard case .object(var pairs) = roleJSON(name) else { return roleJSON(name) }
            pairs.removeFirst()
            if expandMembers {
                pairs.append(("members", .array(tenant.users.filter { $0.roles.contains(name) }.map { u in
                    .object([("@odata.type", .string("#microsoft.graph.user")), ("id", .string(u.id)),
                             ("displayName", .string(u.displayName)), ("userPrincipalName", .string(u.userPrincipalName))])
                })))
            }
            return .object(pairs)
        }
        return json(200, .object([("@odata.context", .string("\(base)/$metadata#directoryRoles")), ("value", .array(value))]))
    }
}
