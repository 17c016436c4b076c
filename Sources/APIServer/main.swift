import Foundation

// Configuration only: everything else, C callbacks above all, lives in other files (see http-layer.md).
let status = CommandLineInterface.run(Array(CommandLine.arguments.dropFirst()), environment: ProcessInfo.processInfo.environment)
Logger.flush()
exit(status)
