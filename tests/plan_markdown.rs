//! `plan` on real Markdown files: the demo project, attribution, code-switching, no text lost.

use std::path::{Path, PathBuf};

use proptest::prelude::*;
use ws_book::plan::{self, Plan};

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write");
    p
}

/// Words of every chunk in the chapter, in order.
fn chunk_words(plan: &Plan) -> Vec<Vec<String>> {
    plan.chapters
        .iter()
        .map(|ch| {
            ch.chunks
                .iter()
                .flat_map(|c| {
                    c.runs
                        .iter()
                        .map(|r| r.text.clone())
                        .collect::<String>()
                        .split_whitespace()
                        .map(String::from)
                        .collect::<Vec<_>>()
                })
                .collect()
        })
        .collect()
}

fn demo() -> Plan {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    plan::load_and_plan(&root.join("projects/demo/project.yaml"))
        .expect("demo plans")
        .1
}

#[test]
fn demo_project_chapters_speakers_and_code_switch() {
    let p = demo();
    assert_eq!(p.title, "The Lighthouse Keeper's Visitors");
    assert_eq!(p.language, "en");
    let titles: Vec<&str> = p.chapters.iter().map(|c| c.title.as_str()).collect();
    assert_eq!(
        titles,
        ["Chapter 1: The Storm", "Chapter 2: The Letter", "Chapter 3: Morning"]
    );
    let speakers: std::collections::BTreeSet<&str> = p
        .chapters
        .iter()
        .flat_map(|c| c.chunks.iter().map(|k| k.speaker.as_str()))
        .collect();
    assert_eq!(speakers.into_iter().collect::<Vec<_>>(), ["mira", "narrator", "tomasz"]);
    // The code-switched sentence: exact runs.
    let cs = p.chapters[1]
        .chunks
        .iter()
        .find(|c| c.runs.len() > 1)
        .expect("a code-switched chunk");
    let runs: Vec<(&str, &str)> = cs.runs.iter().map(|r| (r.text.as_str(), r.lang.as_str())).collect();
    assert_eq!(
        runs,
        [
            ("Tomasz read it twice. Then he smiled and whispered ", "en"),
            ("dziękuję bardzo, moja droga", "pl"),
            (", before he remembered his manners and said it again in English.", "en"),
        ]
    );
    // The script line is Mira's and its label is not spoken.
    let script = &p.chapters[1].chunks[2];
    assert_eq!(script.speaker, "mira");
    assert!(script.runs[0].text.starts_with("My grandmother"));
    // Keys are unique content hashes, and chapter ends are flagged once per chapter.
    for ch in &p.chapters {
        assert_eq!(ch.chunks.iter().filter(|c| c.chapter_end).count(), 1);
        assert!(ch.chunks.last().expect("chunks").chapter_end && ch.chunks.last().expect("chunks").paragraph_end);
    }
    assert!(p.chapters.iter().flat_map(|c| &c.chunks).all(|c| c.key.len() == 64));
    // Pronunciation and normalisation were applied.
    let first = &p.chapters[0].chunks[1].runs[0].text;
    assert!(first.contains("peninsula of Hell at nine thirty"), "{first}");
    assert!(first.contains("twenty-one years"), "{first}");
}

#[test]
fn plan_is_deterministic_and_one_edit_changes_one_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    let md = "# One\n\nFirst sentence here. Second one.\n\nAnother paragraph.\n\n# Two\n\nLast words.\n";
    let book = write(dir.path(), "b.md", md);
    let a = plan::load_and_plan(&book).expect("plan").1;
    let b = plan::load_and_plan(&book).expect("plan").1;
    assert_eq!(a, b);
    write(
        dir.path(),
        "b.md",
        &md.replace("Another paragraph.", "Another, edited paragraph."),
    );
    let c = plan::load_and_plan(&book).expect("plan").1;
    let keys = |p: &Plan| {
        p.chapters
            .iter()
            .flat_map(|c| c.chunks.iter().map(|k| k.key.clone()))
            .collect::<Vec<_>>()
    };
    let (ka, kc) = (keys(&a), keys(&c));
    assert_eq!(ka.len(), kc.len());
    assert_eq!(ka.iter().zip(&kc).filter(|(x, y)| x != y).count(), 1);
}

