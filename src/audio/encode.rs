//! Encoding with ffmpeg-next: M4B (AAC, chapter markers, tags, cover), MP3 (libmp3lame, ID3 tags, cover,
//! ACX 192 kbps CBR 44.1 kHz), Opus (libopus, Ogg). Mono f32 samples are pushed in any block size; a file
//! is written under a temporary name and renamed only when complete.

#[cfg(feature = "ffmpeg")]
use std::path::Path;
use std::path::PathBuf;
#[cfg(feature = "ffmpeg")]
use std::sync::Once;

#[cfg(feature = "ffmpeg")]
use ffmpeg::{codec, encoder, format, frame, ChannelLayout, Dictionary, Packet};
#[cfg(feature = "ffmpeg")]
use ffmpeg_next as ffmpeg;

/// FFmpeg's error type (none can occur in a build without the `ffmpeg` feature).
#[cfg(feature = "ffmpeg")]
pub type FfmpegError = ffmpeg::Error;
/// FFmpeg's error type (none can occur in a build without the `ffmpeg` feature).
#[cfg(not(feature = "ffmpeg"))]
pub type FfmpegError = std::convert::Infallible;

/// What a build without FFmpeg says for anything that decodes or encodes audio.
pub const NO_FFMPEG: &str = "this ws-book build has no FFmpeg (a GPU worker build, `--no-default-features`); \
     decoding and encoding audio need the full build (README \"GPU (CUDA) build\")";

/// Channels of every encoded output: mono (the engines speak mono; loudness presets are chosen by it).
pub const OUTPUT_CHANNELS: u16 = 1;

/// Errors from encoding.
#[derive(Debug, thiserror::Error)]
pub enum EncodeError {
    /// FFmpeg refused something.
    #[error("{path}: cannot {action}: {source}")]
    Ffmpeg {
        /// Output file.
        path: PathBuf,
        /// What was being done.
        action: &'static str,
        /// FFmpeg's error.
        source: FfmpegError,
    },
    /// An encoder is missing from the FFmpeg build.
    #[error(
        "the FFmpeg libraries lack the `{0}` encoder (install Debian's libavcodec with it, e.g. libavcodec-extra)"
    )]
    MissingEncoder(&'static str),
    /// This build has no FFmpeg (see [`NO_FFMPEG`]).
    #[error("{path}: cannot write it: {NO_FFMPEG}")]
    NoFfmpeg {
        /// Output file.
        path: PathBuf,
    },
    /// A chapter segment of the M4B (see `audio::segment`) is damaged or not what was recorded.
    #[error("{path}: bad M4B chapter segment: {reason}")]
    Segment {
        /// Segment file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// File system error.
    #[error("{path}: {source}")]
    Io {
        /// File.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

/// An output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OutFormat {
    /// One audiobook file with chapters (AAC in MP4).
    M4b,
    /// MP3 per chapter.
    Mp3,
    /// Opus (Ogg) per chapter.
    Opus,
}

impl OutFormat {
    /// Parses `m4b`, `mp3`, `opus`.
    pub fn parse(s: &str) -> Option<OutFormat> {
        match s.trim().to_ascii_lowercase().as_str() {
            "m4b" => Some(OutFormat::M4b),
            "mp3" => Some(OutFormat::Mp3),
            "opus" => Some(OutFormat::Opus),
            _ => None,
        }
    }
    /// File extension.
    pub fn ext(self) -> &'static str {
        match self {
            OutFormat::M4b => "m4b",
            OutFormat::Mp3 => "mp3",
            OutFormat::Opus => "opus",
        }
    }
    /// Sample rate of the encoded file.
    pub fn rate(self) -> u32 {
        match self {
            OutFormat::M4b | OutFormat::Mp3 => 44_100,
            OutFormat::Opus => 48_000,
        }
    }
    #[cfg_attr(not(feature = "ffmpeg"), allow(dead_code))]
    fn muxer(self) -> &'static str {
        match self {
            OutFormat::M4b => "ipod",
            OutFormat::Mp3 => "mp3",
            OutFormat::Opus => "ogg",
        }
    }
    #[cfg_attr(not(feature = "ffmpeg"), allow(dead_code))]
    fn encoder(self) -> &'static str {
        match self {
            OutFormat::M4b => "aac",
            OutFormat::Mp3 => "libmp3lame",
            OutFormat::Opus => "libopus",
        }
    }
    #[cfg_attr(not(feature = "ffmpeg"), allow(dead_code))]
    fn bit_rate(self) -> usize {
        match self {
            OutFormat::M4b => 96_000,
            OutFormat::Mp3 => 192_000,
            OutFormat::Opus => 48_000,
        }
    }
}

