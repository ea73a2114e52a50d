use super::*;

const M: Form = Form::new(Gender::M, Case::Nom);

#[test]
fn polish() {
    assert_eq!(cardinal(L::Pl, 1990, M), "tysiąc dziewięćset dziewięćdziesiąt");
    assert_eq!(cardinal(L::Pl, 22_000, M), "dwadzieścia dwa tysiące");
    assert_eq!(cardinal(L::Pl, 5_000_000, M), "pięć milionów");
    assert_eq!(cardinal(L::Pl, 2, Form::new(Gender::F, Case::Nom)), "dwie");
    assert_eq!(
        cardinal(L::Pl, 125, Form::new(Gender::M, Case::Gen)),
        "stu dwudziestu pięciu"
    );
    let g = Form::new(Gender::M, Case::Gen);
    assert_eq!(ordinal(L::Pl, 21, g), "dwudziestego pierwszego");
    assert_eq!(ordinal(L::Pl, 1990, g), "tysiąc dziewięćset dziewięćdziesiątego");
    assert_eq!(ordinal(L::Pl, 2000, g), "dwutysięcznego");
    assert_eq!(ordinal(L::Pl, 3, Form::new(Gender::F, Case::Loc)), "trzeciej");
    assert_eq!(ordinal(L::Pl, 2, Form::new(Gender::M, Case::Loc)), "drugim");
    assert_eq!(
        ordinal(L::Pl, 1990, Form::new(Gender::M, Case::Loc)),
        "tysiąc dziewięćset dziewięćdziesiątym"
    );
    assert_eq!(ordinal(L::Pl, 8, Form::new(Gender::M, Case::Nom)), "ósmy");
    assert_eq!(ordinal(L::Pl, 4, Form::new(Gender::F, Case::NomPl)), "czwarte");
}

#[test]
fn german() {
    assert_eq!(cardinal(L::De, 123, M), "einhundertdreiundzwanzig");
    assert_eq!(cardinal(L::De, 2_000_003, M), "zwei Millionen drei");
    assert_eq!(cardinal(L::De, 1_000_000, M), "eine Million");
    assert_eq!(cardinal(L::De, 101, M), "einhunderteins");
    assert_eq!(cardinal(L::De, 21, M), "einundzwanzig");
    assert_eq!(ordinal(L::De, 3, Form::new(Gender::M, Case::Dat)), "dritten");
    assert_eq!(ordinal(L::De, 24, M), "vierundzwanzigster");
    assert_eq!(ordinal(L::De, 101, M), "einhunderterster");
    assert_eq!(ordinal(L::De, 1000, M), "eintausendster");
    assert_eq!(year(L::De, 1990, M), "neunzehnhundertneunzig");
    assert_eq!(year(L::De, 2003, M), "zweitausenddrei");
}

#[test]
fn french_spanish_italian() {
    assert_eq!(cardinal(L::Fr, 71, M), "soixante et onze");
    assert_eq!(cardinal(L::Fr, 80, M), "quatre-vingts");
    assert_eq!(
        cardinal(L::Fr, 6_492_000, M),
        "six millions quatre cent quatre-vingt-douze mille"
    );
    assert_eq!(ordinal(L::Fr, 21, M), "vingt et unième");
    assert_eq!(ordinal(L::Fr, 1_000_000_000, M), "un milliardième");
    assert_eq!(ordinal(L::Fr, 90, M), "quatre-vingt-dixième");
    assert_eq!(cardinal(L::Es, 1_000_000_000, M), "mil millones");
    assert_eq!(
        cardinal(L::Es, 1_034_068, M),
        "un millón treinta y cuatro mil sesenta y ocho"
    );
    assert_eq!(cardinal(L::Es, 100, M), "cien");
    assert_eq!(ordinal(L::Es, 134, M), "centésimo trigésimo cuarto");
    assert_eq!(ordinal(L::Es, 28, M), "vigesimoctavo");
    assert_eq!(ordinal(L::Es, 2000, M), "dosmilésimo");
    assert_eq!(cardinal(L::It, 3544, M), "tremilacinquecentoquarantaquattro");
    assert_eq!(cardinal(L::It, 38, M), "trentotto");
    assert_eq!(ordinal(L::It, 23, M), "ventitreesimo");
    assert_eq!(ordinal(L::It, 11, Form::new(Gender::F, Case::Nom)), "undicesima");
}
