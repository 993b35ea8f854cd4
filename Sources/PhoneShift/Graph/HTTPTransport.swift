import CCurl
import Foundation

/// One HTTP request for the transport.
public struct HTTPRequest: Sendable {
    public var method: String
    public var url: String
    public var headers: [(String, String)]
    public var body: [UInt8]
    /// Open a new connection instead of reusing one (after a 503, as Graph advises).
    public var freshConnection: Bool

    public init(method: String, url: String, headers: [(String, String)] = [], body: [UInt8] = [], freshConnection: Bool = false) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.freshConnection = freshConnection
    }
}

/// An HTTP response; header names in lowercase.
public struct HTTPResponse: Sendable {
    public var status: Int
    public var headers: [String: String]
    public var body: [UInt8]
}

/// A failure below HTTP: no connection, a timeout, a broken transfer. The message is
/// libcurl's, which holds no secret (request bodies and headers are never part of it).
public struct TransportError: Error, CustomStringConvertible, Sendable {
    public let code: Int32
    public let message: String
    public var isTimeout: Bool { code == Int32(CURLE_OPERATION_TIMEDOUT.rawValue) }
    /// The request never left: no proxy, host or connection could be had.
    public var beforeSending: Bool {
        [CURLE_COULDNT_RESOLVE_PROXY, CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_CONNECT]
            .map { Int32($0.rawValue) }.contains(code)
    }
    /// TLS refused the server (an untrusted or wrong certificate): not trouble that passes.
    public var isTLSFailure: Bool {
        [CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CONNECT_ERROR, CURLE_SSL_CERTPROBLEM, CURLE_SSL_CACERT_BADFILE,
         CURLE_SSL_PINNEDPUBKEYNOTMATCH, CURLE_SSL_ISSUER_ERROR].map { Int32($0.rawValue) }.contains(code)
    }
    public var description: String { "network error \(code): \(message)" }
}

/// Settings of the transport.
public struct TransportOptions: Sendable {
    public var connectTimeout: Double = 10
    public var requestTimeout: Double = 60
    /// Connections kept per host (also the number of transfers in flight).
    public var maxConnectionsPerHost: Int = 16
    /// The largest answer body accepted: a longer one ends the transfer with a transport
    /// error instead of growing without bound (Graph's largest pages are a few megabytes).
    public var maxResponseBytes: Int = 64 << 20
    /// The most header bytes accepted in one answer.
    public var maxHeaderBytes: Int = 256 << 10
    /// The proxy for https:// requests: nil, the environment's (libcurl reads https_proxy,
    /// HTTPS_PROXY, no_proxy, NO_PROXY); "", none; else this URL.
    public var proxy: String?
    public init(connectTimeout: Double = 10, requestTimeout: Double = 60, maxConnectionsPerHost: Int = 16, proxy: String? = nil) {
        self.connectTimeout = connectTimeout
        self.requestTimeout = requestTimeout
        self.maxConnectionsPerHost = maxConnectionsPerHost
        self.proxy = proxy
    }
}

/// HTTP over libcurl's multi interface, driven by one dedicated thread and bridged to
/// async/await with continuations: no blocking call ever runs on Swift's cooperative pool.
/// Persistent connections, HTTP/2 where the server offers it over TLS, proxy variables
/// honoured (libcurl reads http_proxy, https_proxy, no_proxy), TLS verification always on.
///
/// The transfer thread holds only the engine, never the transport: dropping the last
/// reference to a transport shuts its thread down (as `shutdown()` does explicitly).
public final class CurlTransport: Sendable {
    let engine: CurlEngine

    public init(options: TransportOptions = .init()) {
        engine = CurlEngine(options: options)
        let engine = self.engine
        let thread = Thread {
            // Named from inside (corelibs applies a name set before start only on Apple systems).
            Thread.current.name = "phoneshift-curl"
            engine.loop()
        }
        thread.start()
    }

    deinit { engine.shutdown() }

    /// Stops the transfer thread; transfers still running fail with a transport error.
    public func shutdown() { engine.shutdown() }

    /// Sends a request and waits (without blocking a thread) for its response.
    public func send(_ request: HTTPRequest) async throws -> HTTPResponse {
        try await engine.send(request)
    }
}

/// The multi handle, its transfers and the loop that drives them.
final class CurlEngine: @unchecked Sendable {
    // @unchecked: `incoming` and `closed` are guarded by `lock`; everything else belongs
    // to the transfer thread (`multi` is also woken from other threads, which libcurl allows).
    private let lock = NSLock()
    private var incoming: [Transfer] = []
    private var closed = false
    private let multi: UnsafeMutableRawPointer
    private let options: TransportOptions
    private let finished = DispatchSemaphore(value: 0)

