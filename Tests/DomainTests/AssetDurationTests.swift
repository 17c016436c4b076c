import Domain
import Foundation
import XCTest

/// Durations from container headers without ffprobe (MP3, OGG Vorbis/Opus, FLAC, WebM), on small
/// files crafted here byte by byte, and the same readers fed truncated and mutated copies of
/// every fixture: each answer is a duration or nil, never a trap.
final class AssetDurationTests: XCTestCase {
    // MARK: MP3

    func testConstantBitrateMP3IsItsAudioBytesOverTheBitrate() {
        // 100 MPEG-1 Layer III frames of 128 kbps at 44.1 kHz (417 bytes each) after a 30-byte ID3v2 tag, and an ID3v1 tag.
        let file = AudioFixtures.id3v2(padding: 20) + AudioFixtures.mp3Frames(100) + AudioFixtures.id3v1()
        XCTAssertEqual(duration(.mp3, file), 41_700 * 8 / 128, "audio bytes × 8 / kbps, the tags left out")
    }

    func testXingFrameCountGivesAVariableBitrateMP3sDuration() {
        let file = AudioFixtures.mp3Frames(10, tag: .xing(frames: 1000))
        XCTAssertEqual(duration(.mp3, file), 1000 * 1152 * 1000 / 44_100)
        let info = AudioFixtures.mp3Frames(10, tag: .info(frames: 200))
        XCTAssertEqual(duration(.mp3, info), 200 * 1152 * 1000 / 44_100, "LAME's Info tag (CBR) counts frames the same way")
    }

    func testAXingTagWithoutAFrameCountIsNoDurationButAnInfoTagFallsBackToTheBitrate() {
        XCTAssertNil(duration(.mp3, AudioFixtures.mp3Frames(10, tag: .xing(frames: 0))), "variable bitrate: the first frame's says nothing")
        XCTAssertEqual(duration(.mp3, AudioFixtures.mp3Frames(10, tag: .info(frames: 0))), 4170 * 8 / 128, "constant bitrate")
    }

    func testVBRIFrameCountGivesAVariableBitrateMP3sDuration() {
        let file = AudioFixtures.id3v2(padding: 0) + AudioFixtures.mp3Frames(10, tag: .vbri(frames: 500))
        XCTAssertEqual(duration(.mp3, file), 500 * 1152 * 1000 / 44_100)
    }

    func testMPEG2MonoXingUsesItsOwnSideInfoAndFrameSamples() {
        // MPEG-2 Layer III, 64 kbps, 22.05 kHz, mono: 576 samples a frame, the tag 4 + 9 bytes in.
        let file = AudioFixtures.mp3Frames(5, header: [0xFF, 0xF3, 0x80, 0xC0], tag: .xing(frames: 300))
        XCTAssertEqual(duration(.mp3, file), 300 * 576 * 1000 / 22_050)
    }

    func testAnMP3WithoutAFrameHasNoDuration() {
        XCTAssertNil(duration(.mp3, AudioFixtures.id3v2(padding: 100) + [UInt8](repeating: 0, count: 500)))
        XCTAssertNil(duration(.mp3, [0xFF, 0xFB]), "a header cut short")
    }

    // MARK: OGG

    func testVorbisIsTheLastGranuleOverTheSampleRate() {
        let file = AudioFixtures.ogg(identification: AudioFixtures.vorbisIdentification(rate: 44_100), lastGranule: 441_000)
        XCTAssertEqual(duration(.ogg, file), 10_000)
    }

    func testOpusIsTheLastGranuleLessPreSkipAt48kHz() {
        let file = AudioFixtures.ogg(identification: AudioFixtures.opusHead(preSkip: 312, inputRate: 44_100), lastGranule: 48_000 * 5 + 312)
        XCTAssertEqual(duration(.ogg, file), 5000, "48 kHz whatever the input rate was")
    }

    func testOggPagesOfAnotherStreamAndUnfinishedPagesAreSkipped() {
        var file = AudioFixtures.ogg(identification: AudioFixtures.vorbisIdentification(rate: 48_000), lastGranule: 96_000)
        file += AudioFixtures.oggPage(serial: 99, granule: 9_999_999, headerType: 0, body: [1, 2, 3])
        file += AudioFixtures.oggPage(serial: 7, granule: -1, headerType: 0, body: [4, 5])
        XCTAssertEqual(duration(.ogg, file), 2000)
    }

    func testOggWithAGranuleBeforeThePreSkipOrNoCodecHeaderHasNoDuration() {
        XCTAssertNil(duration(.ogg, AudioFixtures.ogg(identification: AudioFixtures.opusHead(preSkip: 312, inputRate: 48_000), lastGranule: 100)))
        XCTAssertNil(duration(.ogg, AudioFixtures.ogg(identification: Array("Speex   ".utf8) + [UInt8](repeating: 0, count: 40), lastGranule: 1000)))
    }

