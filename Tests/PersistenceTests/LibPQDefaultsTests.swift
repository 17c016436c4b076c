import Foundation
import Persistence
import XCTest

final class LibPQDefaultsTests: XCTestCase {
    /// Kerberos is not asked at every connect, unless the environment asks for GSS encryption.
    func testGSSEncryptionIsOffUnlessTheEnvironmentSaysOtherwise() {
        let saved = getenv("PGGSSENCMODE").map { String(cString: $0) }
        defer {
            if let saved { setenv("PGGSSENCMODE", saved, 1) } else { unsetenv("PGGSSENCMODE") }
        }
        unsetenv("PGGSSENCMODE")
        LibPQDefaults.apply()
        XCTAssertEqual(getenv("PGGSSENCMODE").map { String(cString: $0) }, "disable")
        setenv("PGGSSENCMODE", "require", 1)
        LibPQDefaults.apply()
        XCTAssertEqual(getenv("PGGSSENCMODE").map { String(cString: $0) }, "require", "a setting of the operator's stays")
    }
}
