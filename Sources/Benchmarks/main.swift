// Benchmark executable: reports figures, checks nothing. Scripts in `scripts/bench-*.sh` run it
// beside a baseline in the same run and write ratios into BENCHMARKS.md.
let arguments = Array(CommandLine.arguments.dropFirst())
switch arguments.first {
case "crypto":
    runCryptoBenchmarks(Array(arguments.dropFirst()))
case "tokens":
    runTokenBenchmarks(Array(arguments.dropFirst()))
default:
    print("usage: Benchmarks crypto|tokens [options]")
}
