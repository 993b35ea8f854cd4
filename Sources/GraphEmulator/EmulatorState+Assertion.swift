import Crypto
import Foundation
import SwiftASN1
import X509
import _CryptoExtras

/// A certificate registered on the emulated app registration.
public struct RegisteredCertificate: Sendable {
    /// Checks that `pem` is a certificate the emulator can register (throws when not).
    public static func check(pem: String) throws -> Bool {
        _ = try RegisteredCertificate(pem: pem)
        return true
    }

    var sha256: String
    var sha1: String
    var key: _RSA.Signing.PublicKey
    var notValidAfter: Date

    /// Parses a PEM certificate (the emulator's own reading, with swift-certificates).
    init(pem: String) throws {
        let certificate = try Certificate(pemEncoded: pem)
        guard let key = _RSA.Signing.PublicKey(certificate.publicKey) else {
            throw EmulatorError("the registered certificate does not carry an RSA key")
        }
        var serializer = DER.Serializer()
        try serializer.serialize(certificate)
        let der = Data(serializer.serializedBytes)
        sha256 = Self.base64URL(Data(SHA256.hash(data: der)))
        sha1 = Self.base64URL(Data(Insecure.SHA1.hash(data: der)))
        self.key = key
        notValidAfter = certificate.notValidAfter
    }

    static func base64URL(_ data: Data) -> String {
        data.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    static func decodeBase64URL(_ text: Substring) -> Data? {
        var s = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while s.count % 4 != 0 { s += "=" }
        return Data(base64Encoded: s)
    }
}

/// Client assertions (certificate credentials), checked as the identity platform documents:
/// the signature against a certificate registered on the app (found by `x5t#S256` or `x5t`),
/// `aud` the token endpoint, `iss` = `sub` = the client id, `nbf`/`exp` around now, and a
/// `jti` used once.
extension EmulatorState {
    struct AssertionFailure {
        var code: Int
        var text: String
    }

    mutating func verifyAssertion(_ assertion: String, clientId: String, tenant: String, now: Double) -> AssertionFailure? {
        let parts = assertion.split(separator: ".", omittingEmptySubsequences: false)
        func object(_ part: Substring) -> [String: Any]? {
            RegisteredCertificate.decodeBase64URL(part).flatMap { try? JSONSerialization.jsonObject(with: $0) as? [String: Any] }
        }
        guard parts.count == 3, let header = object(parts[0]), let claims = object(parts[1]),
              let signature = RegisteredCertificate.decodeBase64URL(parts[2]) else {
            return AssertionFailure(code: 50027, text: "JWT token is invalid or malformed.")
        }
        // OurChoices.assertionThumbprintPairing: PS256 names its key by x5t#S256, RS256 by x5t.
        let padding: _RSA.Signing.Padding
        let thumbprint: String
        let matches: (RegisteredCertificate) -> Bool
        switch header["alg"] as? String {
        case "RS256":
            padding = .insecurePKCS1v1_5
            thumbprint = header["x5t"] as? String ?? header["x5t#S256"] as? String ?? ""
            matches = { $0.sha1 == thumbprint }
        case "PS256":
            padding = .PSS
            thumbprint = header["x5t#S256"] as? String ?? header["x5t"] as? String ?? ""
            matches = { $0.sha256 == thumbprint }
        default: return AssertionFailure(code: 700027, text: "Client assertion contains an invalid signature. [Reason - The algorithm is not supported.]")
        }
        guard let certificate = registeredCertificates.first(where: matches) else {
            return AssertionFailure(code: 700027, text: "The certificate with identifier used to sign the client assertion is not registered on application. [Reason - The key was not found., Thumbprint of key used by client: '\(thumbprint)']")
        }
        let digest = SHA256.hash(data: Data((parts[0] + "." + parts[1]).utf8))
        guard certificate.key.isValidSignature(_RSA.Signing.RSASignature(rawRepresentation: signature), for: digest, padding: padding) else {
            return AssertionFailure(code: 700027, text: "Client assertion contains an invalid signature. [Reason - The provided signature value did not match the expected signature value.]")
        }
        let audience = claims["aud"] as? String ?? ""
        let expected = options.publicBaseURL + "/\(tenant)/oauth2/v2.0/token"
        guard audience.lowercased() == expected.lowercased() else {
            return AssertionFailure(code: OurChoices.assertionAudienceError, text: "The audience claim '\(audience)' of the client assertion is not the token endpoint '\(expected)'.")
        }
        guard (claims["iss"] as? String)?.lowercased() == clientId.lowercased(), (claims["sub"] as? String)?.lowercased() == clientId.lowercased() else {
            return AssertionFailure(code: 700021, text: "Client assertion application identifier doesn't match 'client_id' parameter.")
        }
        let notBefore = claims["nbf"] as? Double ?? 0, expires = claims["exp"] as? Double ?? 0
        guard notBefore <= now + OurChoices.assertionClockSkew, expires > now - OurChoices.assertionClockSkew else {
            return AssertionFailure(code: 700024, text: "Client assertion is not within its valid time range. Current time: \(isoDate(now)), assertion valid from \(isoDate(notBefore)), expiry time of assertion \(isoDate(expires)).")
        }
        guard certificate.notValidAfter.timeIntervalSince1970 > now else {
            return AssertionFailure(code: 700027, text: "Client assertion contains an invalid signature. [Reason - The key used is expired.]")
        }
        guard let jti = claims["jti"] as? String, !jti.isEmpty, usedAssertionIds.insert(jti).inserted else {
            return AssertionFailure(code: OurChoices.assertionReplayError, text: "The client assertion's jti has already been used (replay).")
        }
        return nil
    }
}
