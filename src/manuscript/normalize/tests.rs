//! Cases per language and class, written from each language's conventions (the issue's wrong outputs of
//! the old planner among them), the lexicon, the spellers against `num2words`, and properties on random
//! text: never a panic, never a lost word.

use super::*;

fn check(lang: &str, cases: &[(&str, &str)]) {
    let mut bad = Vec::new();
    for (written, spoken) in cases {
        let got = normalize(written, lang);
        if got != *spoken {
            bad.push(format!("{written:?}\n   got  {got:?}\n   want {spoken:?}"));
        }
    }
    assert!(
        bad.is_empty(),
        "{lang}: {} of {} wrong:\n{}",
        bad.len(),
        cases.len(),
        bad.join("\n")
    );
}

#[test]
fn issue_examples_english() {
    check(
        "en",
        &[
            ("£3.50", "three pounds fifty"),
            ("4 July 1776", "the fourth of July seventeen seventy-six"),
            ("July 4, 1776", "July fourth, seventeen seventy-six"),
            ("the 1990s", "the nineteen nineties"),
            ("Henry VIII", "Henry the Eighth"),
            ("World War II", "World War two"),
            ("Chapter IV", "Chapter four"),
            ("25°C", "twenty-five degrees Celsius"),
            (
                "30° 31′ 39″ N",
                "thirty degrees thirty-one minutes thirty-nine seconds north",
            ),
            ("555-0123", "five five five, zero one two three"),
            ("2.0.1", "two point zero point one"),
            ("12/05/2020", "December fifth twenty twenty"),
            ("15/05/2020", "the fifteenth of May twenty twenty"),
            ("No. 5", "number five"),
            ("St. Paul", "Saint Paul"),
            ("He lived on Elm St.", "He lived on Elm Street."),
            ("5 km", "five kilometers"),
            ("6 ft. tall", "six feet tall"),
            ("pp. 12", "pages twelve"),
            ("Fig. 3", "figure three"),
            ("12-15", "twelve to fifteen"),
        ],
    );
}

#[test]
fn english_classes() {
    check(
        "en",
        &[
            (
                "I have 3 cats and 1,200 fish.",
                "I have three cats and one thousand two hundred fish.",
            ),
            ("123", "one hundred and twenty-three"),
            (
                "In 1984 it cost $4.50 & 20% more.",
                "In nineteen eighty-four it cost four dollars fifty cents and twenty percent more.",
            ),
            (
                "The 21st time at 10:05, 3.14.",
                "The twenty-first time at ten oh five, three point one four.",
            ),
            (
                "On 2024-05-12 and May 3, 1999.",
                "On May twelfth twenty twenty-four and May third, nineteen ninety-nine.",
            ),
            ("2005", "two thousand five"),
            ("1900", "nineteen hundred"),
            ("1906", "nineteen oh six"),
            ("-2", "minus two"),
            ("0.5", "zero point five"),
            ("3/4", "three quarters"),
            ("2 1/2", "two and a half"),
            ("½", "one half"),
            ("$1", "one dollar"),
            ("$0.25", "twenty-five cents"),
            ("$45 billion", "forty-five billion dollars"),
            ("€20", "twenty euros"),
            ("9:30 a.m.", "nine thirty AM"),
            ("5pm", "five PM"),
            ("10:00", "ten o'clock"),
            ("14:10:30", "fourteen hours ten minutes and thirty seconds"),
            ("2pm-5pm", "two PM to five PM"),
            ("'80s", "eighties"),
            ("1980-1986", "nineteen eighty to nineteen eighty-six"),
            ("10 kg", "ten kilograms"),
            ("1 kg", "one kilogram"),
            ("100 km/h", "one hundred kilometers per hour"),
            ("98.6°F", "ninety-eight point six degrees Fahrenheit"),
            ("45°", "forty-five degrees"),
            (
                "+1 555-123-4567",
                "plus one, five five five, one two three, four five six seven",
            ),
            ("B2A23C", "B two A twenty-three C"),
            ("Louis XIV", "Louis the Fourteenth"),
            ("Part III", "Part three"),
            ("Sam and I went.", "Sam and I went."),
            ("I saw it.", "I saw it."),
            ("Mr. Smith and Dr. Jones", "mister Smith and doctor Jones"),
            (
                "e.g. this, i.e. that, etc.",
                "for example this, that is that, et cetera.",
            ),
            ("ca. 1850", "circa eighteen fifty"),
            ("jan@example.com", "jan at example dot com"),
            (
                "https://example.org/a-b",
                "HTTPS colon slash slash example dot org slash a dash b",
            ),
            ("@jensen", "at jensen"),
            ("rock & roll", "rock and roll"),
            ("C++", "C plus plus"),
            ("May I help?", "May I help?"),
            ("the 4th of July", "the fourth of July"),
            ("mid-1980s", "mid-nineteen eighties"),
            ("He is 5'11\" tall.", "He is five feet eleven inches tall."),
            ("Acme Inc. in the U.S.A.", "Acme Incorporated in the USA."),
        ],
    );
}