    private static let globalInit: Void = { curl_global_init(Int(CURL_GLOBAL_ALL)) }()

    init(options: TransportOptions) {
        _ = Self.globalInit
        self.options = options
        multi = curl_multi_init()
        _ = phoneshift_curl_multi_setopt_long(multi, CURLMOPT_MAX_HOST_CONNECTIONS, options.maxConnectionsPerHost)
        _ = phoneshift_curl_multi_setopt_long(multi, CURLMOPT_PIPELINING, Int(CURLPIPE_MULTIPLEX))
    }

    deinit { curl_multi_cleanup(multi) }

    func shutdown() {
        let wasOpen = lock.withLock { () -> Bool in
            defer { closed = true }
            return !closed
        }
        guard wasOpen else { return }
        curl_multi_wakeup(multi)
        finished.wait()
    }

    func send(_ request: HTTPRequest) async throws -> HTTPResponse {
        try await withCheckedThrowingContinuation { continuation in
            let transfer = Transfer(request: request, continuation: continuation)
            let accepted = lock.withLock { () -> Bool in
                guard !closed else { return false }
                incoming.append(transfer)
                return true
            }
            if accepted {
                curl_multi_wakeup(multi)
            } else {
                continuation.resume(throwing: TransportError(code: -1, message: "the HTTP transport is shut down"))
            }
        }
    }

    // MARK: - The transfer thread

    private var active: [UnsafeMutableRawPointer: Transfer] = [:]
    private var idleHandles: [UnsafeMutableRawPointer] = []

    func loop() {
        while true {
            let (batch, stop) = lock.withLock { () -> ([Transfer], Bool) in
                defer { incoming.removeAll() }
                return (incoming, closed)
            }
            for transfer in batch { start(transfer) }
            if stop { break }
            var running: Int32 = 0
            curl_multi_perform(multi, &running)
            var remaining: Int32 = 0
            while let message = curl_multi_info_read(multi, &remaining) {
                guard message.pointee.msg == CURLMSG_DONE, let easy = message.pointee.easy_handle else { continue }
                complete(easy, result: message.pointee.data.result)
            }
            var ready: Int32 = 0
            curl_multi_poll(multi, nil, 0, 1000, &ready)
        }
        for (easy, transfer) in active {
            curl_multi_remove_handle(multi, easy)
            curl_easy_cleanup(easy)
            transfer.releaseHeaders()
            transfer.continuation.resume(throwing: TransportError(code: -1, message: "the HTTP transport was shut down"))
        }
        active = [:]
        for easy in idleHandles { curl_easy_cleanup(easy) }
        idleHandles = []
        finished.signal()
    }

    private func start(_ transfer: Transfer) {
        guard let easy = idleHandles.popLast() ?? curl_easy_init() else {
            transfer.continuation.resume(throwing: TransportError(code: -1, message: "cannot create a transfer (out of memory)"))
            return
        }
        curl_easy_reset(easy)
        do {
            try configure(easy, for: transfer)
        } catch {
            // An option libcurl refused (an over-long URL, memory): this request fails, the
            // handle goes back to the pool, nothing waits forever.
            transfer.releaseHeaders()
            recycle(easy)
            transfer.continuation.resume(throwing: error)
            return
        }
        active[easy] = transfer
        let added = curl_multi_add_handle(multi, easy)
        if added != CURLM_OK {
            active[easy] = nil
            transfer.releaseHeaders()
            recycle(easy)
            transfer.continuation.resume(throwing: TransportError(
                code: -1, message: "cannot start the transfer: \(String(cString: curl_multi_strerror(added)))"))
        }
    }

