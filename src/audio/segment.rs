//! The book's M4B built from chapter segments: each chapter's AAC stream is encoded on its own into a
//! *segment* (the encoder's packets in a small file of our own), and the M4B is muxed from the segments in
//! order without re-encoding (`remux_m4b`). A chapter that did not change keeps its segment, so rebuilding
//! the M4B after an edit costs one chapter's encode plus a copy of packets.
//!
//! Joins. Every AAC stream starts with one priming frame (1024 samples of encoder delay) and is padded to a
//! whole number of 1024-sample frames. The M4B's edit list hides the first segment's priming frame only, so
//! each later segment's priming frame plays in the book. To keep chapters where they belong, a segment
//! after the first drops the first [`FRAME`] samples of its chapter (the head pause, silence or room tone):
//! the priming frame, which decodes to near-silence (the overlap of two silent frames), takes their place.
//! A chapter's audio then starts in the M4B exactly [`SegmentInfo::span`]s after the book's start, and each
//! chapter marker covers its chapter's own samples plus the zero padding (< 1024 samples, < 23.3 ms at
//! 44.1 kHz) that completes its last frame.
//!
//! Segment file: the magic `WSBSEG1\n`, then per packet a little-endian `u32` length, a `u32` of packet
//! flags and the packet's bytes. Its size and blake3 digest are kept in [`SegmentInfo`]; reading checks both.

use std::fs::File;
#[cfg(feature = "ffmpeg")]
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

#[cfg(feature = "ffmpeg")]
use ffmpeg::{codec, encoder, format, frame, ChannelLayout, Packet};
#[cfg(feature = "ffmpeg")]
use ffmpeg_next as ffmpeg;
use serde::{Deserialize, Serialize};

#[cfg(feature = "ffmpeg")]
use super::encode::{ffmpeg_error, open_codec, wants_global_header, Muxer, OutFormat};
use super::encode::{EncodeError, EncodeSpec};

/// Samples per AAC frame (and of the encoder's priming delay).
pub const FRAME: u64 = 1024;

#[cfg_attr(not(feature = "ffmpeg"), allow(dead_code))]
const MAGIC: &[u8; 8] = b"WSBSEG1\n";

/// A finished segment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SegmentInfo {
    /// Samples fed to the encoder (after `trimmed`), padded with zeros to whole frames.
    pub samples: u64,
    /// Samples dropped from the head of the chapter's stream (their time is the priming frame's).
    pub trimmed: u64,
    /// Packets (AAC frames), the priming frame included.
    pub packets: u64,
    /// Bytes of the segment file.
    pub size: u64,
    /// blake3 of the segment file, hex.
    pub digest: String,
}

impl SegmentInfo {
    /// Samples (44.1 kHz) the segment spans in the M4B: all its frames, less the priming frame when it is
    /// the book's first segment (hidden by the edit list).
    pub fn span(&self, first: bool) -> u64 {
        let all = self.packets * FRAME;
        if first {
            all.saturating_sub(FRAME)
        } else {
            all
        }
    }
}

/// Samples a chapter's segment drops from its head: none for the book's first chapter, else one frame
/// when the head pause is long enough (`head_samples` at 44.1 kHz, at least 1.25 frames so the resampler's
/// ringing before the first word is never cut).
pub fn trim_for(first: bool, head_samples: u64) -> u64 {
    if first || head_samples < FRAME + FRAME / 4 {
        0
    } else {
        FRAME
    }
}

/// Whether the file at `path` is the segment `info` describes (size, then digest).
pub fn intact(path: &Path, info: &SegmentInfo) -> bool {
    file_digest(path, info.size).is_some_and(|d| d == info.digest)
}

/// blake3 (hex) of the file at `path` when its size is `size`; `None` when it is missing or of another size.
pub fn file_digest(path: &Path, size: u64) -> Option<String> {
    let meta = std::fs::metadata(path).ok()?;
    if !meta.is_file() || meta.len() != size {
        return None;
    }
    let mut h = blake3::Hasher::new();
    h.update_reader(File::open(path).ok()?).ok()?;
    Some(h.finalize().to_hex().to_string())
}

