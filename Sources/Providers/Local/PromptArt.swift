import Foundation

/// Draws a deterministic picture from a prompt: the same prompt (and seed) always gives the
/// same image, different prompts visibly different ones. A gradient, circles and bands whose
/// colours and positions come from a hash of the prompt.
enum PromptArt {
    /// FNV-1a, 64 bit: stable across runs and platforms, unlike `Hasher`.
    static func hash(_ text: String, seed: Int) -> UInt64 {
        var value: UInt64 = 0xCBF2_9CE4_8422_2325 ^ UInt64(bitPattern: Int64(seed))
        for byte in text.utf8 {
            value ^= UInt64(byte)
            value = value &* 0x0000_0100_0000_01B3
        }
        return value
    }

    /// A SplitMix64 stream from the hash, for the drawing's choices.
    struct Choices {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        mutating func byte() -> UInt8 { UInt8(truncatingIfNeeded: next()) }
        mutating func unit() -> Double { Double(next() >> 11) / Double(1 << 53) }
    }

    static func render(prompt: String, width: Int, height: Int, seed: Int = 0) -> [UInt8] {
        var choices = Choices(state: hash(prompt, seed: seed))
        let top = (choices.byte(), choices.byte(), choices.byte())
        let bottom = (choices.byte(), choices.byte(), choices.byte())
        var pixels = [UInt8](repeating: 0, count: width * height * 3)
        for y in 0..<height {
            let t = height > 1 ? Double(y) / Double(height - 1) : 0
            let r = UInt8(Double(top.0) * (1 - t) + Double(bottom.0) * t)
            let g = UInt8(Double(top.1) * (1 - t) + Double(bottom.1) * t)
            let b = UInt8(Double(top.2) * (1 - t) + Double(bottom.2) * t)
            for x in 0..<width {
                let index = (y * width + x) * 3
                pixels[index] = r
                pixels[index + 1] = g
                pixels[index + 2] = b
            }
        }
        let scale = Double(min(width, height))
        for _ in 0..<(3 + Int(choices.next() % 5)) {
            let cx = choices.unit() * Double(width)
            let cy = choices.unit() * Double(height)
            let radius = (0.08 + choices.unit() * 0.25) * scale
            let colour = (choices.byte(), choices.byte(), choices.byte())
            let minY = max(0, Int(cy - radius)), maxY = min(height - 1, Int(cy + radius))
            let minX = max(0, Int(cx - radius)), maxX = min(width - 1, Int(cx + radius))
            guard minY <= maxY, minX <= maxX else { continue }
            for y in minY...maxY {
                for x in minX...maxX {
                    let dx = Double(x) - cx, dy = Double(y) - cy
                    guard dx * dx + dy * dy <= radius * radius else { continue }
                    let index = (y * width + x) * 3
                    // Half-transparent so overlapping circles mix.
                    pixels[index] = UInt8((Int(pixels[index]) + Int(colour.0)) / 2)
                    pixels[index + 1] = UInt8((Int(pixels[index + 1]) + Int(colour.1)) / 2)
                    pixels[index + 2] = UInt8((Int(pixels[index + 2]) + Int(colour.2)) / 2)
                }
            }
        }
        // A band along the bottom marks the image as an offline placeholder at a glance.
        let band = max(1, height / 24)
        for y in (height - band)..<height {
            for x in 0..<width {
                let index = (y * width + x) * 3
                let stripe: UInt8 = (x / max(1, band)) % 2 == 0 ? 0x20 : 0xE0
                pixels[index] = stripe
                pixels[index + 1] = stripe
                pixels[index + 2] = stripe
            }
        }
        return pixels
    }
}
