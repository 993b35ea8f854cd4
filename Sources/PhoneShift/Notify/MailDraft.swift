import Foundation

/// An address with an optional display name, for a header.
struct MailAddress: Sendable {
    var name: String?
    var address: String

    /// A plain addr-spec PhoneShift is willing to put in a header: one `@`, no spaces,
    /// control characters, angle brackets, quotes, commas or semicolons. Anything else is not
    /// guessed at: the user is listed as having no usable address.
    static func usable(_ text: String?) -> String? {
        guard let text = text?.trimmingCharacters(in: .whitespaces), !text.isEmpty, text.count <= 254,
              text.filter({ $0 == "@" }).count == 1, !text.hasPrefix("@"), !text.hasSuffix("@") else { return nil }
        let forbidden = CharacterSet(charactersIn: "<>()[]\\,;:\" ").union(.controlCharacters).union(.newlines)
        guard text.unicodeScalars.allSatisfy({ $0.isASCII && !forbidden.contains($0) }) else { return nil }
        return text
    }

    /// Parses `Name <a@b.c>` or `a@b.c` (job settings), nil when the address is not usable.
    static func parse(_ text: String) -> MailAddress? {
        if let open = text.lastIndex(of: "<"), text.hasSuffix(">") {
            let name = text[..<open].trimmingCharacters(in: .whitespaces).trimmingCharacters(in: CharacterSet(charactersIn: "\""))
            guard let address = usable(String(text[text.index(after: open)..<text.index(before: text.endIndex)])) else { return nil }
            return MailAddress(name: name.isEmpty ? nil : name, address: address)
        }
        return usable(text).map { MailAddress(name: nil, address: $0) }
    }

    /// The header form: the name always as an RFC 2047 encoded-word (so that no character
    /// of it — CR, LF, quotes, commas, angle brackets — can mean anything to a mail parser).
    /// Control characters (CR, LF, tab…) in the name become spaces first: a display name is
    /// one line, and mail parsers refuse one that decodes to several. The name is one
    /// encoded-word (RFC 2047: at most 75 characters, so at most 45 bytes of UTF-8), cut with
    /// "…" when longer: parsers disagree on the space between several encoded-words in an
    /// address (Python inserts one, RFC 2047 drops it), and the full name is in the body.
    var header: String {
        var line = String((name ?? "").unicodeScalars.map { $0.properties.generalCategory == .control ? " " : Character($0) })
            .split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
        guard !line.isEmpty else { return address }
        if line.utf8.count > 45 {
            var cut = ""
            for character in line {
                if (cut + String(character)).utf8.count > 42 { break }
                cut.append(character)
            }
            line = cut + "…"
        }
        return MailDraft.encodedWord(line) + " <" + address + ">"
    }
}

/// One RFC 5322 / MIME message: headers, a plain-text part and an HTML part
/// (multipart/alternative), UTF-8, bodies in base64 (lines of 76), so that nothing in the
/// text can break the structure.
struct MailDraft {
    var from: MailAddress
    var replyTo: MailAddress?
    var to: MailAddress
    var subject: String
    var date: Date
    var text: String
    var html: String

    /// A user's name as part of a draft's file name: ASCII letters, digits and `._@-`, the
    /// rest `_`, at most 80 characters.
    static func fileName(_ user: String) -> String {
        String(user.unicodeScalars.map {
            CharacterSet.alphanumerics.contains($0) && $0.isASCII || "._@-".unicodeScalars.contains($0) ? Character($0) : "_"
        }.prefix(80))
    }

    /// `=?UTF-8?B?…?=` words of at most 75 characters each, split on character boundaries.
    static func encodedWord(_ text: String) -> String {
        var words: [String] = []
        var chunk = ""
        for character in text {
            let candidate = chunk + String(character)
            // 45 bytes of UTF-8 make 60 base64 characters: with the 12 of the wrapper, under 75.
            if candidate.utf8.count > 45 {
                words.append(chunk)
                chunk = String(character)
            } else {
                chunk = candidate
            }
        }
        if !chunk.isEmpty || words.isEmpty { words.append(chunk) }
        return words.map { "=?UTF-8?B?" + Data($0.utf8).base64EncodedString() + "?=" }.joined(separator: "\r\n ")
    }

    /// A header value from template text: one line, encoded when not plain ASCII.
    static func headerText(_ text: String) -> String {
        let line = text.components(separatedBy: .newlines).joined(separator: " ").trimmingCharacters(in: .whitespaces)
        let plain = line.unicodeScalars.allSatisfy { $0.isASCII && $0.value >= 0x20 && $0.value < 0x7F } && line.count <= 70
        return plain ? line : encodedWord(line)
    }

    static func rfc5322Date(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss '+0000'"
        return formatter.string(from: date)
    }

    static func base64Lines(_ text: String) -> String {
        let encoded = Data(text.utf8).base64EncodedString()
        var lines: [Substring] = []
        var index = encoded.startIndex
        while index < encoded.endIndex {
            let end = encoded.index(index, offsetBy: 76, limitedBy: encoded.endIndex) ?? encoded.endIndex
            lines.append(encoded[index..<end])
            index = end
        }
        return lines.joined(separator: "\r\n")
    }

    /// The message, CRLF line endings. `X-Unsent: 1` makes Outlook open it as a draft.
    func rendered() -> String {
        let boundary = "phoneshift-" + UUID().uuidString.lowercased()
        let domain = from.address.split(separator: "@").last.map(String.init) ?? "phoneshift.invalid"
        var headers = [
            "From: " + from.header,
            "To: " + to.header,
        ]
        if let replyTo { headers.append("Reply-To: " + replyTo.header) }
        headers += [
            "Subject: " + Self.headerText(subject),
            "Date: " + Self.rfc5322Date(date),
            "Message-ID: <" + UUID().uuidString.lowercased() + "@" + domain + ">",
            "MIME-Version: 1.0",
            "X-Unsent: 1",
            "Content-Type: multipart/alternative; boundary=\"" + boundary + "\"",
        ]
        var out = headers.joined(separator: "\r\n") + "\r\n\r\n"
        for (type, body) in [("text/plain", text), ("text/html", html)] {
            out += "--" + boundary + "\r\n"
            out += "Content-Type: " + type + "; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n"
            out += Self.base64Lines(body) + "\r\n"
        }
        return out + "--" + boundary + "--\r\n"
    }
}
