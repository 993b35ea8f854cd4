import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore

/// Runs the emulator over HTTP (Hummingbird) on loopback (unless told otherwise).
public enum EmulatorServer {
    /// A running emulator. `stop()` ends it.
    public final class Running: Sendable {
        public let baseURL: String
        public let service: GraphService
        private let task: Task<Void, Error>

        init(baseURL: String, service: GraphService, task: Task<Void, Error>) {
            self.baseURL = baseURL
            self.service = service
            self.task = task
        }

        public func stop() async {
            service.openWriteGate()
            task.cancel()
            _ = try? await task.value
        }
    }

    struct DroppedConnection: Error {}

    /// Starts the server and returns once it listens. Throws when it cannot bind. `clock`
    /// (seconds) is the emulator's time: token lifetimes, throttling windows, Retry-After;
    /// a test can share one clock, moved by hand, with the client it checks.
    public static func start(_ options: EmulatorOptions, logger: Logger = Logger(label: "graph-emulator"),
                             clock: @escaping @Sendable () -> Double = { Date().timeIntervalSince1970 }) async throws -> Running {
        let service = GraphService(options: options, clock: clock)
        let (stream, continuation) = AsyncStream<Result<Int, Error>>.makeStream()
        let responder = CallbackResponder<BasicRequestContext> { request, context in
            var request = request
            var headers: [String: String] = [:]
            for field in request.headers { headers[field.name.canonicalName] = field.value }
            let body = try await request.collectBody(upTo: 4 << 20)
            let core = EmulatorRequest(method: request.method.rawValue, path: request.uri.path,
                                       query: request.uri.query ?? "", headers: headers,
                                       body: Array(body.readableBytesView))
            let answer = await service.handle(core)
            var fields = HTTPFields()
            for (name, value) in answer.headers {
                if let field = HTTPField.Name(name) { fields.append(HTTPField(name: field, value: value)) }
            }
            switch answer.fault {
            case .none: break
            case .stall(let seconds): try await Task.sleep(nanoseconds: UInt64(seconds * 1_000_000_000))
            case .dropConnection:
                // Promise a body and close the connection before sending it.
                fields[.contentLength] = "128"
                return Response(status: .ok, headers: fields, body: ResponseBody(contentLength: 128) { _ in
                    throw DroppedConnection()
                })
            }
            return Response(status: HTTPResponse.Status(code: answer.status), headers: fields,
                            body: ResponseBody(byteBuffer: ByteBuffer(bytes: answer.body)))
        }
        var quiet = logger
        quiet.logLevel = .critical
        let app = Application(
            responder: responder,
            configuration: .init(address: .hostname(options.host, port: options.port), serverName: nil),
            onServerRunning: { channel in
                continuation.yield(.success(channel.localAddress?.port ?? options.port))
            },
            logger: quiet)
        let task = Task {
            do {
                try await app.run()
            } catch {
                continuation.yield(.failure(error))
                throw error
            }
        }
        for await event in stream {
            switch event {
            case .success(let port):
                let host = options.host.contains(":") ? "[\(options.host)]" : options.host
                let base = "http://\(host):\(port)"
                service.setPublicBaseURL(base)
                return Running(baseURL: base, service: service, task: task)
            case .failure(let error):
                throw EmulatorError("cannot listen on \(options.host):\(options.port): \(error)")
            }
        }
        throw EmulatorError("the server stopped before it was ready")
    }
}
