import Foundation
import Persistence
import Synchronization

/// Request counters and a latency histogram, rendered in the Prometheus text format (0.0.4).
final class Metrics: Sendable {
    /// Upper bounds in seconds; chosen around the targets (sub-millisecond health, tens of ms for DB work).
    static let bucketBounds: [Double] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

    private struct RequestKey: Hashable {
        let method: String
        let route: String
        let status: Int
    }

    private struct Histogram {
        var buckets: [UInt64] = Array(repeating: 0, count: Metrics.bucketBounds.count)
        var count: UInt64 = 0
        var sum: Double = 0

        mutating func observe(_ seconds: Double) {
            for (index, bound) in Metrics.bucketBounds.enumerated() where seconds <= bound {
                buckets[index] += 1
            }
            count += 1
            sum += seconds
        }

        mutating func add(_ other: Histogram) {
            for index in buckets.indices { buckets[index] += other.buckets[index] }
            count += other.count
            sum += other.sum
        }
    }

    /// One histogram per method, route and status: a request costs one hash lookup, and the
    /// request counter is the histogram's count. Scrapes add them up per route.
    private struct State {
        var series: [RequestKey: Histogram] = [:]
    }

    /// The series in shards chosen by thread, merged when rendered: HTTP threads finishing requests
    /// at once rarely meet on one lock. One shared lock took a third of the server's CPU under
    /// `/healthz` load with 16 HTTP threads on 2 cores: Swift's `Mutex` spins before it sleeps, and
    /// the spinners burned the time a preempted holder needed.
    private final class Shard: Sendable {
        let state = Mutex(State())
    }

    private let shards: [Shard] = (0..<16).map { _ in Shard() }
    let inFlight = Atomic<Int>(0)
    /// Whose dropped lines `/metrics` reports (standard output's; tests pass their own).
    private let logBuffer: LogBuffer
    /// Work queues whose load `/metrics` reports, by name.
    private let queues = Mutex<[WorkQueue]>([])

    init(logBuffer: LogBuffer = .standardOutput) {
        self.logBuffer = logBuffer
    }

    func watch(_ queue: WorkQueue) {
        queues.withLock { $0.append(queue) }
    }

    func record(method: String, route: String, status: Int, seconds: Double) {
        shards[ThreadShard.index(among: shards.count)].state.withLock { state in
            // Mutated in place: a copy taken out of the dictionary would copy its bucket array.
            state.series[RequestKey(method: method, route: route, status: status), default: Histogram()].observe(seconds)
        }
    }

    /// Renders every metric; `gauges` adds values read at scrape time (pool, memory).
    func render(gauges: [(name: String, help: String, labels: String, value: Double)]) -> String {
        var series: [RequestKey: Histogram] = [:]
        for shard in shards {
            for (key, histogram) in shard.state.withLock({ $0.series }) { series[key, default: Histogram()].add(histogram) }
        }
        var durations: [String: Histogram] = [:]
        for (key, histogram) in series { durations[key.route, default: Histogram()].add(histogram) }
        var out = ""
        out += "# HELP http_requests_total Requests answered, by method, route template and status.\n"
        out += "# TYPE http_requests_total counter\n"
        for (key, histogram) in series.sorted(by: { ($0.key.route, $0.key.method, $0.key.status) < ($1.key.route, $1.key.method, $1.key.status) }) {
            out += "http_requests_total{method=\"\(escape(key.method))\",route=\"\(escape(key.route))\",status=\"\(key.status)\"} \(histogram.count)\n"
        }
        out += "# HELP http_request_duration_seconds Time from the complete request to the response, by route template.\n"
        out += "# TYPE http_request_duration_seconds histogram\n"
        for (route, histogram) in durations.sorted(by: { $0.key < $1.key }) {
            let label = escape(route)
            for (index, bound) in Metrics.bucketBounds.enumerated() {
                out += "http_request_duration_seconds_bucket{route=\"\(label)\",le=\"\(format(bound))\"} \(histogram.buckets[index])\n"
            }
            out += "http_request_duration_seconds_bucket{route=\"\(label)\",le=\"+Inf\"} \(histogram.count)\n"
            out += "http_request_duration_seconds_sum{route=\"\(label)\"} \(format(histogram.sum))\n"
            out += "http_request_duration_seconds_count{route=\"\(label)\"} \(histogram.count)\n"
        }
        out += "# HELP http_requests_in_flight Requests being handled now.\n# TYPE http_requests_in_flight gauge\n"
        out += "http_requests_in_flight \(inFlight.load(ordering: .relaxed))\n"
        out += "# HELP log_lines_dropped_total Log lines dropped because standard output did not keep up.\n"
        out += "# TYPE log_lines_dropped_total counter\n"
        out += "log_lines_dropped_total \(logBuffer.droppedLines)\n"
        let queues = queues.withLock { $0 }
        if !queues.isEmpty {
            let load = queues.map { (name: escape($0.name), statistics: $0.statistics) }
            out += "# HELP work_queue_jobs Jobs on a work queue (provider calls), running or waiting for a thread.\n"
            out += "# TYPE work_queue_jobs gauge\n"
            for queue in load {
                out += "work_queue_jobs{queue=\"\(queue.name)\",state=\"running\"} \(queue.statistics.running)\n"
                out += "work_queue_jobs{queue=\"\(queue.name)\",state=\"waiting\"} \(queue.statistics.waiting)\n"
            }
            out += "# HELP work_queue_refused_total Jobs refused because the queue was full (503 busy).\n"
            out += "# TYPE work_queue_refused_total counter\n"
            for queue in load {
                out += "work_queue_refused_total{queue=\"\(queue.name)\"} \(queue.statistics.refused)\n"
            }
        }
        var described = Set<String>()
        for gauge in gauges {
            if described.insert(gauge.name).inserted {
                out += "# HELP \(gauge.name) \(gauge.help)\n# TYPE \(gauge.name) gauge\n"
            }
            out += "\(gauge.name)\(gauge.labels.isEmpty ? "" : "{\(gauge.labels)}") \(format(gauge.value))\n"
        }
        return out
    }

    /// A label value as the text format wants it: backslash, double quote and newline escaped.
    func escape(_ label: String) -> String {
        guard label.utf8.contains(where: { $0 == UInt8(ascii: "\\") || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\n") }) else {
            return label
        }
        var escaped = ""
        for character in label.unicodeScalars {
            switch character {
            case "\\": escaped += "\\\\"
            case "\"": escaped += "\\\""
            case "\n": escaped += "\\n"
            default: escaped.unicodeScalars.append(character)
            }
        }
        return escaped
    }

    private func format(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value)
    }
}

/// Resident set size of this process, from /proc/self/statm (pages × page size).
func residentMemoryBytes() -> Int {
    guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
    let fields = text.split(separator: " ")
    guard fields.count > 1, let pages = Int(fields[1]) else { return 0 }
    return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
}