/// A chapter marker, in samples at the format's rate.
#[derive(Debug, Clone)]
pub struct ChapterMark {
    /// Title.
    pub title: String,
    /// First sample.
    pub start: i64,
    /// One past the last sample.
    pub end: i64,
}

/// Cover art.
#[derive(Debug, Clone)]
pub struct Cover {
    /// Image bytes (JPEG or PNG).
    pub data: Vec<u8>,
}

impl Cover {
    /// Width and height of a JPEG or PNG image.
    pub fn dimensions(&self) -> Option<(i32, i32)> {
        let d = &self.data;
        if d.starts_with(b"\x89PNG") && d.len() >= 24 {
            let w = u32::from_be_bytes([d[16], d[17], d[18], d[19]]);
            let h = u32::from_be_bytes([d[20], d[21], d[22], d[23]]);
            return Some((w as i32, h as i32));
        }
        let mut i = 2;
        while i + 9 < d.len() {
            if d[i] != 0xFF {
                i += 1;
                continue;
            }
            let m = d[i + 1];
            let len = u16::from_be_bytes([d[i + 2], d[i + 3]]) as usize;
            if (0xC0..=0xCF).contains(&m) && m != 0xC4 && m != 0xC8 && m != 0xCC {
                let h = u16::from_be_bytes([d[i + 5], d[i + 6]]);
                let w = u16::from_be_bytes([d[i + 7], d[i + 8]]);
                return Some((w as i32, h as i32));
            }
            i += 2 + len;
        }
        None
    }

    #[cfg(feature = "ffmpeg")]
    /// MIME type of a JPEG or PNG image.
    fn mime(&self) -> Option<&'static str> {
        match self.codec_id()? {
            codec::Id::MJPEG => Some("image/jpeg"),
            _ => Some("image/png"),
        }
    }

    #[cfg(feature = "ffmpeg")]
    /// The Vorbis-comment `METADATA_BLOCK_PICTURE` value: a FLAC picture block (type 3, front cover), base64.
    fn metadata_block_picture(&self) -> Option<String> {
        use base64::Engine as _;
        let mime = self.mime()?;
        let (w, h) = self.dimensions()?;
        let mut b = Vec::with_capacity(self.data.len() + 64);
        let u32be = |b: &mut Vec<u8>, v: u32| b.extend_from_slice(&v.to_be_bytes());
        u32be(&mut b, 3); // picture type: front cover
        u32be(&mut b, mime.len() as u32);
        b.extend_from_slice(mime.as_bytes());
        u32be(&mut b, 0); // no description
        u32be(&mut b, w as u32);
        u32be(&mut b, h as u32);
        u32be(&mut b, 24); // colour depth (informative)
        u32be(&mut b, 0); // not indexed
        u32be(&mut b, u32::try_from(self.data.len()).ok()?);
        b.extend_from_slice(&self.data);
        Some(base64::engine::general_purpose::STANDARD.encode(b))
    }

    #[cfg(feature = "ffmpeg")]
    fn codec_id(&self) -> Option<codec::Id> {
        if self.data.starts_with(&[0xFF, 0xD8]) {
            Some(codec::Id::MJPEG)
        } else if self.data.starts_with(b"\x89PNG") {
            Some(codec::Id::PNG)
        } else {
            None
        }
    }
}

/// What to write.
#[derive(Debug, Clone)]
pub struct EncodeSpec {
    /// Format.
    pub format: OutFormat,
    /// Final path.
    pub path: PathBuf,
    /// Tags (`title`, `artist`, `album`, `track`…).
    pub tags: Vec<(String, String)>,
    /// Chapter markers (M4B).
    pub chapters: Vec<ChapterMark>,
    /// Cover art.
    pub cover: Option<Cover>,
}

/// An open encoder writing to a temporary file.
#[cfg(feature = "ffmpeg")]
pub struct AudioEncoder {
    mux: Muxer,
    enc: encoder::Audio,
    frame_size: usize,
    sample_format: format::Sample,
    rate: u32,
    buf: Vec<f32>,
    pts: i64,
    samples: u64,
    path: PathBuf,
}