#[test]
fn attribution_cases_exact() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(
        dir.path(),
        "b.md",
        "# C\n\n“Off with her head!” shouted the Queen.\n\nAlice said, “I don’t think so.”\n\n\"Who's there?\" Nobody answered.\n\n<span data-speaker=\"alice\">I said nothing.</span> The cat grinned.\n\n**KING:** Silence in court!\n\nDUCHESS: Pepper!\n",
    );
    let y = write(
        dir.path(),
        "p.yaml",
        "manuscripts: [b.md]\ncharacters:\n  alice: {}\n  queen:\n    aliases: [the Queen]\n  king: {}\n",
    );
    let p = plan::load_and_plan(&y).expect("plan").1;
    let got: Vec<(String, String)> = p.chapters[0].chunks[1..]
        .iter()
        .map(|c| {
            (
                c.speaker.clone(),
                c.runs.iter().map(|r| r.text.as_str()).collect::<String>(),
            )
        })
        .collect();
    let want: Vec<(String, String)> = [
        ("queen", "“Off with her head!”"),
        ("narrator", "shouted the Queen."),
        ("narrator", "Alice said,"),
        ("alice", "“I don’t think so.”"),
        ("narrator", "\"Who's there?\" Nobody answered."),
        ("alice", "I said nothing."),
        ("narrator", "The cat grinned."),
        ("king", "Silence in court!"),
        ("narrator", "DUCHESS: Pepper!"),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    assert_eq!(got, want);
    assert!(p.warnings.iter().any(|w| w.contains("`DUCHESS`")), "{:?}", p.warnings);
}

#[test]
fn a_byte_order_mark_is_not_spoken_and_keeps_the_first_heading_and_front_matter() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(
        dir.path(),
        "bom.md",
        "\u{feff}---\ntitle: Front\n---\n\n# Rozdział pierwszy\r\n\r\nZażółć gęślą jaźń.\r\n\r\n# Two\n\nMore.\n",
    );
    let y = write(dir.path(), "p.yaml", "manuscripts: [bom.md]\nlanguage: pl\n");
    let p = plan::load_and_plan(&y).expect("plan").1;
    let titles: Vec<&str> = p.chapters.iter().map(|c| c.title.as_str()).collect();
    assert_eq!(titles, ["Rozdział pierwszy", "Two"]);
    let spoken: String = p
        .chapters
        .iter()
        .flat_map(|c| &c.chunks)
        .flat_map(|c| &c.runs)
        .map(|r| r.text.as_str())
        .collect();
    assert!(
        !spoken.contains('\u{feff}') && !spoken.contains("title:") && !spoken.contains('#'),
        "{spoken}"
    );
    assert!(spoken.contains("Zażółć gęślą jaźń."), "{spoken}");
}

#[test]
fn overlong_sentence_is_split_at_clauses_never_inside_words() {
    let dir = tempfile::tempdir().expect("tempdir");
    let long = (0..60)
        .map(|i| format!("clause number{i} goes on, "))
        .collect::<String>()
        + "and ends.";
    let book = write(dir.path(), "b.md", &format!("# C\n\n{long}\n"));
    let p = plan::load_and_plan(&book).expect("plan").1;
    let chunks = &p.chapters[0].chunks;
    assert!(chunks.len() > 3);
    for c in chunks {
        let t: String = c.runs.iter().map(|r| r.text.as_str()).collect();
        assert!(t.len() <= 500, "{} bytes", t.len());
        assert!(t.chars().count() as f64 / 15.0 <= 25.0);
    }
    // Splits at clause punctuation: every non-final piece of the sentence ends with a comma.
    for c in &chunks[1..chunks.len() - 1] {
        assert!(c.runs[0].text.ends_with(','), "{:?}", c.runs[0].text);
    }
    assert!(p.chapters[0].warnings.iter().any(|w| w.contains("was split")));
    let words: Vec<String> = chunk_words(&p)[0].clone();
    let want: Vec<String> = format!("C {long}").split_whitespace().map(String::from).collect();
    assert_eq!(words, want);
}

