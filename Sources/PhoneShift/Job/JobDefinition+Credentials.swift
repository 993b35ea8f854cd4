import Foundation

/// Where the job's credential comes from: the client secret (environment or an owner-only
/// file) or a certificate, and the Graph settings built with it. Errors name the variable or
/// the file, never a value.
extension JobDefinition {
    /// Reads the client secret from where the job says, checking a file's mode.
    /// Errors name the variable or file, never the value.
    public func clientSecret(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> Secret {
        if let name = tenant.secretEnvironment {
            guard let value = environment[name], !value.isEmpty else {
                throw PhoneShiftError(.badSetting, "the client secret is to come from the environment variable \(name), which is not set")
            }
            // (`name` passed isVariableName when the job was read.)
            return Secret(value)
        }
        guard let file = tenant.secretFile else {
            throw PhoneShiftError(.badSetting, "\(jobFile): the job uses a certificate, not a client secret")
        }
        if access(file, F_OK) != 0 {
            // What stands in the secret's position is not echoed: it may be the secret itself.
            throw PhoneShiftError(.badSetting, "cannot read the client secret file named by tenant.clientSecret.file in \(jobFile): \(String(cString: strerror(errno))) (the name is not shown, in case it is the secret itself)")
        }
        _ = try InputFile.checkSecret(file, what: "client secret file")
        guard let data = FileManager.default.contents(atPath: file),
              let text = String(data: data, encoding: .utf8)?.trimmingCharacters(in: .whitespacesAndNewlines), !text.isEmpty else {
            throw PhoneShiftError(.badSetting, "the client secret file '\(file)' is empty or not text")
        }
        return Secret(text)
    }

    /// Graph connection settings with the secret resolved.
    public func graphSettings(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> GraphSettings {
        guard let authority = URL(string: tenant.authority), let graph = URL(string: tenant.graph) else {
            throw PhoneShiftError(.badSetting, "\(jobFile): tenant.authority and tenant.graph must be URLs")
        }
        let credential: ClientCredential
        if let certificate = tenant.certificateFile, let key = tenant.privateKeyFile {
            credential = .certificate(try CertificateCredential.load(certificatePath: certificate, keyPath: key,
                                                                     algorithm: tenant.assertionAlgorithm))
        } else {
            credential = .secret(try clientSecret(environment: environment))
        }
        return try GraphSettings(tenantId: tenant.tenantId, clientId: tenant.clientId, credential: credential,
                                 authority: authority, graphBase: graph, cloud: tenant.cloud)
    }
}
