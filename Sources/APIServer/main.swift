import Foundation

// Configuration only: everything else, C callbacks above all, lives in other files (see docs/architecture.md, "Concurrency").
let status = CommandLineInterface.run(Array(CommandLine.arguments.dropFirst()), environment: ProcessInfo.processInfo.environment)
Logger.flush()
exit(status)