    /// Sets every option of one request; the first that libcurl refuses ends it, named.
    private func configure(_ easy: UnsafeMutableRawPointer, for transfer: Transfer) throws(TransportError) {
        func check(_ code: CURLcode, _ option: String) throws(TransportError) {
            guard code == CURLE_OK else {
                throw TransportError(code: Int32(code.rawValue),
                                     message: "cannot set up the request (\(option)): \(String(cString: curl_easy_strerror(code)))")
            }
        }
        let r = transfer.request
        try check(phoneshift_curl_easy_setopt_string(easy, CURLOPT_URL, r.url), "URL")
        try check(phoneshift_curl_easy_setopt_long(easy, CURLOPT_NOSIGNAL, 1), "NOSIGNAL")
        try check(phoneshift_curl_easy_setopt_long(easy, CURLOPT_CONNECTTIMEOUT_MS, Int(options.connectTimeout * 1000)), "CONNECTTIMEOUT_MS")
        try check(phoneshift_curl_easy_setopt_long(easy, CURLOPT_TIMEOUT_MS, Int(options.requestTimeout * 1000)), "TIMEOUT_MS")
        try check(phoneshift_curl_easy_setopt_long(easy, CURLOPT_SSL_VERIFYPEER, 1), "SSL_VERIFYPEER")
        try check(phoneshift_curl_easy_setopt_long(easy, CURLOPT_SSL_VERIFYHOST, 2), "SSL_VERIFYHOST")
        try check(phoneshift_curl_easy_setopt_long(easy, CURLOPT_HTTP_VERSION, Int(CURL_HTTP_VERSION_2TLS)), "HTTP_VERSION")
        try check(phoneshift_curl_easy_setopt_string(easy, CURLOPT_PROTOCOLS_STR, "http,https"), "PROTOCOLS_STR")
        // Plain http:// goes only to this machine (GraphSettings.checkEndpoint): never through
        // a proxy, which would receive the token request, client secret included, in clear
        // text. An empty CURLOPT_PROXY overrides http_proxy and all_proxy from the environment.
        if r.url.lowercased().hasPrefix("http://") {
            try check(phoneshift_curl_easy_setopt_string(easy, CURLOPT_PROXY, ""), "PROXY")
        } else if let proxy = options.proxy {
            // The job's tenant.proxy (or "" for none) instead of the environment's.
            try check(phoneshift_curl_easy_setopt_string(easy, CURLOPT_PROXY, proxy), "PROXY")
        }
        try check(phoneshift_curl_easy_setopt_long(easy, CURLOPT_FOLLOWLOCATION, 0), "FOLLOWLOCATION")
        try check(phoneshift_curl_easy_setopt_string(easy, CURLOPT_ACCEPT_ENCODING, ""), "ACCEPT_ENCODING")
        if r.freshConnection { try check(phoneshift_curl_easy_setopt_long(easy, CURLOPT_FRESH_CONNECT, 1), "FRESH_CONNECT") }
        switch r.method {
        case "GET": try check(phoneshift_curl_easy_setopt_long(easy, CURLOPT_HTTPGET, 1), "HTTPGET")
        default:
            try check(phoneshift_curl_easy_setopt_string(easy, CURLOPT_CUSTOMREQUEST, r.method), "CUSTOMREQUEST")
            if !r.body.isEmpty || r.method == "POST" || r.method == "PATCH" {
                // libcurl copies the body during this call: no pointer into Swift memory outlives it.
                try check(phoneshift_curl_easy_setopt_long(easy, CURLOPT_POSTFIELDSIZE, r.body.count), "POSTFIELDSIZE")
                let body = r.body.isEmpty ? [0] : r.body
                let copied = body.withUnsafeBufferPointer { buffer in
                    phoneshift_curl_easy_setopt_pointer(easy, CURLOPT_COPYPOSTFIELDS, UnsafeMutableRawPointer(mutating: buffer.baseAddress))
                }
                try check(copied, "COPYPOSTFIELDS")
            }
        }
        var list: UnsafeMutablePointer<curl_slist>?
        for (name, value) in r.headers {
            guard let longer = curl_slist_append(list, "\(name): \(value)") else {
                curl_slist_free_all(list)
                throw TransportError(code: Int32(CURLE_OUT_OF_MEMORY.rawValue), message: "cannot set up the request (headers): out of memory")
            }
            list = longer
        }
        // No "Expect: 100-continue" round trip for small bodies.
        if let longer = curl_slist_append(list, "Expect:") { list = longer }
        transfer.headerList = list
        try check(phoneshift_curl_easy_setopt_slist(easy, CURLOPT_HTTPHEADER, list), "HTTPHEADER")
        // Bodies and headers are capped as they arrive (the callbacks refuse more).
        transfer.maxBody = options.maxResponseBytes
        transfer.maxHeaders = options.maxHeaderBytes
        let userData = Unmanaged.passUnretained(transfer).toOpaque()
        try check(phoneshift_curl_easy_setopt_write_callback(easy, CURLOPT_WRITEFUNCTION, Transfer.onBody), "WRITEFUNCTION")
        try check(phoneshift_curl_easy_setopt_pointer(easy, CURLOPT_WRITEDATA, userData), "WRITEDATA")
        try check(phoneshift_curl_easy_setopt_write_callback(easy, CURLOPT_HEADERFUNCTION, Transfer.onHeader), "HEADERFUNCTION")
        try check(phoneshift_curl_easy_setopt_pointer(easy, CURLOPT_HEADERDATA, userData), "HEADERDATA")
    }

