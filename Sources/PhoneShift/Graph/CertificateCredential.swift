import Crypto
import Foundation
import SwiftASN1
import X509
import _CryptoExtras

/// How the app proves who it is to the identity platform.
public enum ClientCredential: Sendable {
    case secret(Secret)
    case certificate(CertificateCredential)
}

/// A certificate credential: the app's certificate (its thumbprint names the key) and RSA
/// private key, from PEM files only their owner can read. Signs client assertions (JWT) as
/// the Microsoft identity platform documents them
/// (learn.microsoft.com/entra/identity-platform/certificate-credentials): PS256 with the
/// certificate's SHA-256 thumbprint in `x5t#S256`, the default; or RS256 with the SHA-1
/// thumbprint in `x5t`, the pairing the service takes for RS256 (an RS256 assertion naming
/// its key by `x5t#S256` is refused "key not found": MicrosoftDocs/entra-docs PR 1301; MSAL
/// moved to PSS with `x5t#S256`: AzureAD/microsoft-authentication-library-for-dotnet 4428).
/// The key never leaves this value; `description` shows the thumbprint only.
public struct CertificateCredential: Sendable, CustomStringConvertible, CustomReflectable {
    public enum Algorithm: String, Sendable { case rs256 = "RS256", ps256 = "PS256" }

    /// Base64url SHA-256 of the certificate's DER (`x5t#S256`).
    public let thumbprintSHA256: String
    /// Base64url SHA-1 of the DER (`x5t`, sent with RS256).
    public let thumbprintSHA1: String
    /// Base64url SHA-1 of the DER (`x5t`), shown to people to match the portal's thumbprint.
    public let thumbprintSHA1Hex: String
    public let notValidAfter: Date
    let algorithm: Algorithm
    private let key: _RSA.Signing.PrivateKey

    public var description: String { "certificate \(thumbprintSHA1Hex) (\(algorithm.rawValue))" }
    /// `dump()` and the debugger see the thumbprints, never the private key.
    public var customMirror: Mirror {
        Mirror(self, children: ["thumbprintSHA1Hex": thumbprintSHA1Hex, "thumbprintSHA256": thumbprintSHA256,
                                "notValidAfter": notValidAfter, "algorithm": algorithm.rawValue, "key": "<private key>"],
               displayStyle: .struct)
    }

    /// Reads and checks the certificate and key. Errors name the file and the problem,
    /// never key material.
    public static func load(certificatePath: String, keyPath: String, algorithm: Algorithm = .ps256,
                            now: Date = Date()) throws -> CertificateCredential {
        func read(_ path: String, what: String) throws -> String {
            _ = try InputFile.checkSecret(path, what: what)
            guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
                throw PhoneShiftError(.badSetting, "cannot read the \(what) '\(path)' as PEM text")
            }
            return text
        }
        let certificateText = try read(certificatePath, what: "certificate file")
        let keyText = try read(keyPath, what: "private key file")
        let certificate: Certificate
        do {
            certificate = try Certificate(pemEncoded: certificateText)
        } catch {
            throw PhoneShiftError(.badSetting, "the certificate file '\(certificatePath)' does not hold a PEM certificate (-----BEGIN CERTIFICATE-----): \(error)")
        }
        if keyText.contains("ENCRYPTED") {
            throw PhoneShiftError(.badSetting, "the private key '\(keyPath)' is encrypted; PhoneShift runs unattended and reads an unencrypted key protected by its file mode (openssl pkey -in key.pem -out plain.pem, then chmod 600)")
        }
        let key: _RSA.Signing.PrivateKey
        do {
            key = try _RSA.Signing.PrivateKey(pemRepresentation: keyText)
        } catch {
            throw PhoneShiftError(.badSetting, "the private key file '\(keyPath)' does not hold an RSA private key in PEM (the identity platform takes RSA keys of 2048 bits or more)")
        }
        guard let certificateKey = _RSA.Signing.PublicKey(certificate.publicKey),
              certificateKey.derRepresentation == key.publicKey.derRepresentation else {
            throw PhoneShiftError(.badSetting, "the private key '\(keyPath)' does not belong to the certificate '\(certificatePath)'")
        }
        if certificate.notValidAfter < now {
            throw PhoneShiftError(.badSetting, "the certificate '\(certificatePath)' expired on \(ISO8601DateFormatter().string(from: certificate.notValidAfter)); upload a new one to the app registration")
        }
        var serializer = DER.Serializer()
        try serializer.serialize(certificate)
        let der = Data(serializer.serializedBytes)
        let sha1 = Insecure.SHA1.hash(data: der)
        return CertificateCredential(thumbprintSHA256: base64URL(Data(Crypto.SHA256.hash(data: der))),
                                     thumbprintSHA1: base64URL(Data(sha1)),
                                     thumbprintSHA1Hex: sha1.map { String(format: "%02X", $0) }.joined(),
                                     notValidAfter: certificate.notValidAfter, algorithm: algorithm, key: key)
    }

    /// A signed client assertion for `clientId` at `audience` (the token endpoint URL),
    /// valid from now for `lifetime` seconds, with a fresh `jti`.
    public func assertion(clientId: String, audience: String, now: Date = Date(), lifetime: Double = 300) throws -> String {
        let header: [String: Any] = algorithm == .ps256
            ? ["alg": "PS256", "typ": "JWT", "x5t#S256": thumbprintSHA256]
            : ["alg": "RS256", "typ": "JWT", "x5t": thumbprintSHA1]
        let issued = Int(now.timeIntervalSince1970)
        let claims: [String: Any] = ["aud": audience, "iss": clientId, "sub": clientId, "jti": UUID().uuidString.lowercased(),
                                     "nbf": issued, "iat": issued, "exp": issued + Int(lifetime)]
        func part(_ object: [String: Any]) throws -> String {
            base64URL(try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]))
        }
        let signingInput = try part(header) + "." + part(claims)
        let digest = Crypto.SHA256.hash(data: Data(signingInput.utf8))
        let signature = try key.signature(for: digest, padding: algorithm == .rs256 ? .insecurePKCS1v1_5 : .PSS)
        return signingInput + "." + base64URL(signature.rawRepresentation)
    }
}

func base64URL(_ data: Data) -> String {
    data.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
        .replacingOccurrences(of: "=", with: "")
}
