//! Polish rules (tables only). Nouns carry their three count forms (1 / 2–4 / 5+) and the form after a
//! fraction; abbreviations that inflect give `nominative|genitive|locative`.

use super::numbers::{
    Case,
    Gender::{self, F, M, N},
    L,
};
use super::rules::{Spell, ab, abw, n2, n4, Abbr, Currency, Noun, Rules, Unit, When::*, Words};

const fn u(sym: &'static str, noun: Noun) -> Unit {
    Unit { sym, noun, ci: false }
}

const METR: Noun = n4("metr", "metry", "metrów", "metra", M);
const UNITS: &[Unit] = &[
    u("km/h", n4("kilometr na godzinę", "kilometry na godzinę", "kilometrów na godzinę", "kilometra na godzinę", M)),
    u("km²", n4("kilometr kwadratowy", "kilometry kwadratowe", "kilometrów kwadratowych", "kilometra kwadratowego", M)),
    u("m²", n4("metr kwadratowy", "metry kwadratowe", "metrów kwadratowych", "metra kwadratowego", M)),
    u("m³", n4("metr sześcienny", "metry sześcienne", "metrów sześciennych", "metra sześciennego", M)),
    u("cm³", n4("centymetr sześcienny", "centymetry sześcienne", "centymetrów sześciennych", "centymetra sześciennego", M)),
    u("km", n4("kilometr", "kilometry", "kilometrów", "kilometra", M)),
    u("kg", n4("kilogram", "kilogramy", "kilogramów", "kilograma", M)),
    u("dag", n4("dekagram", "dekagramy", "dekagramów", "dekagrama", M)),
    u("mg", n4("miligram", "miligramy", "miligramów", "miligrama", M)),
    u("mm", n4("milimetr", "milimetry", "milimetrów", "milimetra", M)),
    u("cm", n4("centymetr", "centymetry", "centymetrów", "centymetra", M)),
    u("ml", n4("mililitr", "mililitry", "mililitrów", "mililitra", M)),
    u("m", METR),
    u("g", n4("gram", "gramy", "gramów", "grama", M)),
    u("l", n4("litr", "litry", "litrów", "litra", M)),
    u("t", n4("tona", "tony", "ton", "tony", F)),
    u("ha", n4("hektar", "hektary", "hektarów", "hektara", M)),
    u("h", n4("godzina", "godziny", "godzin", "godziny", F)),
    u("godz.", n4("godzina", "godziny", "godzin", "godziny", F)),
    u("min", n4("minuta", "minuty", "minut", "minuty", F)),
    u("min.", n4("minuta", "minuty", "minut", "minuty", F)),
    u("s", n4("sekunda", "sekundy", "sekund", "sekundy", F)),
    u("sek.", n4("sekunda", "sekundy", "sekund", "sekundy", F)),
    u("°C", n4("stopień Celsjusza", "stopnie Celsjusza", "stopni Celsjusza", "stopnia Celsjusza", M)),
    u("°F", n4("stopień Fahrenheita", "stopnie Fahrenheita", "stopni Fahrenheita", "stopnia Fahrenheita", M)),
    u("kWh", n4("kilowatogodzina", "kilowatogodziny", "kilowatogodzin", "kilowatogodziny", F)),
    u("kW", n4("kilowat", "kilowaty", "kilowatów", "kilowata", M)),
    u("W", n4("wat", "waty", "watów", "wata", M)),
    u("V", n4("wolt", "wolty", "woltów", "wolta", M)),
    u("GB", n4("gigabajt", "gigabajty", "gigabajtów", "gigabajta", M)),
    u("MB", n4("megabajt", "megabajty", "megabajtów", "megabajta", M)),
    u("KM", n4("koń mechaniczny", "konie mechaniczne", "koni mechanicznych", "konia mechanicznego", M)),
];

const fn cur(syms: &'static [&'static str], major: Noun, minor: Noun) -> Currency {
    Currency {
        syms,
        major,
        minor,
        minor_bare: false,
    }
}

const GROSZ: Noun = n4("grosz", "grosze", "groszy", "grosza", M);
const CENT: Noun = n4("cent", "centy", "centów", "centa", M);
const CURRENCIES: &[Currency] = &[
    cur(&["zł", "PLN", "złotych"], n4("złoty", "złote", "złotych", "złotego", M), GROSZ),
    cur(&["$", "USD"], n4("dolar", "dolary", "dolarów", "dolara", M), CENT),
    cur(&["€", "EUR"], n4("euro", "euro", "euro", "euro", N), CENT),
    cur(&["£", "GBP"], n4("funt", "funty", "funtów", "funta", M), n4("pens", "pensy", "pensów", "pensa", M)),
    cur(&["CHF"], n4("frank szwajcarski", "franki szwajcarskie", "franków szwajcarskich", "franka szwajcarskiego", M), n4("centym", "centymy", "centymów", "centyma", M)),
    cur(&["Kč", "CZK"], n4("korona czeska", "korony czeskie", "koron czeskich", "korony czeskiej", F), n4("halerz", "halerze", "halerzy", "halerza", M)),
    cur(&["¥", "JPY"], n4("jen", "jeny", "jenów", "jena", M), n4("sen", "seny", "senów", "sena", M)),
];

