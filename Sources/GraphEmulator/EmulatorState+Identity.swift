import Foundation

/// The identity platform: the token endpoint and bearer tokens.
extension EmulatorState {
    mutating func token(_ request: EmulatorRequest, tenant tenantName: String, context: CallContext) -> EmulatorResponse {
        func aad(_ status: Int, _ code: String, _ aadsts: Int, _ text: String) -> EmulatorResponse {
            let trace = UUID().uuidString.lowercased()
            let description = "AADSTS\(aadsts): \(text) Trace ID: \(trace) Correlation ID: \(context.requestId) Timestamp: \(isoDate(context.now))"
            return json(status, .object([
                ("error", .string(code)), ("error_description", .string(description)),
                ("error_codes", .array([.int(aadsts)])), ("timestamp", .string(isoDate(context.now))),
                ("trace_id", .string(trace)), ("correlation_id", .string(context.requestId)),
                ("error_uri", .string("https://login.microsoftonline.com/error?code=\(aadsts)")),
            ]))
        }
        guard request.method == "POST" else {
            return aad(400, "invalid_request", 900561, "The endpoint only accepts POST requests.")
        }
        let form = parseForm(request.body)
        let knownTenant = tenantName.lowercased() == options.seed.tenant.id.lowercased()
            || options.tenantAliases.contains { $0.lowercased() == tenantName.lowercased() }
        guard knownTenant else {
            return aad(400, "invalid_request", 90002, "Tenant '\(tenantName)' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.")
        }
        guard form["grant_type"] == "client_credentials" else {
            return aad(400, "unsupported_grant_type", 70003, "The app requested an unsupported grant type '\(form["grant_type"] ?? "")'.")
        }
        guard let clientId = form["client_id"], clientId.lowercased() == options.clientId.lowercased() else {
            return aad(400, "unauthorized_client", 700016, "Application with identifier '\(form["client_id"] ?? "")' was not found in the directory '\(options.seed.tenant.displayName)'.")
        }
        if let assertion = form["client_assertion"] {
            guard form["client_assertion_type"] == "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" else {
                return aad(400, "invalid_request", 900144, "The request body must contain the following parameter: 'client_assertion_type'.")
            }
            if let failure = verifyAssertion(assertion, clientId: clientId, tenant: tenantName, now: context.now) {
                return aad(401, "invalid_client", failure.code, failure.text)
            }
        } else if let secret = form["client_secret"], secret == options.clientSecret {
            if options.secretExpired {
                return aad(401, "invalid_client", 7000222, "The provided client secret keys for app '\(options.clientId)' are expired. Visit the Azure portal to create new keys for your app.")
            }
        } else {
            return aad(401, "invalid_client", 7000215, "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '\(options.clientId)'.")
        }
        let scope = form["scope"] ?? ""
        guard scope.hasSuffix("/.default") else {
            return aad(400, "invalid_scope", 1002012, "The provided value for scope \(scope) is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).")
        }
        // Each cloud's identity platform issues tokens for its own Graph only.
        let resource = String(scope.dropLast("/.default".count))
        guard URL(string: resource)?.host?.lowercased() == options.graphHost else {
            return aad(400, "invalid_resource", 500011, "The resource principal named \(resource) was not found in the tenant named \(options.seed.tenant.displayName). This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant.")
        }
        let token = makeToken(app: clientId, now: context.now)
        tokens[token] = (clientId.lowercased(), context.now + options.tokenLifetime)
        let lifetime = Int(options.tokenLifetime.rounded())
        return json(200, .object([
            ("token_type", .string("Bearer")), ("expires_in", .int(lifetime)),
            ("ext_expires_in", .int(lifetime)), ("access_token", .string(token)),
        ]))
    }

    func makeToken(app: String, now: Double) -> String {
        func b64(_ s: String) -> String {
            Data(s.utf8).base64EncodedString().replacingOccurrences(of: "+", with: "-")
                .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
        }
        let roles = options.permissions.sorted().map { "\"\($0)\"" }.joined(separator: ",")
        let payload = "{\"aud\":\"https://\(options.graphHost)\",\"iss\":\"https://sts.windows.net/\(options.seed.tenant.id)/\",\"iat\":\(Int(now)),\"exp\":\(Int(now + options.tokenLifetime)),\"appid\":\"\(app)\",\"tid\":\"\(options.seed.tenant.id)\",\"roles\":[\(roles)],\"jti\":\"\(UUID().uuidString.lowercased())\"}"
        return b64("{\"typ\":\"JWT\",\"alg\":\"none\"}") + "." + b64(payload) + "." + b64(UUID().uuidString + UUID().uuidString)
    }

    func parseForm(_ body: [UInt8]) -> [String: String] {
        var out: [String: String] = [:]
        for pair in String(decoding: body, as: UTF8.self).split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1)
            func decode(_ s: Substring) -> String {
                (String(s).replacingOccurrences(of: "+", with: " ").removingPercentEncoding) ?? String(s)
            }
            out[decode(parts[0])] = parts.count > 1 ? decode(parts[1]) : ""
        }
        return out
    }

    enum Authentication {
        case app(String)
        case rejected(EmulatorResponse)
    }

    func authenticate(_ request: EmulatorRequest, context: CallContext) -> Authentication {
        guard let header = request.headers["authorization"], header.lowercased().hasPrefix("bearer "),
              !header.dropFirst(7).trimmingCharacters(in: .whitespaces).isEmpty else {
            return .rejected(error(401, "InvalidAuthenticationToken", "Access token is empty.", context: context,
                                  headers: [("WWW-Authenticate", "Bearer realm=\"\", authorization_uri=\"https://login.microsoftonline.com/common/oauth2/authorize\", client_id=\"00000003-0000-0000-c000-000000000000\"")]))
        }
        let token = String(header.dropFirst(7)).trimmingCharacters(in: .whitespaces)
        guard let entry = tokens[token] else {
            return .rejected(error(401, "InvalidAuthenticationToken", "Access token validation failure. Invalid audience.", context: context))
        }
        guard entry.expires > context.now else {
            return .rejected(error(401, "InvalidAuthenticationToken", "Lifetime validation failed, the token is expired.", context: context))
        }
        return .app(entry.app)
    }
}