#[test]
fn issue_examples_polish() {
    check(
        "pl",
        &[
            (
                "21 września 1990",
                "dwudziestego pierwszego września tysiąc dziewięćset dziewięćdziesiątego",
            ),
            ("20 zł", "dwadzieścia złotych"),
            ("5 biletów", "pięć biletów"),
            ("2 koty", "dwa koty"),
            ("w 1990 roku", "w tysiąc dziewięćset dziewięćdziesiątym roku"),
            ("12,50 zł", "dwanaście złotych pięćdziesiąt groszy"),
            ("np. kot", "na przykład kot"),
            ("tzn. pies", "to znaczy pies"),
            ("m.in. ryby", "między innymi ryby"),
            ("ul. Długa", "ulica Długa"),
            ("nr 5", "numer pięć"),
            ("ok. 5 km", "około pięciu kilometrów"),
            ("Np. kot", "Na przykład kot"),
            ("2 braci", "dwóch braci"),
            ("5 mężczyzn", "pięciu mężczyzn"),
            ("godz. 14.00", "godzina czternasta"),
            ("O godz. 9:15", "O godzinie dziewiątej piętnaście"),
            ("Mieszko I", "Mieszko pierwszy"),
            ("I co dalej?", "I co dalej?"),
            ("1/2 kg", "pół kilograma"),
            ("na 8. piętro", "na ósme piętro"),
            ("To było 14.05.", "To było czternastego maja."),
            ("1,2 mln samochodów", "jeden przecinek dwa miliona samochodów"),
            ("ul. Długa 10 m. 5", "ulica Długa dziesięć mieszkania pięć"),
            (
                "(15 lipca 1410 r.)",
                "(piętnastego lipca tysiąc czterysta dziesiątego roku)",
            ),
            (
                "prof. dr hab. Jan Kowalski",
                "profesor doktor habilitowany Jan Kowalski",
            ),
            ("Dr Nowak patrzy.", "Doktor Nowak patrzy."),
            ("3–5 maja", "od trzeciego do piątego maja"),
        ],
    );
}

#[test]
fn polish_classes() {
    check(
        "pl",
        &[
            ("2 godziny", "dwie godziny"),
            ("22 kobiety", "dwadzieścia dwie kobiety"),
            ("1 zł", "jeden złoty"),
            ("2 zł", "dwa złote"),
            ("5 mln zł", "pięć milionów złotych"),
            ("1,5 km", "jeden przecinek pięć kilometra"),
            ("2 km", "dwa kilometry"),
            ("5 km", "pięć kilometrów"),
            ("o 10:30", "o dziesiątej trzydzieści"),
            ("10:05", "dziesiąta zero pięć"),
            ("od 8:00 do 16:00", "od ósmej do szesnastej"),
            ("w XIX wieku", "w dziewiętnastym wieku"),
            ("XX w.", "dwudziestego wieku."),
            ("Henryk VIII", "Henryk ósmy"),
            ("lata 90.", "lata dziewięćdziesiąte"),
            ("12–15", "od dwunastu do piętnastu"),
            ("3/4", "trzy czwarte"),
            ("5/8", "pięć ósmych"),
            ("50%", "pięćdziesiąt procent"),
            ("25°C", "dwadzieścia pięć stopni Celsjusza"),
            ("1 maja", "pierwszego maja"),
            ("w 2000 r.", "w dwutysięcznym roku."),
            ("12.05.2020", "dwunastego maja dwa tysiące dwudziestego"),
            ("Ala ma kota.", "Ala ma kota."),
        ],
    );
}

