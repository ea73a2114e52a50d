//! What players and stores read from the files, read back independently: the cover's picture type in MP3
//! (APIC type 3, parsed from the ID3v2 frame) and in Opus (a FLAC picture block in METADATA_BLOCK_PICTURE, seen
//! by FFmpeg's demuxer as an attached front cover), and the M4B's box order (`moov` before `mdat`, parsed from
//! the file) and media kind (`stik` = 2, Audiobook).

mod render_support;

use render_support::{ffprobe, files, DemoProject};

/// The top-level MP4 box types in file order.
fn top_boxes(b: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    let mut i = 0usize;
    while i + 8 <= b.len() {
        let mut size = u32::from_be_bytes(b[i..i + 4].try_into().unwrap()) as u64;
        let kind = String::from_utf8_lossy(&b[i + 4..i + 8]).to_string();
        if size == 1 && i + 16 <= b.len() {
            size = u64::from_be_bytes(b[i + 8..i + 16].try_into().unwrap());
        } else if size == 0 {
            size = (b.len() - i) as u64;
        }
        out.push(kind);
        if size < 8 {
            break;
        }
        i += size as usize;
    }
    out
}

/// The picture type of the first APIC frame of an ID3v2.3/2.4 tag.
fn apic_type(b: &[u8]) -> Option<u8> {
    if !b.starts_with(b"ID3") {
        return None;
    }
    let v = b[3];
    let syncsafe = |x: &[u8]| x.iter().fold(0usize, |a, &c| (a << 7) | (c as usize & 0x7f));
    let end = 10 + syncsafe(&b[6..10]);
    let mut i = 10;
    while i + 10 <= end {
        let id = &b[i..i + 4];
        let size = if v >= 4 {
            syncsafe(&b[i + 4..i + 8])
        } else {
            u32::from_be_bytes(b[i + 4..i + 8].try_into().unwrap()) as usize
        };
        if id == b"APIC" {
            let f = &b[i + 10..i + 10 + size];
            // encoding, MIME (NUL-terminated), picture type
            let nul = f[1..].iter().position(|&c| c == 0)?;
            return f.get(1 + nul + 1).copied();
        }
        if size == 0 {
            break;
        }
        i += 10 + size;
    }
    None
}

#[test]
fn covers_are_front_covers_and_the_m4b_streams_as_an_audiobook() {
    let p = DemoProject::new();
    std::fs::copy(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("projects/podcast-demo/cover.png"),
        p.dir.path().join("cover.png"),
    )
    .unwrap();
    let yaml = std::fs::read_to_string(p.yaml()).unwrap();
    let yaml = yaml.replace("output:\n", "output:\n  cover: cover.png\n");
    assert!(yaml.contains("cover: cover.png"));
    std::fs::write(p.yaml(), yaml).unwrap();
    let (o, _) = p.render(&["--formats", "m4b,mp3,opus"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));

    for mp3 in files(&p.out(), "mp3") {
        assert_eq!(std::fs::read(&mp3).unwrap()[3], 4, "{}: not ID3v2.4", mp3.display());
        assert_eq!(apic_type(&std::fs::read(&mp3).unwrap()), Some(3), "{}", mp3.display());
    }
    for opus in files(&p.out(), "opus") {
        let v = ffprobe(&opus, &["-show_streams"]);
        let pic = v["streams"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["disposition"]["attached_pic"] == 1)
            .unwrap_or_else(|| panic!("{}: no cover: {v:#}", opus.display()));
        assert_eq!(pic["codec_name"], "png", "{pic}");
        assert_eq!((&pic["width"], &pic["height"]), (&1400.into(), &1400.into()));
        assert_eq!(pic["tags"]["comment"], "Cover (front)", "{pic}");
    }
    let m4b = files(&p.out(), "m4b");
    let bytes = std::fs::read(&m4b[0]).unwrap();
    let boxes = top_boxes(&bytes);
    let pos = |k: &str| {
        boxes
            .iter()
            .position(|b| b == k)
            .unwrap_or_else(|| panic!("{k}: {boxes:?}"))
    };
    assert!(pos("moov") < pos("mdat"), "{boxes:?}");
    let v = ffprobe(&m4b[0], &["-show_format"]);
    assert_eq!(v["format"]["tags"]["media_type"], "2", "{v:#}");
}

/// A tag of a file, any case, from the format's or the first stream's tags.
fn tag(v: &serde_json::Value, key: &str) -> Option<String> {
    let find = |t: &serde_json::Value| {
        t.as_object()?
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .and_then(|(_, v)| v.as_str().map(str::to_string))
    };
    find(&v["format"]["tags"]).or_else(|| find(&v["streams"][0]["tags"]))
}

