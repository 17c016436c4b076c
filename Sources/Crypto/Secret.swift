import COpenSSL
import Foundation

/// Bytes that must not reach a log: keys, derived keys, decrypted plaintexts.
///
/// `description`, `debugDescription`, string interpolation, `dump` and `Mirror` all show
/// `<redacted N bytes>`. The bytes live in one heap buffer that is overwritten with
/// `OPENSSL_cleanse` when the last copy is released, so they do not linger in freed memory the
/// way an `Array` or `String` would. Reading them is explicit: `withUnsafeBytes`.
public struct SecretBytes: Sendable, ContiguousBytes {
    private let storage: Storage

    /// Copies `bytes`. The source is not cleared; prefer building secrets in place where possible.
    public init(copying bytes: some ContiguousBytes) {
        self.storage = bytes.withUnsafeBytes { source in
            let storage = Storage(count: source.count)
            if let base = source.baseAddress, source.count > 0 {
                storage.pointer.copyMemory(from: base, byteCount: source.count)
            }
            return storage
        }
    }

    /// The UTF-8 bytes of `string` (for example a secret read from the environment).
    public init(utf8 string: String) {
        var string = string
        self = string.withUTF8 { SecretBytes(copying: UnsafeRawBufferPointer($0)) }
    }

    /// Lets a producer (random generator, KDF, decryption) write straight into the protected
    /// buffer. If `initializer` throws, the partly written buffer is cleansed and released, so a
    /// failed decryption can never hand out partial plaintext.
    init(count: Int, initializingWith initializer: (UnsafeMutableRawBufferPointer) throws -> Void) rethrows {
        let storage = Storage(count: count)
        try initializer(UnsafeMutableRawBufferPointer(start: storage.pointer, count: count))
        self.storage = storage
    }

    public var count: Int { storage.count }

    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try body(UnsafeRawBufferPointer(start: storage.pointer, count: storage.count))
    }
}

extension SecretBytes {
    // Final class so that `deinit` runs exactly once, when the last copy of the struct goes away.
    // `@unchecked Sendable` is sound because the buffer is only written inside `init`, before the
    // storage is shared with anything.
    private final class Storage: @unchecked Sendable {
        let pointer: UnsafeMutableRawPointer
        let count: Int

        init(count: Int) {
            precondition(count >= 0, "negative byte count")
            // One byte at least, so that the pointer is never a zero-size allocation.
            self.pointer = UnsafeMutableRawPointer.allocate(byteCount: max(count, 1), alignment: 16)
            self.pointer.initializeMemory(as: UInt8.self, repeating: 0, count: max(count, 1))
            self.count = count
        }

        deinit {
            // OPENSSL_cleanse, unlike memset, is not removed by the optimiser as a dead store.
            OPENSSL_cleanse(pointer, max(count, 1))
            pointer.deallocate()
        }
    }
}

extension SecretBytes: Equatable {
    /// Constant-time in the contents; the lengths are not treated as secret.
    public static func == (lhs: SecretBytes, rhs: SecretBytes) -> Bool {
        ConstantTime.equals(lhs, rhs)
    }
}

extension SecretBytes: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    public var description: String { "<redacted \(count) bytes>" }
    public var debugDescription: String { description }
    public var customMirror: Mirror { Mirror(self, children: [], displayStyle: .struct) }
}