#[test]
fn german() {
    check(
        "de",
        &[
            ("am 3. Oktober", "am dritten Oktober"),
            (
                "Der 3. Oktober ist ein Feiertag.",
                "Der dritte Oktober ist ein Feiertag.",
            ),
            ("3. Oktober 1990", "dritter Oktober neunzehnhundertneunzig"),
            ("12,50 €", "zwölf Euro fünfzig Cent"),
            ("z. B. Äpfel, usw.", "zum Beispiel Äpfel, und so weiter."),
            ("Nr. 5", "Nummer fünf"),
            ("um 14:30 Uhr", "um vierzehn Uhr dreißig"),
            ("1,5 km", "eins komma fünf Kilometer"),
            ("der 2. Weltkrieg", "der zweite Weltkrieg"),
            ("im 19. Jahrhundert", "im neunzehnten Jahrhundert"),
            ("Heinrich VIII.", "Heinrich der Achte."),
            ("Heinrich VIII. war König.", "Heinrich der Achte war König."),
            ("Das war 1999 so.", "Das war neunzehnhundertneunundneunzig so."),
            ("1 Stunde", "eine Stunde"),
            ("die 90er Jahre", "die neunziger Jahre"),
            ("12–15 km", "zwölf bis fünfzehn Kilometer"),
            ("123", "einhundertdreiundzwanzig"),
            ("1 1/2", "eineinhalb"),
            ("im Jahr 1990", "im Jahr neunzehnhundertneunzig"),
            ("in der Hauptstr. 5", "in der Hauptstraße fünf"),
            ("Er war 25.", "Er war fünfundzwanzig."),
        ],
    );
}

#[test]
fn french() {
    check(
        "fr",
        &[
            ("1,5 km", "un virgule cinq kilomètres"),
            ("le 1er mai 2023", "le premier mai deux mille vingt-trois"),
            ("Henri IV", "Henri quatre"),
            (
                "Le 14 juillet 1789",
                "Le quatorze juillet mille sept cent quatre-vingt-neuf",
            ),
            ("le XIXe siècle", "le dix-neuvième siècle"),
            ("12,50 €", "douze euros cinquante centimes"),
            ("M. Dupont et Mme Curie", "Monsieur Dupont et Madame Curie"),
            ("n° 5", "numéro cinq"),
            ("10h30", "dix heures trente"),
            ("71", "soixante et onze"),
            ("80", "quatre-vingts"),
            ("3e", "troisième"),
            ("18%", "dix-huit pour cent"),
            ("1/4", "un quart"),
        ],
    );
}

#[test]
fn spanish() {
    check(
        "es",
        &[
            ("el 1 de enero de 2020", "el primero de enero de dos mil veinte"),
            ("Felipe II", "Felipe segundo"),
            ("Alfonso XIII", "Alfonso trece"),
            ("siglo XIX", "siglo diecinueve"),
            ("Sr. García y Sra. López", "señor García y señora López"),
            ("12,50 €", "doce euros cincuenta céntimos"),
            ("13:30", "trece y media"),
            ("21 años", "veintiún años"),
            ("1 hermana", "una hermana"),
            ("200 personas", "doscientas personas"),
            ("Carlos V", "Carlos quinto"),
            ("el 3.º lugar", "el tercer lugar"),
            ("100", "cien"),
            ("1/3", "un tercio"),
        ],
    );
}

#[test]
fn italian() {
    check(
        "it",
        &[
            ("il 1 maggio 2020", "il primo maggio duemilaventi"),
            ("Enrico VIII", "Enrico ottavo"),
            ("il XIX secolo", "il diciannovesimo secolo"),
            ("sig. Rossi", "signor Rossi"),
            ("12,50 €", "dodici euro cinquanta centesimi"),
            ("alle 16:00", "alle sedici"),
            ("23", "ventitré"),
            ("1/2", "un mezzo"),
        ],
    );
}

#[test]
fn languages_without_rules_keep_the_text() {
    assert_eq!(normalize("Mam 3 koty.", "ja"), "Mam 3 koty.");
    assert!(spans("3 koty", "cs").is_empty());
}