const ABBREVS: &[Abbr] = &[
    ab("np.", "na przykład"),
    ab("tzn.", "to znaczy"),
    ab("m.in.", "między innymi"),
    ab("tj.", "to jest"),
    ab("itd.", "i tak dalej"),
    ab("itp.", "i tym podobne"),
    ab("tzw.", "tak zwany"),
    ab("wg", "według"),
    ab("ok.", "około"),
    ab("ul.", "ulica|ulicy|ulicy"),
    ab("al.", "aleja|alei|alei"),
    ab("pl.", "plac|placu|placu"),
    ab("os.", "osiedle|osiedla|osiedlu"),
    ab("woj.", "województwo|województwa|województwie"),
    ab("pow.", "powiat|powiatu|powiecie"),
    ab("nr", "numer|numeru|numerze"),
    ab("nr.", "numer|numeru|numerze"),
    ab("tel.", "telefon"),
    ab("prof.", "profesor"),
    abw("dr", "doktor", BeforeName),
    ab("mgr", "magister"),
    ab("inż.", "inżynier"),
    ab("hab.", "habilitowany"),
    ab("św.", "święty|świętego|świętym"),
    ab("ks.", "ksiądz"),
    ab("p.", "pan"),
    ab("zob.", "zobacz"),
    ab("por.", "porównaj"),
    ab("ds.", "do spraw"),
    ab("godz.", "godzina|godziny|godzinie"),
    abw("r.", "roku", AfterNumber),
    abw("w.", "wieku", AfterNumber),
    abw("s.", "strona|strony|stronie", BeforeNumber),
    abw("str.", "strona|strony|stronie", BeforeNumber),
    abw("tys.", "tysięcy", AfterNumber),
    abw("mln", "milionów", AfterNumber),
    abw("mld", "miliardów", AfterNumber),
    abw("gr", "groszy", AfterNumber),
    ab("p.n.e.", "przed naszą erą"),
    ab("n.e.", "naszej ery"),
    ab("ww.", "wyżej wymieniony"),
    ab("jw.", "jak wyżej"),
    ab("cd.", "ciąg dalszy"),
    ab("b.r.", "bieżącego roku"),
    ab("sp. z o.o.", "spółka z ograniczoną odpowiedzialnością"),
];

const MONTH_WORDS: &[(&str, u8)] = &[
    ("stycznia", 1),
    ("styczeń", 1),
    ("sty", 1),
    ("lutego", 2),
    ("luty", 2),
    ("lut", 2),
    ("marca", 3),
    ("marzec", 3),
    ("mar", 3),
    ("kwietnia", 4),
    ("kwiecień", 4),
    ("kwi", 4),
    ("maja", 5),
    ("maj", 5),
    ("czerwca", 6),
    ("czerwiec", 6),
    ("cze", 6),
    ("lipca", 7),
    ("lipiec", 7),
    ("lip", 7),
    ("sierpnia", 8),
    ("sierpień", 8),
    ("sie", 8),
    ("września", 9),
    ("wrzesień", 9),
    ("wrz", 9),
    ("października", 10),
    ("październik", 10),
    ("paź", 10),
    ("listopada", 11),
    ("listopad", 11),
    ("lis", 11),
    ("grudnia", 12),
    ("grudzień", 12),
    ("gru", 12),
];

/// Feminine plural nouns that take "dwie" (a small list of the commonest; masculine "dwa" otherwise).
const FEMININE: &[&str] = &[
    "godziny", "minuty", "sekundy", "osoby", "kobiety", "strony", "książki", "części", "doby", "noce", "siostry",
    "córki", "matki", "dziewczyny", "złotówki", "lekcje", "klasy", "ulice", "drogi", "rzeczy", "sprawy", "szklanki",
    "butelki", "łyżki", "łyżeczki", "filiżanki", "tony", "mile", "stopy", "kawy", "herbaty", "piosenki", "ręce", "nogi",
    "głowy", "twarze", "ściany", "kartki", "litery", "gwiazdy", "wojny", "szkoły", "panie", "babcie", "ciocie",
    "żony", "córy", "kozy", "krowy", "kury", "myszy", "ryby", "muchy", "pszczoły", "róże", "lampy", "świece", "karty",
    "monety", "godzinki", "tygodnie", "połowy", "trzecie", "czwarte", "piąte", "wersje", "linie", "stacje", "sceny",
    "miny", "chwile", "noce",
];

