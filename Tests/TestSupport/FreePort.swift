import Foundation

/// Asks the kernel for a currently free TCP port on 127.0.0.1.
public func freeLoopbackPort() throws -> Int {
    let (fd, port) = try bindLoopback()
    close(fd)
    return port
}

/// A TCP socket listening on 127.0.0.1 at a port the kernel picked: the descriptor and the port.
public func listenOnLoopback(backlog: Int32) throws -> (descriptor: Int32, port: Int) {
    let (fd, port) = try bindLoopback()
    guard listen(fd, backlog) == 0 else {
        close(fd)
        throw TestSupportError("listen() failed")
    }
    return (fd, port)
}

private func bindLoopback() throws -> (Int32, Int) {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw TestSupportError("socket() failed") }
    var yes: Int32 = 1
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = 0
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let bound = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard bound == 0 else {
        close(fd)
        throw TestSupportError("bind() failed")
    }
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
    }
    return (fd, Int(UInt16(bigEndian: address.sin_port)))
}
