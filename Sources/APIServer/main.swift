import Persistence
import Providers
print("apiserver (libpq \(LibPQ.version), \(CurlRuntime.version))")
