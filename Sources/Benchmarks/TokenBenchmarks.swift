func runTokenBenchmarks(_ arguments: [String]) { print("token benchmarks: not written yet") }