    /// Keeps a finished handle for the next transfer (up to 64), else frees it.
    private func recycle(_ easy: UnsafeMutableRawPointer) {
        if idleHandles.count < 64 { idleHandles.append(easy) } else { curl_easy_cleanup(easy) }
    }

    private func complete(_ easy: UnsafeMutableRawPointer, result: CURLcode) {
        curl_multi_remove_handle(multi, easy)
        guard let transfer = active.removeValue(forKey: easy) else { return }
        transfer.releaseHeaders()
        if let overflow = transfer.overflow {
            transfer.continuation.resume(throwing: TransportError(
                code: Int32(CURLE_WRITE_ERROR.rawValue), message: "the answer's \(overflow) is larger than the \(overflow == "body" ? transfer.maxBody : transfer.maxHeaders) bytes accepted; refused"))
        } else if result == CURLE_OK {
            var status = 0
            let code = phoneshift_curl_easy_getinfo_long(easy, CURLINFO_RESPONSE_CODE, &status)
            if code == CURLE_OK {
                transfer.continuation.resume(returning: HTTPResponse(status: status, headers: transfer.headers, body: transfer.received))
            } else {
                transfer.continuation.resume(throwing: TransportError(
                    code: Int32(code.rawValue), message: "cannot read the answer's status: \(String(cString: curl_easy_strerror(code)))"))
            }
        } else {
            let message = String(cString: curl_easy_strerror(result))
            transfer.continuation.resume(throwing: TransportError(code: Int32(result.rawValue), message: message))
        }
        recycle(easy)
    }

    /// One transfer in flight; reached from libcurl's callbacks through its userdata pointer,
    /// kept alive by `active` until it completes. Owns its header list.
    private final class Transfer {
        let request: HTTPRequest
        let continuation: CheckedContinuation<HTTPResponse, Error>
        var received: [UInt8] = []
        var headers: [String: String] = [:]
        var headerList: UnsafeMutablePointer<curl_slist>?
        var maxBody = Int.max
        var maxHeaders = Int.max
        var headerBytes = 0
        /// "body" or "headers" when the answer went past its cap (the transfer was aborted).
        var overflow: String?

        init(request: HTTPRequest, continuation: CheckedContinuation<HTTPResponse, Error>) {
            self.request = request
            self.continuation = continuation
        }

        func releaseHeaders() {
            curl_slist_free_all(headerList)
            headerList = nil
        }

        deinit { releaseHeaders() }

        static let onBody: @convention(c) (UnsafeMutablePointer<CChar>?, Int, Int, UnsafeMutableRawPointer?) -> Int = { data, size, count, user in
            let transfer = Unmanaged<Transfer>.fromOpaque(user!).takeUnretainedValue()
            let length = size * count
            guard transfer.received.count + length <= transfer.maxBody else {
                transfer.overflow = "body"
                return 0  // fewer bytes than given: libcurl aborts the transfer
            }
            if let data, length > 0 {
                data.withMemoryRebound(to: UInt8.self, capacity: length) {
                    transfer.received.append(contentsOf: UnsafeBufferPointer(start: $0, count: length))
                }
            }
            return length
        }

        static let onHeader: @convention(c) (UnsafeMutablePointer<CChar>?, Int, Int, UnsafeMutableRawPointer?) -> Int = { data, size, count, user in
            let transfer = Unmanaged<Transfer>.fromOpaque(user!).takeUnretainedValue()
            let length = size * count
            transfer.headerBytes += length
            guard transfer.headerBytes <= transfer.maxHeaders else {
                transfer.overflow = "headers"
                return 0
            }
            guard let data, length > 0 else { return length }
            let line = data.withMemoryRebound(to: UInt8.self, capacity: length) {
                String(decoding: UnsafeBufferPointer(start: $0, count: length), as: UTF8.self)
            }
            if line.hasPrefix("HTTP/") {
                transfer.headers = [:]  // a new response (after 100-continue or a redirect)
            } else if let colon = line.firstIndex(of: ":") {
                let name = line[..<colon].lowercased()
                // Trimmed in Swift: Foundation's trimmingCharacters bridges through NSString,
                // a tenth of apply's CPU time at a few headers per answer.
                var value = line[line.index(after: colon)...]
                while value.first?.isWhitespace == true { value = value.dropFirst() }
                while value.last?.isWhitespace == true { value = value.dropLast() }
                transfer.headers[name] = String(value)
            }
            return length
        }
    }
}