    // MARK: FLAC

    func testFLACIsStreamInfoTotalSamplesOverTheSampleRate() {
        XCTAssertEqual(duration(.flac, AudioFixtures.flac(rate: 44_100, totalSamples: 44_100 * 30)), 30_000)
        XCTAssertEqual(duration(.flac, AudioFixtures.flac(rate: 96_000, totalSamples: 1 << 34)), (1 << 34) * 1000 / 96_000, "36-bit totals")
        XCTAssertEqual(duration(.flac, AudioFixtures.id3v2(padding: 16) + AudioFixtures.flac(rate: 8000, totalSamples: 8000)), 1000)
    }

    func testFLACWithAnUnknownTotalOrNoRateHasNoDuration() {
        XCTAssertNil(duration(.flac, AudioFixtures.flac(rate: 44_100, totalSamples: 0)))
        XCTAssertNil(duration(.flac, AudioFixtures.flac(rate: 0, totalSamples: 1000)))
    }

    // MARK: WebM / Matroska

    func testWebMIsDurationTimesTimecodeScale() {
        XCTAssertEqual(duration(.webm, AudioFixtures.webm(info: AudioFixtures.info(duration64: 12_345.4))), 12_345)
        XCTAssertEqual(duration(.webm, AudioFixtures.webm(info: AudioFixtures.info(scale: 100_000, duration32: 50_000))), 5000,
                       "a 4-byte float in units of 0.1 ms")
        XCTAssertEqual(duration(.webm, AudioFixtures.webm(info: AudioFixtures.info(duration64: 2500), segmentSizeKnown: false,
                                                           seekHeadFirst: true)), 2500, "an unknown-size Segment, Info after a SeekHead")
    }

    func testWebMWithoutADurationOrANonsenseOneHasNone() {
        XCTAssertNil(duration(.webm, AudioFixtures.webm(info: AudioFixtures.element(0x2A_D7B1, [0x0F, 0x42, 0x40]))))
        XCTAssertNil(duration(.webm, AudioFixtures.webm(info: AudioFixtures.info(duration64: .nan))))
        XCTAssertNil(duration(.webm, AudioFixtures.webm(info: AudioFixtures.info(duration64: -5))))
        XCTAssertNil(duration(.webm, AudioFixtures.webm(info: AudioFixtures.info(duration64: .infinity))))
        XCTAssertNil(duration(.webm, AudioFixtures.webm(info: AudioFixtures.info(duration64: 1e300))))
    }

    // MARK: MP4

    func testMP4IsTheMovieHeadersDurationOverItsTimescale() {
        XCTAssertEqual(duration(.mp4, mp4(mvhd: Self.mvhd(version: 0, timescale: 600, duration: 4_500))), 7_500)
        XCTAssertEqual(duration(.mp4, mp4(mvhd: Self.mvhd(version: 1, timescale: 1_000, duration: 12_345))), 12_345)
    }

    /// A box whose 64-bit size is Int64.max: `offset + size` overflowed and the upload's metadata
    /// read trapped, taking the server down with a 48-byte file.
    func testAnMP4BoxClaimingTheLargestSizeHasNoDurationInsteadOfTrapping() {
        let huge: [UInt8] = [0, 0, 0, 1] + Array("free".utf8) + [0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF] + [UInt8](repeating: 0, count: 16)
        XCTAssertNil(duration(.mp4, Self.box("ftyp", Array("isom".utf8) + [0, 0, 0, 0]) + huge))
        XCTAssertNil(duration(.mp4, Self.box("ftyp", Array("isom".utf8) + [0, 0, 0, 0]) + Self.box("moov", huge)))
    }

    private func mp4(mvhd: [UInt8]) -> [UInt8] {
        Self.box("ftyp", Array("isom".utf8) + [0, 0, 2, 0]) + Self.box("free", [1, 2, 3]) + Self.box("moov", Self.box("mvhd", mvhd))
    }

    static func box(_ type: String, _ payload: [UInt8]) -> [UInt8] {
        bigEndian(UInt64(8 + payload.count), bytes: 4) + Array(type.utf8) + payload
    }

    /// `mvhd`'s payload: version and flags, creation and modification times, timescale, duration, the rest zeros.
    static func mvhd(version: UInt8, timescale: UInt64, duration: UInt64) -> [UInt8] {
        let width = version == 1 ? 8 : 4
        let head = [version, 0, 0, 0] + [UInt8](repeating: 0, count: 2 * width) + bigEndian(timescale, bytes: 4) + bigEndian(duration, bytes: width)
        return head + [UInt8](repeating: 0, count: 100 - head.count)
    }

