import CLibPQ

public enum LibPQ {
    /// The linked libpq's version number, e.g. 150018 for 15.18.
    public static var version: Int { Int(PQlibVersion()) }
}
