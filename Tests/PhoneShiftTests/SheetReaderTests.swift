import Foundation
import Testing
@testable import PhoneShift

@Suite("Sheet reader (libcsv)")
struct SheetReaderTests {
    let dir = TemporaryDirectory()

    @Test("A named pipe: read when a program writes to it (first byte kept); with no writer, a clear error after the wait instead of hanging")
    func namedPipe() throws {
        let fifo = dir.path + "/feed.csv"
        #expect(mkfifo(fifo, 0o600) == 0)
        let error = #expect(throws: PhoneShiftError.self) { try SheetReader(path: fifo, options: SheetReaderOptions(pipeWriterWait: 0.3)) }
        #expect(error?.message.contains("no program is writing to the pipe") == true, "\(String(describing: error))")
        // A writer (opening blocks until the reader is there, as `cat > fifo` would).
        let text = "user,phone\na@x.io,+1 2065550100\nb@x.io,+1 2065550101\n"
        let writer = Thread {
            let fd = open(fifo, O_WRONLY)
            _ = text.withCString { write(fd, $0, strlen($0)) }
            close(fd)
        }
        writer.start()
        let records = try readAll(fifo, SheetReaderOptions(pipeWriterWait: 30))
        #expect(records.map(\.fields) == [["user", "phone"], ["a@x.io", "+1 2065550100"], ["b@x.io", "+1 2065550101"]])
    }

    @Test("RFC 4180 quoting: embedded delimiter, doubled quotes, line breaks; record lines kept")
    func quoting() throws {
        let path = dir.file("q.csv", "user,phone,note\na@x.io,\"+1, 206\",\"say \"\"hi\"\"\"\nb@x.io,2,\"two\nlines\nhere\"\nc@x.io,3,x\n")
        let records = try readAll(path)
        #expect(records.map(\.line) == [1, 2, 3, 6])
        #expect(records[1].fields == ["a@x.io", "+1, 206", "say \"hi\""])
        #expect(records[2].fields[2] == "two\nlines\nhere")
        #expect(records[3].fields == ["c@x.io", "3", "x"])
    }

    @Test("Line ends: LF, CRLF and CR give the same records and line numbers", arguments: ["\n", "\r\n", "\r"])
    func lineEnds(_ end: String) throws {
        let text = ["h1,h2", "a,1", "", "b,2", "\"c\(end)d\",3", "e,4"].joined(separator: end) + end
        let records = try readAll(dir.file("le.csv", text))
        #expect(records.map(\.line) == [1, 2, 4, 5, 7])
        #expect(records[3].fields[0] == "c\(end)d")
    }

    @Test("Line numbers survive any chunk boundary, also between CR and LF", arguments: [1, 2, 3, 5, 7, 64])
    func chunkBoundaries(_ size: Int) throws {
        let text = "h1,h2\r\na,1\r\n\"x\r\ny\",2\r\n\r\nb,3\r\n"
        let records = try readAll(dir.file("cb.csv", text), SheetReaderOptions(chunkSize: size))
        #expect(records.map(\.line) == [1, 2, 3, 6])
        #expect(records.map { $0.fields[0] } == ["h1", "a", "x\r\ny", "b"])
    }

    @Test("Delimiter detected from the header", arguments: [(",", ","), (";", ";"), ("\t", "\t"), ("|", "|")])
    func delimiters(_ pair: (String, String)) throws {
        let d = pair.0
        let path = dir.file("d.csv", "user\(d)phone\(d)country\nann@x.io\(d)\"+44 20, 7946\"\(d)GB\n")
        let reader = try SheetReader(path: path)
        #expect(reader.delimiter == UInt8(ascii: Unicode.Scalar(pair.1)!))
        _ = try reader.next()
        #expect(try reader.next()?.fields == ["ann@x.io", "+44 20, 7946", "GB"])
    }

    @Test("UTF-8 with BOM: the BOM is not part of the first header")
    func utf8BOM() throws {
        let records = try readAll(dir.file("bom.csv", bytes: [0xEF, 0xBB, 0xBF] + Array("UPN,Phone\nä@x.io,1\n".utf8)))
        #expect(records[0].fields == ["UPN", "Phone"])
        #expect(records[1].fields[0] == "ä@x.io")
    }

