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

    /// Every configured tokenizer, or a start-up error naming the variable whose file is wrong.
    static func loadTokenizers(config: AppConfig) throws -> [TokenEncoding: any ExactTokenizer] {
        let variables: [(TokenEncoding, String, String?)] = [
            (.cl100kBase, "TIKTOKEN_CL100K_PATH", config.tokenizerRanksPath),
            (.o200kBase, "TIKTOKEN_O200K_PATH", config.o200kRanksPath),
        ]
        var loaded: [TokenEncoding: any ExactTokenizer] = [:]
        for (encoding, variable, path) in variables {
            guard let path else { continue }
            do {
                loaded.merge(try ExactTokenizers.load(from: FileTokenRanks(paths: [encoding: path]))) { $1 }
            } catch {
                throw ServerStartError("\(variable): \(error)")
            }
        }
        return loaded
    }
}