#[test]
fn cjk_and_a_word_longer_than_a_chunk() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cjk = "我很好。".repeat(60);
    let word = "x".repeat(900);
    let book = write(
        dir.path(),
        "b.md",
        &format!("---\nlanguage: zh\n---\n# 第一章\n\n{cjk}\n\n{word}\n"),
    );
    let p = plan::load_and_plan(&book).expect("plan").1;
    assert_eq!(p.language, "zh");
    let texts: Vec<String> = p.chapters[0]
        .chunks
        .iter()
        .map(|c| c.runs.iter().map(|r| r.text.as_str()).collect())
        .collect();
    assert!(texts.iter().all(|t| t.len() <= 500));
    let joined: String = texts.concat().chars().filter(|c| !c.is_whitespace()).collect();
    assert_eq!(joined, format!("第一章{cjk}{word}"));
}

/// Generated manuscripts: whatever the prose, the words of the chunks are the words of the text.
fn arb_word() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Zàéłż]{1,12}",
        Just("Mr.".to_string()),
        Just("e.g.".to_string()),
        Just("J.".to_string()),
        Just("3.14".to_string()),
        Just("“Hello,”".to_string()),
        Just("said".to_string()),
        Just("Alice".to_string()),
        Just("end.".to_string()),
        Just("why?!".to_string()),
        Just("…".to_string()),
        Just("(aside).".to_string()),
        Just("ALICE:".to_string()),
        Just("\"quote".to_string()),
        Just("x".repeat(40)),
        Just("(\u{201c}which".to_string()),
        Just("before,\u{201d})".to_string()),
        Just("Pat!Pat!".to_string()),
        Just("voice\u{2014}\"Pat!".to_string()),
        Just("said.\u{201c}Go".to_string()),
        Just("3rd".to_string()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn no_text_lost(
        paras in prop::collection::vec(prop::collection::vec(arb_word(), 1..120), 1..8),
        numbers in prop::collection::vec(prop::option::of(1u32..100_000), 8),
    ) {
        let dir = tempfile::tempdir().expect("tempdir");
        // Some paragraphs are ordered-list items (`14. …`): their numbers are read too, counted from the
        // first item of each list as CommonMark numbers them.
        let body: Vec<String> = paras
            .iter()
            .zip(&numbers)
            .map(|(p, n)| match n {
                Some(n) => format!("{n}. {}", p.join(" ")),
                None => p.join(" "),
            })
            .collect();
        let md = format!("# Title\n\n{}\n", body.join("\n\n"));
        write(dir.path(), "b.md", &md);
        let y = write(dir.path(), "p.yaml", "manuscripts: [b.md]\nreading: { normalize: false }\ncharacters: { alice: {} }\nchunking: { max_bytes: 120 }\n");
        let p = plan::load_and_plan(&y).expect("plan").1;
        let got = chunk_words(&p).concat();
        // Script labels (`ALICE:` opening a paragraph) are the one documented removal.
        let mut want: Vec<String> = vec!["Title".into()];
        let mut item: Option<u32> = None;
        for (para, n) in paras.iter().zip(&numbers) {
            item = n.map(|n| item.map_or(n, |prev| prev + 1));
            want.extend(item.map(|i| format!("{i}.")));
            let skip = usize::from(para[0] == "ALICE:" && para.len() > 1);
            want.extend(para[skip..].iter().cloned());
        }
        prop_assert_eq!(got, want);
        for ch in &p.chapters {
            for c in &ch.chunks {
                prop_assert!(c.runs.iter().map(|r| r.text.len()).sum::<usize>() <= 120);
            }
        }
    }
}