#[test]
fn spans_have_classes_and_offsets() {
    let t = "On 4 July 1776 it cost $5.";
    let sp = spans(t, "en");
    let classes: Vec<Class> = sp.iter().map(|s| s.class).collect();
    assert_eq!(classes, [Class::Date, Class::Money]);
    assert_eq!(&t[sp[0].start..sp[0].end], "4 July 1776");
    assert_eq!(&t[sp[1].start..sp[1].end], "$5");
}

#[test]
fn leftover_tokens() {
    assert_eq!(leftovers("one 3x, A#b and 3x. fine"), ["3x", "A#b"]);
    assert!(leftovers("all words here.").is_empty());
}

#[test]
fn lexicon() {
    let e = vec![
        ("Nginx".to_string(), "engine x".to_string()),
        ("SQL".to_string(), "sequel".to_string()),
    ];
    assert_eq!(
        apply_lexicon("Nginx and SQLite and SQL.", &e),
        "engine x and SQLite and sequel."
    );
}

/// The hand-written English and French spellers agree with num2words (English without the British "and",
/// which num2words only says after thousands).
#[test]
fn spellers_match_num2words() {
    use num2words::{Lang, Num2Words};
    let mut ns: Vec<u64> = (0..2100).collect();
    ns.extend([
        9_999,
        10_001,
        21_345,
        100_000,
        999_999,
        1_000_001,
        12_345_678,
        2_000_000_000,
        987_654_321_012,
    ]);
    for n in ns {
        let plain = |s: String| s.replace(" and ", " ");
        let want = Num2Words::new(n as i64).to_words().ok().map(plain);
        assert_eq!(Some(numbers::en::cardinal_plain(n)), want, "cardinal {n}");
        let want = Num2Words::new(n as i64).ordinal().to_words().ok().map(plain);
        assert_eq!(Some(numbers::en::ordinal(n)), want, "ordinal {n}");
        if n < 1_000_000_000 {
            let want = Num2Words::new(n as i64).lang(Lang::French).to_words().ok();
            assert_eq!(
                Some(numbers::fr::cardinal(n, numbers::Form::default())),
                want,
                "French {n}"
            );
        }
    }
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    fn piece() -> impl Strategy<Value = String> {
        prop_oneof![
            "[a-z]{4,9}",
            "[0-9]{1,6}",
            "[0-9]{1,3}[.,:/-][0-9]{1,4}",
            "[$£€¥%°#@&+=/.,:;()'\"-]{1,3}",
            "[IVXLC]{1,4}",
            "[A-Z][a-z]{1,5}\\.?",
            "[0-9]{1,2}(st|nd|rd|th|er|e|\\.|º|ª)",
            "[a-z]{2,6}@[a-z]{2,6}\\.(com|pl)",
            "[ąćęłńóśźżéèàüöäß]{1,4}",
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        /// Arbitrary Unicode: no panic, and the output is valid for every language.
        #[test]
        fn arbitrary_text_never_panics(text in "\\PC{0,60}") {
            for lang in LANGUAGES {
                let _ = normalize(&text, lang);
                let _ = leftovers(&text);
            }
        }

        /// Any input, any language: no panic, spans in order inside the text, and every plain lowercase
        /// word of four letters or more is still there, in order.
        #[test]
        fn never_panics_never_drops_words(parts in proptest::collection::vec(piece(), 0..12), sep in "[ ]{0,2}") {
            let text = parts.join(&sep);
            for lang in LANGUAGES {
                let sp = spans(&text, lang);
                let mut at = 0;
                for s in &sp {
                    prop_assert!(s.start >= at && s.end > s.start && s.end <= text.len());
                    at = s.end;
                }
                let out = normalize(&text, lang);
                let mut rest = out.as_str();
                for w in text.split_whitespace() {
                    if w.len() >= 4 && w.chars().all(|c| c.is_ascii_lowercase()) {
                        let pos = rest.find(w);
                        prop_assert!(pos.is_some(), "{lang}: lost {w:?} from {text:?} → {out:?}");
                        rest = &rest[pos.unwrap_or(0) + w.len()..];
                    }
                }
            }
        }
    }
}
