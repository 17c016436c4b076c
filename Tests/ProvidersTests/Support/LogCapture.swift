import Domain
import Providers
import Synchronization

/// Collects provider log records (and error descriptions a test saw) so tests can assert that
/// no key ever reached them.
final class LogCapture: Sendable {
    private let records = Mutex<[ProviderLogRecord]>([])
    private let extraLines = Mutex<[String]>([])

    var logger: ProviderLogger {
        ProviderLogger { [self] record in
            records.withLock { $0.append(record) }
            LogCapture.suite.records.withLock { $0.append(record) }
        }
    }

    var all: [ProviderLogRecord] { records.withLock { $0 } }

    /// Every line as it would be written, plus extra text recorded with `note`.
    var lines: [String] { all.map(\.jsonLine) + extraLines.withLock { $0 } }

    func note(_ text: String) {
        extraLines.withLock { $0.append(text) }
        LogCapture.suite.extraLines.withLock { $0.append(text) }
    }

    func events(_ name: String) -> [ProviderLogRecord] { all.filter { $0.event == name } }

    /// Everything any test captured during this run.
    static let suite = LogCapture()
}
