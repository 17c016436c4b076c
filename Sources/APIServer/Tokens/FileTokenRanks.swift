import Domain
import Foundation

/// The `TokenRanksSource` adapter: each encoding's tiktoken ranks file from a configured path
/// (`TIKTOKEN_CL100K_PATH`, `TIKTOKEN_O200K_PATH`). An encoding without a path is absent, and
/// counts for its models are upper-bound estimates marked as such.
struct FileTokenRanks: TokenRanksSource {
    let paths: [TokenEncoding: String]

    func ranksData(for encoding: TokenEncoding) throws(TokenizerError) -> Data? {
        guard let path = paths[encoding] else { return nil }
        guard let data = FileManager.default.contents(atPath: path) else { throw .ranksFileUnreadable(path: path) }
        return data
    }

    /// Every configured tokenizer, its file read now (an unreadable one is a start-up error naming
    /// the variable) and parsed later (`DeferredTokenizer`); a file that does not parse calls
    /// `failed` with the variable's name and the reason.
    static func loadTokenizers(config: AppConfig, failed: @escaping @Sendable (String) -> Void) throws -> [TokenEncoding: any ExactTokenizer] {
        let variables: [(TokenEncoding, String, String?)] = [
            (.cl100kBase, "TIKTOKEN_CL100K_PATH", config.tokenizerRanksPath),
            (.o200kBase, "TIKTOKEN_O200K_PATH", config.o200kRanksPath),
        ]
        var loaded: [TokenEncoding: any ExactTokenizer] = [:]
        for (encoding, variable, path) in variables {
            guard let path else { continue }
            do {
                guard let data = try FileTokenRanks(paths: [encoding: path]).ranksData(for: encoding) else { continue }
                loaded[encoding] = DeferredTokenizer(encoding: encoding, ranksData: data) { error in failed("\(variable): \(error)") }
            } catch {
                throw ServerStartError("\(variable): \(error)")
            }
        }
        return loaded
    }
}