/// Initialises FFmpeg once (quiet logging).
#[cfg(feature = "ffmpeg")]
pub fn init() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let _ = ffmpeg::init();
        ffmpeg::util::log::set_level(ffmpeg::util::log::Level::Error);
    });
}

/// An FFmpeg error about `path` while doing `action`.
#[cfg(feature = "ffmpeg")]
pub(crate) fn ffmpeg_error(path: &Path, action: &'static str) -> impl Fn(ffmpeg::Error) -> EncodeError {
    let path = path.to_path_buf();
    move |source| EncodeError::Ffmpeg {
        path: path.clone(),
        action,
        source,
    }
}

/// Opens `format`'s encoder: mono, the format's rate and bit rate, f32 samples, a global header when the
/// muxer wants one (`global`). `path` names the file in errors. Returns the encoder, its sample format and
/// the codec.
#[cfg(feature = "ffmpeg")]
pub(crate) fn open_codec(
    format: OutFormat,
    global: bool,
    path: &Path,
) -> Result<(encoder::Audio, format::Sample, codec::codec::Codec), EncodeError> {
    init();
    let fe = |action| ffmpeg_error(path, action);
    let codec = encoder::find_by_name(format.encoder()).ok_or(EncodeError::MissingEncoder(format.encoder()))?;
    let audio_codec = codec.audio().map_err(fe("use the audio encoder"))?;
    let wanted = [
        format::Sample::F32(format::sample::Type::Planar),
        format::Sample::F32(format::sample::Type::Packed),
    ];
    let sample_format = audio_codec
        .formats()
        .and_then(|mut fs| fs.find(|f| wanted.contains(f)))
        .unwrap_or(wanted[0]);
    let rate = format.rate();
    let mut e = codec::context::Context::new_with_codec(codec)
        .encoder()
        .audio()
        .map_err(fe("create the encoder"))?;
    e.set_rate(rate as i32);
    e.set_channel_layout(ChannelLayout::MONO);
    e.set_channels(i32::from(OUTPUT_CHANNELS));
    e.set_format(sample_format);
    e.set_bit_rate(format.bit_rate());
    e.set_time_base((1, rate as i32));
    if global {
        e.set_flags(codec::flag::Flags::GLOBAL_HEADER);
    }
    let opened = e.open_as(codec).map_err(fe("open the encoder"))?;
    Ok((opened, sample_format, codec))
}

/// Whether `format`'s muxer wants codec headers in the container (global header).
#[cfg(feature = "ffmpeg")]
pub(crate) fn wants_global_header(format: OutFormat) -> bool {
    init();
    let Ok(name) = std::ffi::CString::new(format.muxer()) else {
        return false;
    };
    // SAFETY: av_guess_format reads the NUL-terminated name and returns a pointer to a static muxer
    // description (or null); nothing is kept.
    unsafe {
        let f = ffmpeg::ffi::av_guess_format(name.as_ptr(), std::ptr::null(), std::ptr::null());
        !f.is_null() && (i64::from((*f).flags) & ffmpeg::ffi::AVFMT_GLOBALHEADER as i64) != 0
    }
}

/// An output file being written under its temporary name: the muxer with its audio stream, the header
/// (tags, chapter markers, cover) already written. Dropped before [`Muxer::finish`], it removes the
/// temporary file.
#[cfg(feature = "ffmpeg")]
pub(crate) struct Muxer {
    /// The muxer.
    pub octx: format::context::Output,
    /// Index of the audio stream.
    pub stream_index: usize,
    tmp: PathBuf,
    path: PathBuf,
    finished: bool,
}