    static func bigEndian(_ value: UInt64, bytes: Int) -> [UInt8] {
        (0..<bytes).reversed().map { UInt8(truncatingIfNeeded: value >> (8 * UInt64($0))) }
    }

    // MARK: Hostile input

    /// Every fixture truncated at random lengths and with random bytes replaced, a few hundred
    /// times each (a fixed seed, so a failure repeats): the readers answer nil or a duration.
    func testTruncatedAndMutatedFixturesNeverTrap() {
        let fixtures: [(UploadMediaType, [UInt8])] = [
            (.mp3, AudioFixtures.id3v2(padding: 20) + AudioFixtures.mp3Frames(20) + AudioFixtures.id3v1()),
            (.mp3, AudioFixtures.mp3Frames(4, tag: .xing(frames: 1000))),
            (.mp3, AudioFixtures.mp3Frames(4, tag: .vbri(frames: 1000))),
            (.ogg, AudioFixtures.ogg(identification: AudioFixtures.vorbisIdentification(rate: 44_100), lastGranule: 441_000)),
            (.ogg, AudioFixtures.ogg(identification: AudioFixtures.opusHead(preSkip: 312, inputRate: 48_000), lastGranule: 48_312)),
            (.flac, AudioFixtures.flac(rate: 44_100, totalSamples: 44_100)),
            (.webm, AudioFixtures.webm(info: AudioFixtures.info(duration64: 1000))),
            (.webm, AudioFixtures.webm(info: AudioFixtures.info(scale: 1000, duration32: 7), segmentSizeKnown: false, seekHeadFirst: true)),
            (.mp4, mp4(mvhd: Self.mvhd(version: 0, timescale: 600, duration: 4_500))),
            (.mp4, mp4(mvhd: Self.mvhd(version: 1, timescale: 1_000, duration: 12_345))),
        ]
        var random = SeededGenerator(seed: 0x5EED_17)
        var runs = 0
        var answered = 0
        for (type, fixture) in fixtures {
            XCTAssertNotNil(duration(type, fixture), "the unmodified \(type) fixture has a duration")
            for round in 0..<300 {
                var bytes = fixture
                if round % 3 == 0 {
                    bytes = Array(bytes.prefix(Int.random(in: 0...bytes.count, using: &random)))
                } else {
                    for _ in 0..<Int.random(in: 1...8, using: &random) where !bytes.isEmpty {
                        let index = Int.random(in: 0..<bytes.count, using: &random)
                        bytes[index] = round % 3 == 1 ? UInt8.random(in: 0...255, using: &random) : [0x00, 0xFF, 0x80, 0x7F][index % 4]
                    }
                }
                let result = duration(type, bytes)
                if let result { XCTAssertGreaterThanOrEqual(result, 0, "\(type) round \(round)") }
                if result != nil { answered += 1 }
                runs += 1
            }
        }
        XCTAssertEqual(runs, 3000)
        XCTAssertGreaterThan(answered, 0, "mutations that miss the header still give a duration")
    }

    func testReadsStayBoundedWhateverTheFileClaims() {
        // A huge file whose bytes are the fixture and then zeros: no read asks for more than 128 KiB,
        // and none is needed past the head and the tail.
        for (type, fixture) in [(UploadMediaType.mp3, AudioFixtures.mp3Frames(3)), (.ogg, AudioFixtures.ogg(
            identification: AudioFixtures.vorbisIdentification(rate: 8000), lastGranule: 8000)), (.flac, AudioFixtures.flac(rate: 8000, totalSamples: 8000)),
                                (.webm, AudioFixtures.webm(info: AudioFixtures.info(duration64: 1)))] {
            let size: Int64 = 5 << 30
            var largest = 0
            var total = 0
            _ = HeaderMetadata.read(type, size: size) { offset, count in
                largest = max(largest, count)
                total += count
                guard offset >= 0, offset < Int64(fixture.count) else { return [] }
                return Array(fixture[Int(offset)...].prefix(count))
            }
            XCTAssertLessThanOrEqual(largest, 128 * 1024, "\(type)")
            XCTAssertLessThanOrEqual(total, 256 * 1024, "\(type)")
        }
    }

    private func duration(_ type: UploadMediaType, _ bytes: [UInt8]) -> Int64? {
        HeaderMetadata.read(type, size: Int64(bytes.count)) { offset, count in
            guard offset >= 0, count > 0, offset < Int64(bytes.count) else { return [] }
            return Array(bytes[Int(offset)...].prefix(count))
        }.durationMilliseconds
    }
}
