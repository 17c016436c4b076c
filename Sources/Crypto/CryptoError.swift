/// Placeholder until the crypto issue lands; replaced by the real surface.
public enum CryptoError: Error, Sendable {
    case unavailable
}