#[cfg(feature = "ffmpeg")]
impl Drop for Muxer {
    /// A muxer dropped before [`Muxer::finish`] (an error, Ctrl-C) removes its temporary file.
    fn drop(&mut self) {
        if !self.finished {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

#[cfg(feature = "ffmpeg")]
impl Muxer {
    /// Creates `spec.path`'s temporary file, adds the audio stream with `enc`'s parameters, the cover,
    /// chapter markers and tags, and writes the header.
    pub(crate) fn open(
        spec: &EncodeSpec,
        enc: &encoder::Audio,
        codec: codec::codec::Codec,
    ) -> Result<Muxer, EncodeError> {
        init();
        let path = spec.path.clone();
        let fe = |action| ffmpeg_error(&path, action);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|source| EncodeError::Io {
                path: dir.to_path_buf(),
                source,
            })?;
        }
        let tmp = crate::partial::tmp_path(&path);
        let rate = spec.format.rate();
        let octx = format::output_as(&tmp, spec.format.muxer()).map_err(fe("create the output file"))?;
        // from here on, dropping `mux` removes the temporary file
        let mut mux = Muxer {
            octx,
            stream_index: 0,
            tmp,
            path: path.clone(),
            finished: false,
        };
        let octx = &mut mux.octx;
        if spec.format == OutFormat::Opus {
            // the Ogg muxer picks a random stream serial number unless asked to be bit-exact: with it, the
            // same audio gives the same file (the vendor string then reads `Lavf` without a version)
            // SAFETY: `octx` owns a valid AVFormatContext; only its flags are changed, before the header.
            unsafe {
                (*octx.as_mut_ptr()).flags |= ffmpeg::ffi::AVFMT_FLAG_BITEXACT;
            }
        }
        {
            let mut ost = octx.add_stream(codec).map_err(fe("add the audio stream"))?;
            mux.stream_index = ost.index();
            ost.set_parameters(enc);
            ost.set_time_base((1, rate as i32));
        }
        let cover_index = match spec.cover.as_ref().and_then(|c| Some((c.codec_id()?, c.dimensions()?))) {
            Some((id, (w, h))) if spec.format != OutFormat::Opus => {
                let mut st = octx.add_stream(encoder::find(id)).map_err(fe("add the cover stream"))?;
                // SAFETY: the stream was just created by avformat_new_stream and is owned by `octx`.
                unsafe {
                    let s = st.as_mut_ptr();
                    (*(*s).codecpar).codec_type = ffmpeg::ffi::AVMediaType::AVMEDIA_TYPE_VIDEO;
                    (*(*s).codecpar).codec_id = id.into();
                    (*(*s).codecpar).width = w;
                    (*(*s).codecpar).height = h;
                    (*s).disposition = ffmpeg::ffi::AV_DISPOSITION_ATTACHED_PIC;
                }
                // the ID3v2 muxer takes the APIC picture type from this (3, "Cover (front)"; else 0 "Other")
                let mut m = Dictionary::new();
                m.set("comment", "Cover (front)");
                st.set_metadata(m);
                Some(st.index())
            }
            _ => None,
        };
        for (i, ch) in spec.chapters.iter().enumerate() {
            octx.add_chapter(i as i64 + 1, (1, rate as i32), ch.start, ch.end, &ch.title)
                .map_err(fe("add a chapter marker"))?;
        }
        let mut meta = Dictionary::new();
        for (k, v) in &spec.tags {
            meta.set(k, v);
        }
        match spec.format {
            // Opus in Ogg has no picture stream: the cover is a FLAC picture block in the Vorbis comments
            OutFormat::Opus => {
                if let Some(pic) = spec.cover.as_ref().and_then(Cover::metadata_block_picture) {
                    meta.set("METADATA_BLOCK_PICTURE", &pic);
                }
            }
            // iTunes media kind 2 = Audiobook (`stik`)
            OutFormat::M4b => meta.set("media_type", "2"),
            OutFormat::Mp3 => {}
        }
        octx.set_metadata(meta);
        let mut opts = Dictionary::new();
        if spec.format == OutFormat::M4b {
            // the index (moov) before the audio (mdat): playable while downloading, streamable from a server
            opts.set("movflags", "+faststart");
        }
        octx.write_header_with(opts)
            .map(|left| {
                // an option the muxer did not take would be a silent no-op: it cannot happen with these names
                debug_assert!(left.iter().next().is_none(), "muxer options not used");
            })
            .map_err(fe("write the header"))?;
        if let (Some(idx), Some(cover)) = (cover_index, spec.cover.as_ref()) {
            let mut pkt = Packet::copy(&cover.data);
            pkt.set_stream(idx);
            pkt.set_flags(codec::packet::Flags::KEY);
            pkt.set_pts(Some(0));
            pkt.set_dts(Some(0));
            pkt.write_interleaved(octx).map_err(fe("write the cover art"))?;
        }
        Ok(mux)
    }

    /// Writes the trailer, syncs and renames the file into place.
    pub(crate) fn finish(&mut self) -> Result<(), EncodeError> {
        self.octx
            .write_trailer()
            .map_err(ffmpeg_error(&self.path, "write the trailer"))?;
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| EncodeError::Io { path, source }
        };
        std::fs::File::open(&self.tmp)
            .and_then(|f| f.sync_all())
            .map_err(io(&self.tmp))?;
        std::fs::rename(&self.tmp, &self.path).map_err(io(&self.path))?;
        self.finished = true;
        Ok(())
    }
}