/// Polish rules.
pub static RULES: Rules = Rules {
    code: "pl",
    lang: L::Pl,
    decimal: ',',
    group: &[' ', '\u{a0}', '\u{202f}', '.'],
    months: [
        "stycznia",
        "lutego",
        "marca",
        "kwietnia",
        "maja",
        "czerwca",
        "lipca",
        "sierpnia",
        "września",
        "października",
        "listopada",
        "grudnia",
    ],
    month_words: MONTH_WORDS,
    day_first: true,
    units: UNITS,
    currencies: CURRENCIES,
    abbrevs: ABBREVS,
    scales: &[
        ("tys.", n4("tysiąc", "tysiące", "tysięcy", "tysiąca", M)),
        ("mln", n4("milion", "miliony", "milionów", "miliona", M)),
        ("mld", n4("miliard", "miliardy", "miliardów", "miliarda", M)),
        ("tysięcy", n2("tysięcy", "tysięcy", M)),
        ("milionów", n2("milionów", "milionów", M)),
        ("miliony", n2("miliony", "miliony", M)),
        ("miliardów", n2("miliardów", "miliardów", M)),
    ],
    heading_words: &["rozdział", "rozdziału", "część", "części", "tom", "tomu", "akt", "scena", "księga", "wojna", "wojny", "wojnie"],
    century_words: &["wiek", "wieku", "w.", "wiekiem", "stulecie", "stulecia"],
    century_cardinal: false,
    regnal_cardinal_above: u64::MAX,
    ordinal_suffixes: &[("-szy", M), ("-gi", M), ("-ci", M), ("-ty", M), ("-my", M), ("-go", M), ("-ego", M), ("-ej", F), ("-e", N)],
    ordinal_nouns: &["wojna", "wojny", "wojnie", "wojną", "rzeczpospolita", "rzeczpospolitej", "liga", "ligi", "wiek", "wieku", "rocznica", "rocznicy", "piętro", "piętrze", "miejsce", "miejscu", "klasa", "klasie"],
    case_words: &[
        ("w", Case::Loc),
        ("we", Case::Loc),
        ("o", Case::Loc),
        ("po", Case::Loc),
        ("przy", Case::Loc),
        ("na", Case::Loc),
        ("od", Case::Gen),
        ("do", Case::Gen),
        ("z", Case::Gen),
        ("ze", Case::Gen),
        ("około", Case::Gen),
        ("ok", Case::Gen),
        ("koło", Case::Gen),
        ("u", Case::Gen),
        ("bez", Case::Gen),
        ("dla", Case::Gen),
        ("podczas", Case::Gen),
        ("sprzed", Case::Gen),
        ("spod", Case::Gen),
        ("powyżej", Case::Gen),
        ("poniżej", Case::Gen),
        ("wobec", Case::Gen),
        ("przed", Case::Ins),
        ("za", Case::Ins),
        ("nad", Case::Ins),
        ("pod", Case::Ins),
        ("między", Case::Ins),
    ],
    feminine: FEMININE,
    w: Words {
        point: "przecinek",
        minus: "minus",
        plus: "plus",
        to: "do",
        from: "od",
        percent: n4("procent", "procent", "procent", "procent", M),
        degree: n4("stopień", "stopnie", "stopni", "stopnia", M),
        arcmin: n4("minuta", "minuty", "minut", "minuty", F),
        arcsec: n4("sekunda", "sekundy", "sekund", "sekundy", F),
        hour: n4("godzina", "godziny", "godzin", "godziny", F),
        minute: n4("minuta", "minuty", "minut", "minuty", F),
        second: n4("sekunda", "sekundy", "sekund", "sekundy", F),
        and: "i",
        per: "na",
        dot: "kropka",
        at: "małpa",
        slash: "ukośnik",
        colon: "dwukropek",
        dash: "myślnik",
        underscore: "podkreślnik",
        amp: "i",
        hash: "krzyżyk",
        regnal_the: "",
        compass: ["północ", "południe", "wschód", "zachód"],
    },
    spell: Spell::Never,
    symbols: &[('$', "dolar"), ('€', "euro"), ('£', "funt"), ('%', "procent"), ('#', "krzyżyk"), ('+', "plus"), ('=', "równa się"), ('@', "małpa"), ('&', "i"), ('°', "stopni")],
    slash_pairs: &["i/lub"],
    am_pm: ["", ""],
    oclock: "",
};

/// The Polish gender a plural noun form takes for "dwa"/"dwie" (a lookup in [`FEMININE`]).
pub fn gender_of(word: &str) -> Gender {
    let w = word.to_lowercase();
    if FEMININE.contains(&w.as_str()) {
        F
    } else {
        M
    }
}

/// Unused marker so `n2` stays imported for shared table shorthands.
#[allow(dead_code)]
const _N2: Noun = n2("", "", M);