/// A chapter's AAC stream being encoded into a segment file (under a temporary name until finished).
#[cfg(feature = "ffmpeg")]
pub struct SegmentEncoder {
    enc: encoder::Audio,
    sample_format: format::Sample,
    buf: Vec<f32>,
    skip: u64,
    trimmed: u64,
    pts: i64,
    samples: u64,
    packets: u64,
    out: BufWriter<File>,
    hasher: blake3::Hasher,
    size: u64,
    tmp: PathBuf,
    path: PathBuf,
    finished: bool,
}

#[cfg(feature = "ffmpeg")]
impl Drop for SegmentEncoder {
    /// A segment dropped before [`SegmentEncoder::finish`] removes its temporary file.
    fn drop(&mut self) {
        if !self.finished {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

#[cfg(feature = "ffmpeg")]
impl SegmentEncoder {
    /// Opens the M4B's AAC encoder for a segment written to `path`, dropping the first `trim` samples pushed.
    pub fn create(path: &Path, trim: u64) -> Result<SegmentEncoder, EncodeError> {
        let (enc, sample_format, _) = open_codec(OutFormat::M4b, wants_global_header(OutFormat::M4b), path)?;
        if enc.frame_size() as u64 != FRAME {
            return Err(EncodeError::Segment {
                path: path.to_path_buf(),
                reason: format!("the AAC encoder's frame is {} samples, not {FRAME}", enc.frame_size()),
            });
        }
        let io = |p: &Path| {
            let path = p.to_path_buf();
            move |source| EncodeError::Io { path, source }
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(io(dir))?;
        }
        let tmp = crate::partial::tmp_path(path);
        let file = File::create(&tmp).map_err(io(&tmp))?;
        let mut s = SegmentEncoder {
            enc,
            sample_format,
            buf: Vec::with_capacity(2 * FRAME as usize),
            skip: trim,
            trimmed: trim,
            pts: 0,
            samples: 0,
            packets: 0,
            out: BufWriter::new(file),
            hasher: blake3::Hasher::new(),
            size: 0,
            tmp,
            path: path.to_path_buf(),
            finished: false,
        };
        s.write(MAGIC)?;
        Ok(s)
    }

    fn write(&mut self, bytes: &[u8]) -> Result<(), EncodeError> {
        self.hasher.update(bytes);
        self.size += bytes.len() as u64;
        self.out.write_all(bytes).map_err(|source| EncodeError::Io {
            path: self.tmp.clone(),
            source,
        })
    }

    fn drain(&mut self) -> Result<(), EncodeError> {
        let mut pkt = Packet::empty();
        while self.enc.receive_packet(&mut pkt).is_ok() {
            let data = pkt.data().unwrap_or(&[]).to_vec();
            let len = u32::try_from(data.len()).map_err(|_| EncodeError::Segment {
                path: self.path.clone(),
                reason: "an AAC packet over 4 GiB".into(),
            })?;
            self.write(&len.to_le_bytes())?;
            self.write(&(pkt.flags().bits() as u32).to_le_bytes())?;
            self.write(&data)?;
            self.packets += 1;
        }
        Ok(())
    }

    fn send_frame(&mut self) -> Result<(), EncodeError> {
        let n = FRAME as usize;
        let mut f = frame::Audio::new(self.sample_format, n, ChannelLayout::MONO);
        f.set_rate(OutFormat::M4b.rate());
        {
            let data = f.data_mut(0);
            for (i, s) in self.buf[..n].iter().enumerate() {
                data[i * 4..i * 4 + 4].copy_from_slice(&s.to_le_bytes());
            }
        }
        f.set_pts(Some(self.pts));
        self.pts += n as i64;
        self.samples += n as u64;
        self.enc
            .send_frame(&f)
            .map_err(ffmpeg_error(&self.path, "encode audio"))?;
        self.buf.drain(..n);
        self.drain()
    }

    /// Encodes samples (mono, 44.1 kHz); the first `trim` samples ever pushed are dropped.
    pub fn push(&mut self, samples: &[f32]) -> Result<(), EncodeError> {
        let drop = (self.skip as usize).min(samples.len());
        self.skip -= drop as u64;
        self.buf.extend_from_slice(&samples[drop..]);
        while self.buf.len() >= FRAME as usize {
            self.send_frame()?;
        }
        Ok(())
    }

    /// Pads the last frame with zeros, flushes the encoder, syncs and renames the file into place.
    pub fn finish(mut self) -> Result<SegmentInfo, EncodeError> {
        if !self.buf.is_empty() {
            self.buf.resize(FRAME as usize, 0.0);
            self.send_frame()?;
        }
        self.enc
            .send_eof()
            .map_err(ffmpeg_error(&self.path, "flush the encoder"))?;
        self.drain()?;
        let io = |p: &Path| {
            let path = p.to_path_buf();
            move |source| EncodeError::Io { path, source }
        };
        self.out.flush().map_err(io(&self.tmp))?;
        self.out.get_ref().sync_all().map_err(io(&self.tmp))?;
        if self.packets != self.samples / FRAME + 1 {
            return Err(EncodeError::Segment {
                path: self.path.clone(),
                reason: format!(
                    "the AAC encoder gave {} packets for {} samples (expected one priming frame more than the frames fed)",
                    self.packets, self.samples
                ),
            });
        }
        std::fs::rename(&self.tmp, &self.path).map_err(io(&self.path))?;
        self.finished = true;
        Ok(SegmentInfo {
            samples: self.samples,
            trimmed: self.trimmed,
            packets: self.packets,
            size: self.size,
            digest: self.hasher.finalize().to_hex().to_string(),
        })
    }
}

/// Reads a segment file's packets, checking its magic, packet count, size and digest.
#[cfg(feature = "ffmpeg")]
struct SegmentReader<'a> {
    r: BufReader<File>,
    hasher: blake3::Hasher,
    read: u64,
    packets: u64,
    path: &'a Path,
    info: &'a SegmentInfo,
}

#[cfg(feature = "ffmpeg")]
impl<'a> SegmentReader<'a> {
    fn open(path: &'a Path, info: &'a SegmentInfo) -> Result<SegmentReader<'a>, EncodeError> {
        let f = File::open(path).map_err(|source| EncodeError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let mut r = SegmentReader {
            r: BufReader::new(f),
            hasher: blake3::Hasher::new(),
            read: 0,
            packets: 0,
            path,
            info,
        };
        let mut magic = [0u8; 8];
        if !r.exact(&mut magic)? || &magic != MAGIC {
            return Err(r.bad("not a ws-book segment file"));
        }
        Ok(r)
    }

    fn bad(&self, reason: &str) -> EncodeError {
        EncodeError::Segment {
            path: self.path.to_path_buf(),
            reason: reason.into(),
        }
    }

    /// Fills `buf`; `false` at a clean end of file before the first byte.
    fn exact(&mut self, buf: &mut [u8]) -> Result<bool, EncodeError> {
        let mut got = 0;
        while got < buf.len() {
            match self.r.read(&mut buf[got..]) {
                Ok(0) if got == 0 => return Ok(false),
                Ok(0) => return Err(self.bad("truncated")),
                Ok(n) => got += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(source) => {
                    return Err(EncodeError::Io {
                        path: self.path.to_path_buf(),
                        source,
                    })
                }
            }
        }
        self.hasher.update(buf);
        self.read += buf.len() as u64;
        Ok(true)
    }

    /// The next packet (flags, bytes), or `None` after the last one, once the file checked out whole.
    fn next_packet(&mut self) -> Result<Option<(i32, Vec<u8>)>, EncodeError> {
        let mut head = [0u8; 8];
        if !self.exact(&mut head)? {
            let digest = self.hasher.finalize().to_hex().to_string();
            if self.read != self.info.size || digest != self.info.digest || self.packets != self.info.packets {
                return Err(self.bad("changed since it was written (size, digest or packet count differ)"));
            }
            return Ok(None);
        }
        let len = u32::from_le_bytes([head[0], head[1], head[2], head[3]]) as u64;
        let flags = u32::from_le_bytes([head[4], head[5], head[6], head[7]]) as i32;
        if self.read + len > self.info.size {
            return Err(self.bad("a packet runs past the recorded size"));
        }
        let mut data = vec![0u8; len as usize];
        if !data.is_empty() && !self.exact(&mut data)? {
            return Err(self.bad("truncated"));
        }
        self.packets += 1;
        Ok(Some((flags, data)))
    }
}

/// Writes the M4B `spec` describes (tags, chapter markers, cover, `+faststart`, as [`super::encode::AudioEncoder`]
/// would) from `segments` in order, copying their packets. Returns the path and the samples (44.1 kHz)
/// the file presents.
#[cfg(feature = "ffmpeg")]
pub fn remux_m4b(spec: &EncodeSpec, segments: &[(PathBuf, SegmentInfo)]) -> Result<(PathBuf, u64), EncodeError> {
    let fmt = OutFormat::M4b;
    // an encoder opened only for its codec parameters (the same as every segment's: same settings)
    let (enc, _, codec) = open_codec(fmt, wants_global_header(fmt), &spec.path)?;
    let mut mux = Muxer::open(spec, &enc, codec)?;
    let idx = mux.stream_index;
    let rate = fmt.rate() as i32;
    let st_tb = mux.octx.stream(idx).map(|s| s.time_base()).unwrap_or((1, rate).into());
    let fe = ffmpeg_error(&spec.path, "write audio");
    let mut pts = -(FRAME as i64);
    for (path, info) in segments {
        let mut r = SegmentReader::open(path, info)?;
        while let Some((flags, data)) = r.next_packet()? {
            let mut pkt = Packet::copy(&data);
            pkt.set_stream(idx);
            pkt.set_pts(Some(pts));
            pkt.set_dts(Some(pts));
            pkt.set_duration(FRAME as i64);
            pkt.set_flags(codec::packet::Flags::from_bits_truncate(flags));
            pkt.rescale_ts((1, rate), st_tb);
            pkt.write_interleaved(&mut mux.octx).map_err(&fe)?;
            pts += FRAME as i64;
        }
    }
    mux.finish()?;
    Ok((spec.path.clone(), pts.max(0) as u64))
}

/// A segment being encoded: in a build without FFmpeg none can be created.
#[cfg(not(feature = "ffmpeg"))]
pub struct SegmentEncoder(std::convert::Infallible);

#[cfg(not(feature = "ffmpeg"))]
impl SegmentEncoder {
    /// Always [`EncodeError::NoFfmpeg`].
    pub fn create(path: &Path, _trim: u64) -> Result<SegmentEncoder, EncodeError> {
        Err(EncodeError::NoFfmpeg {
            path: path.to_path_buf(),
        })
    }

    /// Unreachable: no encoder exists.
    pub fn push(&mut self, _samples: &[f32]) -> Result<(), EncodeError> {
        match self.0 {}
    }

    /// Unreachable: no encoder exists.
    pub fn finish(self) -> Result<SegmentInfo, EncodeError> {
        match self.0 {}
    }
}

/// Always [`EncodeError::NoFfmpeg`] in a build without FFmpeg.
#[cfg(not(feature = "ffmpeg"))]
pub fn remux_m4b(spec: &EncodeSpec, _segments: &[(PathBuf, SegmentInfo)]) -> Result<(PathBuf, u64), EncodeError> {
    Err(EncodeError::NoFfmpeg {
        path: spec.path.clone(),
    })
}

#[cfg(all(test, feature = "ffmpeg"))]
mod tests {
    use super::*;
    use crate::audio::encode::ChapterMark;

    fn tone(n: usize, f: f32) -> Vec<f32> {
        (0..n)
            .map(|i| 0.3 * (i as f32 * f * std::f32::consts::TAU / 44_100.0).sin())
            .collect()
    }

    #[test]
    fn segments_remux_into_an_m4b_whose_chapters_start_where_their_audio_does() {
        let d = tempfile::tempdir().unwrap();
        // two "chapters": 0.5 s of silence, a tone, 0.25 s of silence; the second's head pause loses a frame
        let mut segs = Vec::new();
        for (i, t) in [20_000usize, 9_000].iter().enumerate() {
            let path = d.path().join(format!("{i}.seg"));
            let trim = trim_for(i == 0, 22_050);
            let mut e = SegmentEncoder::create(&path, trim).unwrap();
            let mut x = vec![0f32; 22_050];
            x.extend(tone(*t, 440.0 * (i + 1) as f32));
            x.extend(vec![0f32; 11_025]);
            let n = &x.len();
            for b in x.chunks(1000) {
                e.push(b).unwrap();
            }
            let info = e.finish().unwrap();
            assert_eq!(info.trimmed, if i == 0 { 0 } else { FRAME });
            assert_eq!(info.samples % FRAME, 0);
            assert_eq!(info.packets, info.samples / FRAME + 1);
            assert!(intact(&path, &info));
            // the chapter's span is its own length rounded up to whole frames
            assert_eq!(info.span(i == 0), (*n as u64).div_ceil(FRAME) * FRAME);
            segs.push((path, info));
        }
        let s0 = segs[0].1.span(true) as i64;
        let s1 = segs[1].1.span(false) as i64;
        let spec = EncodeSpec {
            format: OutFormat::M4b,
            path: d.path().join("book.m4b"),
            tags: vec![("title".into(), "T".into())],
            chapters: vec![
                ChapterMark {
                    title: "a".into(),
                    start: 0,
                    end: s0,
                },
                ChapterMark {
                    title: "b".into(),
                    start: s0,
                    end: s0 + s1,
                },
            ],
            cover: None,
        };
        let (path, samples) = remux_m4b(&spec, &segs).unwrap();
        assert_eq!(samples as i64, s0 + s1);
        let (rate, pcm) = crate::audio::qc::decode_all(&path).unwrap();
        assert_eq!(rate, 44_100);
        assert_eq!(pcm.len() as i64, s0 + s1, "decoded length");
        // the second chapter's tone starts 0.5 s after its marker (within the codec's pre-echo)
        let first_loud = |from: usize| from + pcm[from..].iter().position(|x| x.abs() > 0.05).unwrap();
        assert!((first_loud(0) as i64 - 22_050).abs() < 200, "{}", first_loud(0));
        let onset = first_loud(s0 as usize) as i64 - s0;
        assert!((onset - 22_050).abs() < 200, "second chapter's tone at {onset}");
        // the join (end of the first chapter's padding, the priming frame) is near silence
        let join = &pcm[s0 as usize - 512..s0 as usize + FRAME as usize];
        let peak = join.iter().fold(0f32, |m, x| m.max(x.abs()));
        assert!(peak < 0.01, "join peak {peak}");
        // a damaged segment is refused
        let mut bytes = std::fs::read(&segs[1].0).unwrap();
        let k = bytes.len() - 3;
        bytes[k] ^= 0xFF;
        std::fs::write(&segs[1].0, &bytes).unwrap();
        assert!(!intact(&segs[1].0, &segs[1].1));
        let spec2 = EncodeSpec {
            path: d.path().join("book2.m4b"),
            ..spec
        };
        assert!(matches!(remux_m4b(&spec2, &segs), Err(EncodeError::Segment { .. })));
        assert!(!d.path().join("book2.m4b").exists());
    }
}
