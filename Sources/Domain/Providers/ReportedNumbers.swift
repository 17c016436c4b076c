import Foundation

/// The ranges a number a provider reports must fall in to be believed. A value outside them
/// (negative, absurdly large, not finite) is treated as not reported, so it can neither trap
/// the arithmetic that follows (Int overflow) nor turn into a charge nobody could have incurred.
/// The limits are far above any real single response and far below where sums of a few of them
/// could overflow `Int`.
public enum ReportedNumbers {
    /// Tokens, characters, images or requests in one response.
    public static let maximumCount = 1_000_000_000_000
    /// One side of an image or video frame, in pixels.
    public static let maximumPixelSide = 65_536
    /// Seconds of audio or video in one response (a day).
    public static let maximumSeconds: Decimal = 86_400
    /// A charge one response states, in USD or the provider's credits.
    public static let maximumAmount: Decimal = 1_000_000
    /// A retry delay a provider asks for, in seconds.
    public static let maximumRetryDelaySeconds = 3_600.0

    /// The last second a four-digit year can write (9999-12-31T23:59:59Z): a reported time (a quota's
    /// reset) past it, or before 1970, is not a time the server can show or store.
    public static let latestUnixSeconds = 253_402_300_799

    /// A moment given as whole seconds since 1970, within 1970...9999.
    public static func unixTime(_ seconds: Int?) -> Date? {
        guard let seconds, (0...latestUnixSeconds).contains(seconds) else { return nil }
        return Date(timeIntervalSince1970: TimeInterval(seconds))
    }

    public static func count(_ value: Int?) -> Int? {
        guard let value, (0...maximumCount).contains(value) else { return nil }
        return value
    }

    public static func pixelSide(_ value: Int?) -> Int? {
        guard let value, (1...maximumPixelSide).contains(value) else { return nil }
        return value
    }

    public static func seconds(_ value: Decimal?) -> Decimal? {
        guard let value, value.isFinite, value >= 0, value <= maximumSeconds else { return nil }
        return value
    }

    public static func amount(_ value: Decimal?) -> Decimal? {
        guard let value, value.isFinite, value >= 0, value <= maximumAmount else { return nil }
        return value
    }

    /// A task's progress as a fraction in 0...1 (a value outside, or not finite, would make the
    /// task unstorable: JSON has no infinity).
    public static func progress(_ value: Double?) -> Double? {
        guard let value, value.isFinite, (0...1).contains(value) else { return nil }
        return value
    }

    public static func retryDelay(_ value: Double?) -> Double? {
        guard let value, value.isFinite, value >= 0, value <= maximumRetryDelaySeconds else { return nil }
        return value
    }

    /// `WIDTHxHEIGHT` with both sides in range.
    public static func dimensions(_ size: String) -> (width: Int, height: Int)? {
        PixelSize.parse(size, maximumSide: maximumPixelSide)
    }
}