#[test]
fn ordered_list_numbers_are_read_as_their_own_sentence() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(
        dir.path(),
        "b.md",
        "# Winter\n\n14. Januar war kalt.\n15. Februar auch.\n\nEnde.\n",
    );
    let y = write(dir.path(), "p.yaml", "manuscripts: [b.md]\nlanguage: de\n");
    let p = plan::load_and_plan(&y).expect("plan").1;
    let captions: Vec<Vec<String>> = p.chapters[0].chunks.iter().map(|c| c.captions.clone()).collect();
    assert_eq!(
        captions,
        [
            vec!["Winter".to_string()],
            vec!["14.".into(), "Januar war kalt.".into()],
            vec!["15.".into(), "Februar auch.".into()],
            vec!["Ende.".into()],
        ]
    );
    // The number is spoken (as the normaliser spells it), ending with its own sentence break.
    let first = &p.chapters[0].chunks[1];
    assert_eq!(first.sentences.len(), 2);
    assert_eq!(
        first.sentences[0], "vierzehn.",
        "a list number is a count, not an ordinal"
    );
    assert!(first.sentences[1] == "Januar war kalt.", "{:?}", first.sentences);
    // English: the list number becomes words.
    write(dir.path(), "e.md", "# Steps\n\n3. Open the door.\n");
    let e = plan::load_and_plan(&dir.path().join("e.md")).expect("plan").1;
    let spoken: String = e.chapters[0].chunks[1].runs.iter().map(|r| r.text.as_str()).collect();
    assert_eq!(spoken, "three. Open the door.");
}

#[test]
fn captions_keep_the_written_text_and_keys_follow_the_spoken_text() {
    let p = demo();
    let chunk = &p.chapters[0].chunks[1];
    let written = chunk.captions.join(" ");
    let spoken: String = chunk.runs.iter().map(|r| r.text.as_str()).collect();
    assert!(written.contains("peninsula of Hel at 9:30 in the evening"), "{written}");
    assert!(written.contains("for 21 years"), "{written}");
    assert!(spoken.contains("peninsula of Hell at nine thirty"), "{spoken}");
    assert_eq!(chunk.captions.len(), chunk.sentences.len());
    // An overlong sentence with numbers split into chunks: the pieces' captions rebuild the written text.
    let dir = tempfile::tempdir().expect("tempdir");
    let long = (1..=60).map(|i| format!("clause {i} goes on, ")).collect::<String>() + "and ends.";
    let book = write(dir.path(), "b.md", &format!("# C\n\n{long}\n"));
    let p = plan::load_and_plan(&book).expect("plan").1;
    let chunks = &p.chapters[0].chunks[1..];
    assert!(chunks.len() > 3);
    let written: Vec<String> = chunks.iter().flat_map(|c| c.captions.clone()).collect();
    assert_eq!(written.join(" "), long);
    assert!(chunks.iter().all(|c| !c.captions[0].is_empty()));
}

#[test]
fn language_detection_and_per_language_voices() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(
        dir.path(),
        "b.md",
        "# C\n\nThe weather was lovely and everyone went outside to enjoy the sunshine.\n\nWszyscy poszli na spacer, bo pogoda była naprawdę piękna i bardzo ciepła.\n\n“Dzień dobry, jak się pan dzisiaj czuje w ten piękny poranek?” zapytała Ania.\n",
    );
    let y = write(
        dir.path(),
        "p.yaml",
        "manuscripts: [b.md]\nlanguage: en\nlanguages: [pl]\nreading: { detect_language: true }\nnarrator:\n  voice: default\n  voices: { pl: jadwiga }\ncharacters:\n  ania:\n    voice: anne\n    voices: { pl: ania-pl }\n",
    );
    let p = plan::load_and_plan(&y).expect("plan").1;
    let got: Vec<(String, String, String)> = p.chapters[0].chunks[1..]
        .iter()
        .map(|c| (c.speaker.clone(), c.voice.clone(), c.runs[0].lang.clone()))
        .collect();
    let want: Vec<(String, String, String)> = [
        ("narrator", "default", "en"),
        ("narrator", "jadwiga", "pl"),
        ("ania", "ania-pl", "pl"),
        ("narrator", "default", "en"),
    ]
    .iter()
    .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
    .collect();
    // The short tag "zapytała Ania." is too short to detect reliably and keeps the book language.
    assert_eq!(got[..3], want[..3]);
    // Without detection everything is English.
    let y2 = write(dir.path(), "p2.yaml", "manuscripts: [b.md]\nlanguages: [pl]\n");
    let p2 = plan::load_and_plan(&y2).expect("plan").1;
    assert!(p2.chapters[0]
        .chunks
        .iter()
        .all(|c| c.runs.iter().all(|r| r.lang == "en")));
}