    @Test("UTF-16 with BOM, both byte orders, also with characters outside the BMP")
    func utf16() throws {
        let text = "UPN,Phone\r\nzoë@x.io,😀\r\n"
        var le: [UInt8] = [0xFF, 0xFE], be: [UInt8] = [0xFE, 0xFF]
        for unit in text.utf16 {
            le += [UInt8(unit & 0xFF), UInt8(unit >> 8)]
            be += [UInt8(unit >> 8), UInt8(unit & 0xFF)]
        }
        for (name, bytes, encoding) in [("le.csv", le, TextEncoding.utf16LittleEndian), ("be.csv", be, .utf16BigEndian)] {
            let reader = try SheetReader(path: dir.file(name, bytes: bytes), options: SheetReaderOptions(chunkSize: 3))
            #expect(reader.encoding == encoding)
            #expect(try reader.next()?.fields == ["UPN", "Phone"])
            let row = try #require(try reader.next())
            #expect(row.fields == ["zoë@x.io", "😀"])
            #expect(row.line == 2)
        }
    }

    @Test("Invalid UTF-8 marks the record with its field; Windows-1252 decodes on request")
    func invalidUTF8AndWindows1252() throws {
        let bytes = Array("UPN,Phone\nren\u{e9}@x.io,1\n".utf8.map { $0 }).replacing([0xC3, 0xA9], with: [0xE9])
        let path = dir.file("cp.csv", bytes: bytes + Array("ok@x.io,\u{80}\n".utf8).replacing([0xC2, 0x80], with: [0x80]))
        let records = try readAll(path)
        #expect(records[1].problem == .invalidEncoding(field: 1, encoding: .utf8))
        #expect(records[1].line == 2)
        let decoded = try readAll(path, SheetReaderOptions(encoding: .windows1252))
        #expect(decoded[1].fields[0] == "rené@x.io")
        #expect(decoded[2].fields[1] == "€")
        #expect(decoded[1].problem == nil)
    }

    @Test("A NUL byte marks the record, the rest is read")
    func nulByte() throws {
        let records = try readAll(dir.file("nul.csv", bytes: Array("UPN,Phone\na@x.io,1\u{0}2\nb@x.io,3\n".utf8)))
        #expect(records[1].problem == .nulByte(field: 2))
        #expect(records[2].fields == ["b@x.io", "3"])
    }

    @Test("An unclosed quote at end of file names the line where it opened")
    func unbalancedQuote() throws {
        let path = dir.file("uq.csv", "UPN,Phone\na@x.io,1\nb@x.io,\"2\nc@x.io,3\n")
        #expect(throws: PhoneShiftError(.unbalancedQuote, line: 3,
                "a quoted field opened on this line is never closed (the file ends inside quotes)")) {
            try readAll(path)
        }
    }

    @Test("A closed 10 MB field costs its row only (named, with its size); an unclosed one is an unclosed quote")
    func hugeField() throws {
        let big = String(repeating: "9", count: 10 << 20)
        let path = dir.file("big.csv", "UPN,Phone\na@x.io,1\nb@x.io,\"\(big)\"\nc@x.io,3\n")
        let records = try readAll(path)
        #expect(records.map(\.line) == [1, 2, 3, 4])
        #expect(records[2].problems == [.fieldTooLarge(field: 2, bytes: 10 << 20, limit: 1 << 20)], "\(records[2].problems)")
        #expect(records[2].problem?.message.contains("10.0 MB long") == true)
        #expect(records[3].fields == ["c@x.io", "3"] && records[3].problems.isEmpty)
        let open = dir.file("open.csv", "UPN,Phone\na@x.io,1\nb@x.io,\"\(big)\n")
        do {
            _ = try readAll(open)
            Issue.record("expected an error")
        } catch let error as PhoneShiftError {
            #expect(error.code == .unbalancedQuote && error.line == 3, "\(error)")
        }
    }

    @Test("A missing file and a directory are errors that name them")
    func unreadable() {
        #expect(throws: PhoneShiftError.self) { try SheetReader(path: dir.path + "/nope.csv") }
        // Fails when nothing throws, and when what is thrown does not name the problem.
        #expect { _ = try SheetReader(path: dir.path) } throws: { error in
            (error as? PhoneShiftError)?.description.contains("is a directory") == true
        }
    }
}

extension Array where Element == UInt8 {
    func replacing(_ old: [UInt8], with new: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        var i = 0
        while i < count {
            if i + old.count <= count, Array(self[i..<i + old.count]) == old {
                out += new
                i += old.count
            } else {
                out.append(self[i])
                i += 1
            }
        }
        return out
    }
}
