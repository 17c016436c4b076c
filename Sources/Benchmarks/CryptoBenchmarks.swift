func runCryptoBenchmarks(_ arguments: [String]) { print("crypto benchmarks: not written yet") }
