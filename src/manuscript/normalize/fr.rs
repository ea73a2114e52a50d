//! French rules (tables only).

use super::numbers::{
    Gender::{F, M},
    L,
};
use super::rules::{ab, abw, n2, Abbr, Currency, Noun, Rules, Spell, Unit, When::*, Words};

const fn u(sym: &'static str, one: &'static str, plural: &'static str) -> Unit {
    Unit {
        sym,
        noun: n2(one, plural, M),
        ci: false,
    }
}

const fn uf(sym: &'static str, one: &'static str, plural: &'static str) -> Unit {
    Unit {
        sym,
        noun: n2(one, plural, F),
        ci: false,
    }
}

const UNITS: &[Unit] = &[
    u("km/h", "kilomètre à l'heure", "kilomètres à l'heure"),
    u("km²", "kilomètre carré", "kilomètres carrés"),
    u("m²", "mètre carré", "mètres carrés"),
    u("m³", "mètre cube", "mètres cubes"),
    u("km", "kilomètre", "kilomètres"),
    u("kg", "kilogramme", "kilogrammes"),
    u("mg", "milligramme", "milligrammes"),
    u("mm", "millimètre", "millimètres"),
    u("cm", "centimètre", "centimètres"),
    u("ml", "millilitre", "millilitres"),
    u("m", "mètre", "mètres"),
    u("g", "gramme", "grammes"),
    u("l", "litre", "litres"),
    u("L", "litre", "litres"),
    uf("t", "tonne", "tonnes"),
    u("ha", "hectare", "hectares"),
    uf("h", "heure", "heures"),
    uf("min", "minute", "minutes"),
    uf("s", "seconde", "secondes"),
    u("°C", "degré Celsius", "degrés Celsius"),
    u("°F", "degré Fahrenheit", "degrés Fahrenheit"),
    u("kWh", "kilowattheure", "kilowattheures"),
    u("kW", "kilowatt", "kilowatts"),
    u("W", "watt", "watts"),
    u("V", "volt", "volts"),
    u("Go", "gigaoctet", "gigaoctets"),
    u("Mo", "mégaoctet", "mégaoctets"),
];

const fn cur(syms: &'static [&'static str], major: Noun, minor: Noun) -> Currency {
    Currency {
        syms,
        major,
        minor,
        minor_bare: false,
    }
}

const CURRENCIES: &[Currency] = &[
    cur(&["€", "EUR"], n2("euro", "euros", M), n2("centime", "centimes", M)),
    cur(&["$", "USD"], n2("dollar", "dollars", M), n2("cent", "cents", M)),
    cur(&["£", "GBP"], n2("livre", "livres", F), n2("penny", "pence", M)),
    cur(&["CHF"], n2("franc suisse", "francs suisses", M), n2("centime", "centimes", M)),
    cur(&["¥", "JPY"], n2("yen", "yens", M), n2("sen", "sens", M)),
    cur(&["zł", "PLN"], n2("zloty", "zlotys", M), n2("grosz", "groszy", M)),
];

const ABBREVS: &[Abbr] = &[
    abw("M.", "Monsieur", BeforeName),
    abw("MM.", "Messieurs", BeforeName),
    ab("Mme", "Madame"),
    ab("Mmes", "Mesdames"),
    ab("Mlle", "Mademoiselle"),
    ab("Mlles", "Mesdemoiselles"),
    ab("Mᵐᵉ", "madame"),
    ab("Mᵐᵉˢ", "mesdames"),
    ab("Mˡˡᵉ", "mademoiselle"),
    ab("Mˡˡᵉˢ", "mademoiselles"),
    ab("Dʳ", "docteur"),
    ab("Dʳᵉˢ", "docteures"),
    ab("Dr", "docteur"),
    ab("Dr.", "docteur"),
    ab("Pr", "professeur"),
    abw("Me", "Maître", BeforeName),
    abw("St", "Saint", BeforeName),
    abw("Ste", "Sainte", BeforeName),
    ab("n°", "numéro"),
    ab("nº", "numéro"),
    ab("N°", "numéro"),
    abw("p.", "page", BeforeNumber),
    ab("etc.", "et cetera"),
    ab("cf.", "confer"),
    ab("env.", "environ"),
    ab("av.", "avenue"),
    ab("bd", "boulevard"),
    ab("apr.", "après"),
    ab("J.-C.", "Jésus-Christ"),
    ab("c.-à-d.", "c'est-à-dire"),
    ab("p. ex.", "par exemple"),
];

const MONTH_WORDS: &[(&str, u8)] = &[
    ("janvier", 1),
    ("janv", 1),
    ("février", 2),
    ("févr", 2),
    ("mars", 3),
    ("avril", 4),
    ("avr", 4),
    ("mai", 5),
    ("juin", 6),
    ("juillet", 7),
    ("juil", 7),
    ("août", 8),
    ("septembre", 9),
    ("sept", 9),
    ("octobre", 10),
    ("oct", 10),
    ("novembre", 11),
    ("nov", 11),
    ("décembre", 12),
    ("déc", 12),
];

/// French rules.
pub static RULES: Rules = Rules {
    code: "fr",
    lang: L::Fr,
    decimal: ',',
    group: &[' ', '\u{a0}', '\u{202f}', '.'],
    months: [
        "janvier",
        "février",
        "mars",
        "avril",
        "mai",
        "juin",
        "juillet",
        "août",
        "septembre",
        "octobre",
        "novembre",
        "décembre",
    ],
    month_words: MONTH_WORDS,
    day_first: true,
    units: UNITS,
    currencies: CURRENCIES,
    abbrevs: ABBREVS,
    scales: &[
        ("million", n2("million", "million", M)),
        ("millions", n2("millions", "millions", M)),
        ("milliard", n2("milliard", "milliard", M)),
        ("milliards", n2("milliards", "milliards", M)),
        ("billions", n2("billions", "billions", M)),
    ],
    heading_words: &["chapitre", "partie", "livre", "tome", "acte", "scène", "guerre", "volume"],
    century_words: &["siècle", "siècles"],
    century_cardinal: false,
    regnal_cardinal_above: 1,
    ordinal_suffixes: &[("er", M), ("ère", F), ("re", F), ("ème", M), ("e", M), ("°", M), ("ᵉ", M), ("ᵉʳ", M)],
    ordinal_nouns: &[],
    case_words: &[],
    feminine: &[],
    w: Words {
        point: "virgule",
        minus: "moins",
        plus: "plus",
        to: "à",
        from: "",
        percent: n2("pour cent", "pour cent", M),
        degree: n2("degré", "degrés", M),
        arcmin: n2("minute", "minutes", F),
        arcsec: n2("seconde", "secondes", F),
        hour: n2("heure", "heures", F),
        minute: n2("minute", "minutes", F),
        second: n2("seconde", "secondes", F),
        and: "et",
        per: "par",
        dot: "point",
        at: "arobase",
        slash: "barre oblique",
        colon: "deux-points",
        dash: "tiret",
        underscore: "tiret bas",
        amp: "et",
        hash: "dièse",
        regnal_the: "",
        compass: ["nord", "sud", "est", "ouest"],
    },
    spell: Spell::Never,
    am_pm: ["du matin", "de l'après-midi"],
    oclock: "heures",
};