#[test]
fn output_tags_reach_every_format_and_bad_values_are_named() {
    let p = DemoProject::new();
    let yaml = std::fs::read_to_string(p.yaml()).unwrap();
    let tags = "output:\n  tags:\n    narrator: Ada Reader\n    date: 2026\n    description: A keeper and her visitors.\n    \
                publisher: Lantern Press\n    copyright: © 2026 ws-book contributors\n    series: Lighthouse Tales\n    \
                series_index: 2\n    isbn: 978-3-16-148410-0\n    asin: B0TEST1234\n";
    std::fs::write(p.yaml(), yaml.replace("output:\n", tags)).unwrap();
    let (o, _) = p.render(&["--formats", "m4b,mp3,opus"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));

    let m4b = ffprobe(&files(&p.out(), "m4b")[0], &["-show_format", "-show_streams"]);
    assert_eq!(tag(&m4b, "composer").as_deref(), Some("Ada Reader"), "{m4b:#}");
    assert_eq!(tag(&m4b, "date").as_deref(), Some("2026"));
    assert_eq!(tag(&m4b, "copyright").as_deref(), Some("© 2026 ws-book contributors"));
    assert_eq!(tag(&m4b, "grouping").as_deref(), Some("Lighthouse Tales"));
    assert_eq!(tag(&m4b, "description").as_deref(), Some("A keeper and her visitors."));
    assert_eq!(tag(&m4b, "synopsis").as_deref(), Some("A keeper and her visitors."));
    let c = tag(&m4b, "comment").unwrap();
    for part in [
        "draft: espeak-ng",
        "Narrator: Ada Reader",
        "Publisher: Lantern Press",
        "Series: Lighthouse Tales, book 2",
        "ISBN: 978-3-16-148410-0",
        "ASIN: B0TEST1234",
    ] {
        assert!(c.contains(part), "{part}: {c}");
    }

    let mp3 = ffprobe(&files(&p.out(), "mp3")[0], &["-show_format"]);
    for (k, want) in [
        ("composer", "Ada Reader"),
        ("NARRATOR", "Ada Reader"),
        ("date", "2026"),
        ("publisher", "Lantern Press"),
        ("copyright", "© 2026 ws-book contributors"),
        ("grouping", "Lighthouse Tales"),
        ("SERIES", "Lighthouse Tales"),
        ("SERIES-PART", "2"),
        ("ISBN", "978-3-16-148410-0"),
        ("ASIN", "B0TEST1234"),
        ("description", "A keeper and her visitors."),
    ] {
        assert_eq!(tag(&mp3, k).as_deref(), Some(want), "mp3 {k}: {mp3:#}");
    }
    let opus = ffprobe(&files(&p.out(), "opus")[0], &["-show_format", "-show_streams"]);
    for (k, want) in [
        ("COMPOSER", "Ada Reader"),
        ("NARRATOR", "Ada Reader"),
        ("DATE", "2026"),
        ("ORGANIZATION", "Lantern Press"),
        ("COPYRIGHT", "© 2026 ws-book contributors"),
        ("SERIES", "Lighthouse Tales"),
        ("SERIES-PART", "2"),
        ("ISBN", "978-3-16-148410-0"),
    ] {
        assert_eq!(tag(&opus, k).as_deref(), Some(want), "opus {k}: {opus:#}");
    }

    // a bad date is named with its line
    let yaml = std::fs::read_to_string(p.yaml()).unwrap();
    std::fs::write(p.yaml(), yaml.replace("date: 2026", "date: last spring")).unwrap();
    let (o, _) = p.render(&[]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("output.tags.date") && err.contains("project.yaml:"),
        "{err}"
    );
}

/// Decoded samples of a file (f32, mono), by FFmpeg.
fn pcm(path: &std::path::Path) -> Vec<f32> {
    let o = std::process::Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(path)
        .args(["-f", "f32le", "-ac", "1", "-"])
        .output()
        .unwrap();
    assert!(o.status.success());
    o.stdout
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
        .collect()
}

#[test]
fn room_tone_fills_the_pauses_at_its_level_and_is_deterministic() {
    let render = |tone: &str| {
        let p = DemoProject::new();
        let yaml = std::fs::read_to_string(p.yaml()).unwrap();
        std::fs::write(p.yaml(), format!("{yaml}\npauses:\n  room_tone: {tone}\n")).unwrap();
        let (o, v) = p.render(&["--formats", "mp3"]);
        (p, o, v)
    };
    let (a, o, v) = render("-70");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    for q in v["qc"].as_array().unwrap() {
        let floor = q["noise_floor_db"].as_f64().unwrap();
        assert!((-74.0..=-66.0).contains(&floor), "{q}");
        assert_eq!(q["pass"], true, "{q}");
    }
    // read back: the chapter head (750 ms before the first word) is quiet noise, not digital zero
    let mp3 = files(&a.out(), "mp3");
    let x = pcm(&mp3[0]);
    let head = &x[4_410..26_460]; // 0.1–0.6 s at 44.1 kHz
    let rms = (head.iter().map(|s| f64::from(*s).powi(2)).sum::<f64>() / head.len() as f64).sqrt();
    let db = 20.0 * rms.log10();
    assert!((-74.0..=-66.0).contains(&db), "head at {db} dBFS");
    // the same project elsewhere: the same samples
    let (b, o, _) = render("-70");
    assert!(o.status.success());
    assert_eq!(x, pcm(&files(&b.out(), "mp3")[0]));
    // out of range: named
    let (_, o, _) = render("-20");
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("pauses.room_tone") && err.contains("-90 to -50"), "{err}");
}
