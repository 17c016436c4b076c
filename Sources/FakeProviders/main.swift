import Foundation

// fake-providers: every provider the API talks to, on one loopback port, for tests and for
// running the whole API without keys (README "Fake providers").

let usage = """
usage: fake-providers [--port N] [--slow-seconds S] [--max-body-bytes B] [--threads T] [--max-connections C]
  --port N             port on 127.0.0.1 (0, the default, picks a free one)
  --slow-seconds S     delay of the `slow` behaviour when the request names none (default 30)
  --max-body-bytes B   request bodies above this are refused with 413 (default 8388608)
Prints `listening 127.0.0.1:PORT` as its first line once it accepts connections.
Base URLs: /openai/v1 /anthropic /openrouter/api/v1 /elevenlabs /runway /veo/v1beta /fal/queue /fal/api/v1
Control: GET /_fake/counters, GET /_fake/requests?provider=NAME, POST /_fake/script, POST /_fake/reset
"""

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("fake-providers: \(message)\n\(usage)\n".utf8))
    exit(2)
}

var port = 0
var settings = FakeSettings()
var limits = FakeDaemon.Limits()
var arguments = CommandLine.arguments.dropFirst()
while let flag = arguments.popFirst() {
    if flag == "--help" || flag == "-h" {
        print(usage)
        exit(0)
    }
    guard let value = arguments.popFirst() else { fail("\(flag) needs a value") }
    switch flag {
    case "--port":
        guard let number = Int(value), (0...65535).contains(number) else { fail("--port must be 0...65535") }
        port = number
    case "--slow-seconds":
        guard let number = Double(value), number.isFinite, number >= 0, number <= Behavior.maximumValue else {
            fail("--slow-seconds must be 0...\(Int(Behavior.maximumValue))")
        }
        settings.slowSeconds = number
    case "--max-body-bytes":
        guard let number = Int(value), (1024...(256 << 20)).contains(number) else { fail("--max-body-bytes must be 1024...268435456") }
        settings.maximumBodyBytes = number
    case "--threads":
        guard let number = Int(value), (1...64).contains(number) else { fail("--threads must be 1...64") }
        limits.threads = number
    case "--max-connections":
        guard let number = Int(value), (1...65536).contains(number) else { fail("--max-connections must be 1...65536") }
        limits.maximumConnections = number
    default:
        fail("unknown option \(flag)")
    }
}

signal(SIGPIPE, SIG_IGN)
// Thousands of held (slow) connections need file descriptors: raise the soft limit to the hard one.
var files = rlimit()
if getrlimit(Int32(RLIMIT_NOFILE.rawValue), &files) == 0, files.rlim_cur < files.rlim_max {
    files.rlim_cur = files.rlim_max
    _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &files)
}
// Serve until SIGTERM or SIGINT, taken by `sigwait` below: blocked before any thread starts, so
// every thread inherits the mask. The process holds no state worth saving, so it just exits.
var stopSignals = sigset_t()
sigemptyset(&stopSignals)
sigaddset(&stopSignals, SIGTERM)
sigaddset(&stopSignals, SIGINT)
pthread_sigmask(SIG_BLOCK, &stopSignals, nil)
let daemon = FakeDaemon(router: FakeRouter(settings: settings), limits: limits)
do {
    try daemon.start(port: port)
} catch {
    fail("\(error)")
}
// Written unbuffered, so a parent reading the pipe sees the port at once.
FileHandle.standardOutput.write(Data("listening 127.0.0.1:\(daemon.port)\n".utf8))

var received: Int32 = 0
sigwait(&stopSignals, &received)
exit(0)