#[cfg(feature = "ffmpeg")]
impl AudioEncoder {
    /// Opens the encoder and writes the header (tags, chapters, cover).
    pub fn open(spec: &EncodeSpec) -> Result<AudioEncoder, EncodeError> {
        let (enc, sample_format, codec) = open_codec(spec.format, wants_global_header(spec.format), &spec.path)?;
        let mux = Muxer::open(spec, &enc, codec)?;
        let frame_size = match enc.frame_size() {
            0 => 1024,
            n => n as usize,
        };
        Ok(AudioEncoder {
            mux,
            enc,
            frame_size,
            sample_format,
            rate: spec.format.rate(),
            buf: Vec::with_capacity(frame_size * 2),
            pts: 0,
            samples: 0,
            path: spec.path.clone(),
        })
    }

    fn err(&self, action: &'static str) -> impl Fn(ffmpeg::Error) -> EncodeError + '_ {
        move |source| EncodeError::Ffmpeg {
            path: self.path.clone(),
            action,
            source,
        }
    }

    fn drain(&mut self) -> Result<(), EncodeError> {
        let mut pkt = Packet::empty();
        let enc_tb = self.enc.time_base();
        let st_tb = self
            .mux
            .octx
            .stream(self.mux.stream_index)
            .map(|s| s.time_base())
            .unwrap_or(enc_tb);
        while self.enc.receive_packet(&mut pkt).is_ok() {
            pkt.set_stream(self.mux.stream_index);
            pkt.rescale_ts(enc_tb, st_tb);
            pkt.write_interleaved(&mut self.mux.octx)
                .map_err(|source| EncodeError::Ffmpeg {
                    path: self.path.clone(),
                    action: "write audio",
                    source,
                })?;
        }
        Ok(())
    }

    fn send(&mut self, n: usize) -> Result<(), EncodeError> {
        let mut f = frame::Audio::new(self.sample_format, n, ChannelLayout::MONO);
        f.set_rate(self.rate);
        {
            let data = f.data_mut(0);
            for (i, s) in self.buf[..n].iter().enumerate() {
                data[i * 4..i * 4 + 4].copy_from_slice(&s.to_le_bytes());
            }
        }
        f.set_pts(Some(self.pts));
        self.pts += n as i64;
        self.enc.send_frame(&f).map_err(self.err("encode audio"))?;
        self.buf.drain(..n);
        self.drain()
    }

    /// Encodes samples (mono, at the format's rate).
    pub fn push(&mut self, samples: &[f32]) -> Result<(), EncodeError> {
        self.samples += samples.len() as u64;
        self.buf.extend_from_slice(samples);
        while self.buf.len() >= self.frame_size {
            self.send(self.frame_size)?;
        }
        Ok(())
    }

    /// Flushes, writes the trailer, syncs and renames the file into place. Returns the path and the
    /// number of samples encoded.
    pub fn finish(mut self) -> Result<(PathBuf, u64), EncodeError> {
        if !self.buf.is_empty() {
            let n = self.buf.len();
            self.send(n)?;
        }
        self.enc.send_eof().map_err(self.err("flush the encoder"))?;
        self.drain()?;
        self.mux.finish()?;
        Ok((self.path.clone(), self.samples))
    }
}

/// An open encoder: in a build without FFmpeg none can be opened.
#[cfg(not(feature = "ffmpeg"))]
pub struct AudioEncoder(std::convert::Infallible);

#[cfg(not(feature = "ffmpeg"))]
impl AudioEncoder {
    /// Always [`EncodeError::NoFfmpeg`].
    pub fn open(spec: &EncodeSpec) -> Result<AudioEncoder, EncodeError> {
        Err(EncodeError::NoFfmpeg {
            path: spec.path.clone(),
        })
    }

    /// Unreachable: no encoder exists.
    pub fn push(&mut self, _samples: &[f32]) -> Result<(), EncodeError> {
        match self.0 {}
    }

    /// Unreachable: no encoder exists.
    pub fn finish(self) -> Result<(PathBuf, u64), EncodeError> {
        match self.0 {}
    }
}
