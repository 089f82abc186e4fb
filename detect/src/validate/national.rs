//! Check digits and embedded dates of national identity numbers: the
//! Nordic personal numbers, Poland, Belgium, Ireland, Switzerland, Turkey,
//! China, Korea, Japan, South Africa, Australia and Mexico; Romania,
//! Bulgaria, Czechia and Slovakia, Croatia, Slovenia, the Baltic states,
//! Austria, Iceland, Greece, Portugal, Hungary, Chile, Argentina and Israel;
//! and numbers of health, social insurance and driving: the US Medicare,
//! NPI and DEA numbers, the UK driving licence, German, Spanish and
//! Brazilian social insurance, Thailand, Ontario's health card and
//! Australian company numbers.
//!
//! Each function takes the number's digits (`d`, values 0–9, separators
//! already dropped) or, where letters belong to the number, its text.
//! Formats are those the issuing registries publish; the references are in
//! the rules (`rules/pii-national-ids.yaml`).

use super::{all_same, days_in_month, iso7064_mod11_10, luhn, num};

/// Σ `d[i] · w[i]`.
fn weighted(d: &[u8], w: &[u32]) -> u32 {
    d.iter().zip(w).map(|(&x, &w)| u32::from(x) * w).sum()
}

/// The check digit `(10 − sum mod 10) mod 10`: what brings `sum` to a
/// multiple of ten.
fn mod10_complement(sum: u32) -> u32 {
    (10 - sum % 10) % 10
}

/// The check digit `11 − (Σ d·w mod 11)` of `d[..]` weighted by `w`: 11
/// is written 0, and 10 has no digit (no number is issued with it).
fn mod11_complement(d: &[u8], w: &[u32]) -> Option<u32> {
    match 11 - weighted(d, w) % 11 {
        11 => Some(0),
        10 => None,
        k => Some(k),
    }
}

/// True for a real day: `year` in full, `month` 1–12.
fn date(year: u32, month: u32, day: u32) -> bool {
    days_in_month(year, month).is_some_and(|days| (1..=days).contains(&day))
}

/// True when `yy-mm-dd` is a real day in one of `centuries` (19, 20).
fn date_in_any(centuries: &[u32], yy: u32, month: u32, day: u32) -> bool {
    centuries.iter().any(|c| date(c * 100 + yy, month, day))
}

/// Polish PESEL: 11 digits `YYMMDDZZZXQ`, the century in the month (+80
/// for the 1800s, +20 for the 2000s, +40, +60 after), weights 1-3-7-9.
pub(super) fn pl_pesel(d: &[u8]) -> bool {
    if d.len() != 11 {
        return false;
    }
    let (yy, mm, dd) = (num(&d[..2]), num(&d[2..4]), num(&d[4..6]));
    let (century, month) = match mm {
        81..=92 => (1800, mm - 80),
        1..=12 => (1900, mm),
        21..=32 => (2000, mm - 20),
        41..=52 => (2100, mm - 40),
        61..=72 => (2200, mm - 60),
        _ => return false,
    };
    const W: [u32; 10] = [1, 3, 7, 9, 1, 3, 7, 9, 1, 3];
    date(century + yy, month, dd) && mod10_complement(weighted(&d[..10], &W)) == u32::from(d[10])
}

/// Swedish personnummer: `YYMMDD-NNNC` or with the century (12 digits, 18–20);
/// the day is +60 in a coordination number; Luhn over the last ten.
pub(super) fn se_personnummer(d: &[u8]) -> bool {
    let ten = match d.len() {
        10 => d,
        12 if (18..=20).contains(&num(&d[..2])) => &d[2..],
        _ => return false,
    };
    let (yy, mm, dd) = (num(&ten[..2]), num(&ten[2..4]), num(&ten[4..6]));
    let day = if dd > 60 { dd - 60 } else { dd };
    date_in_any(&[19, 20], yy, mm, day) && luhn(ten)
}

/// Finnish henkilötunnus: `DDMMYY`, a century sign (`+` 1800s; `-`, `U`–`Y`
/// 1900s; `A`–`F` 2000s), an individual number of 002–999 and a check
/// character, the nine digits mod 31.
pub(super) fn fi_hetu(text: &str) -> bool {
    let b = text.as_bytes();
    if b.len() != 11
        || !b[..6].iter().chain(&b[7..10]).all(u8::is_ascii_digit)
        || !b[10].is_ascii_alphanumeric()
    {
        return false;
    }
    let century = match b[6] {
        b'+' => 1800,
        b'-' | b'U'..=b'Y' => 1900,
        b'A'..=b'F' => 2000,
        _ => return false,
    };
    let digits: Vec<u8> = b[..6].iter().chain(&b[7..10]).map(|c| c - b'0').collect();
    let (dd, mm, yy) = (num(&digits[..2]), num(&digits[2..4]), num(&digits[4..6]));
    let individual = num(&digits[6..]);
    const CHECK: &[u8; 31] = b"0123456789ABCDEFHJKLMNPRSTUVWXY";
    date(century + yy, mm, dd) && individual >= 2 && CHECK[(num(&digits) % 31) as usize] == b[10]
}

/// Norwegian fødselsnummer (or D-number, day +40): `DDMMYY` and five
/// digits, the last two mod-11 check digits.
pub(super) fn no_fnr(d: &[u8]) -> bool {
    if d.len() != 11 {
        return false;
    }
    let (dd, mm, yy) = (num(&d[..2]), num(&d[2..4]), num(&d[4..6]));
    let day = if dd > 40 { dd - 40 } else { dd };
    date_in_any(&[18, 19, 20], yy, mm, day)
        && mod11_complement(&d[..9], &[3, 7, 6, 1, 8, 9, 4, 5, 2]) == Some(u32::from(d[9]))
        && mod11_complement(&d[..10], &[5, 4, 3, 2, 7, 6, 5, 4, 3, 2]) == Some(u32::from(d[10]))
}

/// Danish CPR number: `DDMMYY-SSSS`, a real day (the century follows from
/// the seventh digit); numbers since 2007 need not pass mod 11, so the
/// date is all there is to check.
pub(super) fn dk_cpr(d: &[u8]) -> bool {
    if d.len() != 10 || all_same(&d[6..]) {
        return false;
    }
    let (dd, mm, yy) = (num(&d[..2]), num(&d[2..4]), num(&d[4..6]));
    let century = match (d[6], yy) {
        (0..=3, _) | (4 | 9, 37..) => 1900,
        (4 | 9, _) | (5..=8, ..=57) => 2000,
        _ => 1800,
    };
    date(century + yy, mm, dd)
}

/// Chinese resident identity number: a region (province 11–82), a birth
/// date `YYYYMMDD`, three digits and an ISO 7064 MOD 11-2 check (`X` for
/// 10). Judged on the digits alone: seventeen pass when their check is `X`,
/// which may follow them (so a bare run of digits is judged as the match).
pub(super) fn cn_resident_id(d: &[u8]) -> bool {
    if !(17..=18).contains(&d.len()) {
        return false;
    }
    let province = num(&d[..2]);
    let known = matches!(province, 11..=15 | 21..=23 | 31..=37 | 41..=46 | 50..=54 | 61..=65 | 71 | 81 | 82);
    let year = num(&d[6..10]);
    const W: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    // The check's value: 10 stands for `X`.
    const CHECK: [u8; 11] = [1, 0, 10, 9, 8, 7, 6, 5, 4, 3, 2];
    let check = CHECK[(weighted(&d[..17], &W) % 11) as usize];
    known
        && (1900..=2099).contains(&year)
        && date(year, num(&d[10..12]), num(&d[12..14]))
        && d.get(17).map_or(check == 10, |&last| last == check)
}

/// South Korean resident registration number: `YYMMDD`, a digit for sex
/// and century (9, 0: 1800s; 1, 2, 5, 6: 1900s; 3, 4, 7, 8: 2000s), five
/// digits and a weighted mod-11 check digit (as issued before October 2020).
pub(super) fn kr_rrn(d: &[u8]) -> bool {
    if d.len() != 13 {
        return false;
    }
    let century = match d[6] {
        9 | 0 => 1800,
        1 | 2 | 5 | 6 => 1900,
        _ => 2000,
    };
    const W: [u32; 12] = [2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5];
    date(century + num(&d[..2]), num(&d[2..4]), num(&d[4..6]))
        && (11 - weighted(&d[..12], &W) % 11) % 10 == u32::from(d[12])
}

/// Japanese Individual Number (My Number): 12 digits, the last a check
/// digit over the eleven before it (weights 2–7 then 2–6 from the right).
pub(super) fn jp_my_number(d: &[u8]) -> bool {
    if d.len() != 12 || all_same(d) {
        return false;
    }
    let sum: u32 = (1..=11)
        .map(|n| u32::from(d[11 - n]) * if n <= 6 { n as u32 + 1 } else { n as u32 - 5 })
        .sum();
    let check = match sum % 11 {
        0 | 1 => 0,
        r => 11 - r,
    };
    check == u32::from(d[11])
}

/// South African identity number: `YYMMDD`, four digits, citizenship (0,
/// 1 or 2), one digit and a Luhn check digit.
pub(super) fn za_id(d: &[u8]) -> bool {
    d.len() == 13
        && d[10] <= 2
        && date_in_any(&[19, 20], num(&d[..2]), num(&d[2..4]), num(&d[4..6]))
        && luhn(d)
}

/// Swiss social insurance number (AHV/AVS): 13 digits starting with 756,
/// the country code, and an EAN-13 check digit.
pub(super) fn ch_ahv(d: &[u8]) -> bool {
    if d.len() != 13 || d[..3] != [7, 5, 6] {
        return false;
    }
    const W: [u32; 12] = [1, 3, 1, 3, 1, 3, 1, 3, 1, 3, 1, 3];
    mod10_complement(weighted(&d[..12], &W)) == u32::from(d[12])
}

/// Australian Medicare card number: 10 digits (11 with the person's
/// reference number), the first 2–6, the ninth a check digit (weights
/// 1-3-7-9), the tenth the card's issue number.
pub(super) fn au_medicare(d: &[u8]) -> bool {
    if !(10..=11).contains(&d.len()) || !(2..=6).contains(&d[0]) {
        return false;
    }
    const W: [u32; 8] = [1, 3, 7, 9, 1, 3, 7, 9];
    weighted(&d[..8], &W) % 10 == u32::from(d[8]) && d.get(10).is_none_or(|&irn| irn > 0)
}

/// Australian Business Number: 11 digits; with 1 taken from the first, the
/// weighted sum (10, 1, 3, 5, …, 19) is a multiple of 89.
pub(super) fn au_abn(d: &[u8]) -> bool {
    if d.len() != 11 || d[0] == 0 {
        return false;
    }
    const W: [u32; 11] = [10, 1, 3, 5, 7, 9, 11, 13, 15, 17, 19];
    (weighted(d, &W) - W[0]).is_multiple_of(89)
}

/// Mexican CURP: 18 characters with a birth date `YYMMDD` at 4–9 and a
/// check digit over the first 17 (the alphabet's `Ñ` after `N`; the
/// seventeenth is a digit for births before 2000, a letter after).
pub(super) fn mx_curp(text: &str) -> bool {
    let b = text.as_bytes();
    if b.len() != 18 || !b[4..10].iter().all(u8::is_ascii_digit) || !b[17].is_ascii_digit() {
        return false;
    }
    let d: Vec<u8> = b[4..10].iter().map(|c| c - b'0').collect();
    let century = if b[16].is_ascii_digit() { 1900 } else { 2000 };
    let value = |c: u8| match c {
        b'0'..=b'9' => Some(u32::from(c - b'0')),
        b'A'..=b'N' => Some(u32::from(c - b'A') + 10),
        b'O'..=b'Z' => Some(u32::from(c - b'O') + 25),
        _ => None,
    };
    let mut sum = 0;
    for (i, &c) in b[..17].iter().enumerate() {
        let Some(v) = value(c) else {
            return false;
        };
        sum += v * (18 - i as u32);
    }
    date(century + num(&d[..2]), num(&d[2..4]), num(&d[4..6]))
        && mod10_complement(sum) == u32::from(b[17] - b'0')
}

/// Belgian national register number: `YYMMDD`, a serial of 001–997 and
/// 97 minus the first nine digits mod 97 (with a 2 before them for births
/// from 2000). Month and day may be 0 when unknown, the month +20 or +40
/// in a bis number.
pub(super) fn be_national_number(d: &[u8]) -> bool {
    if d.len() != 11 || all_same(d) {
        return false;
    }
    let (mm, dd) = (num(&d[2..4]) % 20, num(&d[4..6]));
    let serial = num(&d[6..9]);
    let body = u64::from(num(&d[..9]));
    let key = u64::from(num(&d[9..]));
    num(&d[2..4]) <= 52
        && mm <= 12
        && dd <= 31
        && (1..=997).contains(&serial)
        && (key == 97 - body % 97 || key == 97 - (2_000_000_000 + body) % 97)
}

/// Irish Personal Public Service Number: seven digits, a check letter (mod
/// 23 of the weighted digits and of the second letter, if any) and an
/// optional second letter.
pub(super) fn ie_ppsn(text: &str) -> bool {
    let b = text.as_bytes();
    if !(8..=9).contains(&b.len()) || !b[..7].iter().all(u8::is_ascii_digit) {
        return false;
    }
    let d: Vec<u8> = b[..7].iter().map(|c| c - b'0').collect();
    let mut sum = weighted(&d, &[8, 7, 6, 5, 4, 3, 2]);
    if let Some(&second) = b.get(8) {
        if !second.is_ascii_uppercase() {
            return false;
        }
        if second != b'W' {
            sum += u32::from(second - b'A' + 1) * 9;
        }
    }
    const CHECK: &[u8; 23] = b"WABCDEFGHIJKLMNOPQRSTUV";
    CHECK[(sum % 23) as usize] == b[7]
}

/// Turkish identity number (T.C. Kimlik No): 11 digits, the first not 0;
/// the tenth from the odd and even places, the eleventh the sum of the ten.
pub(super) fn tr_tckn(d: &[u8]) -> bool {
    if d.len() != 11 || d[0] == 0 || all_same(d) {
        return false;
    }
    let n = |i: usize| u32::from(d[i]);
    let odd = n(0) + n(2) + n(4) + n(6) + n(8);
    let even = n(1) + n(3) + n(5) + n(7);
    (odd * 7 + 10 * even - even) % 10 == n(9) && (odd + even + n(9)) % 10 == n(10)
}

/// Romanian CNP: a sex-and-century digit (1–8; 9 for foreigners), a
/// birth date, a county (01–52, 70), a serial and a weighted mod-11 check
/// digit (10 written as 1).
pub(super) fn ro_cnp(d: &[u8]) -> bool {
    if d.len() != 13 {
        return false;
    }
    let century = match d[0] {
        1 | 2 | 7 | 8 | 9 => 1900,
        3 | 4 => 1800,
        5 | 6 => 2000,
        _ => return false,
    };
    let county = num(&d[7..9]);
    const W: [u32; 12] = [2, 7, 9, 1, 4, 6, 3, 5, 8, 2, 7, 9];
    let check = match weighted(&d[..12], &W) % 11 {
        10 => 1,
        r => r,
    };
    date(century + num(&d[1..3]), num(&d[3..5]), num(&d[5..7]))
        && matches!(county, 1..=52 | 70)
        && check == u32::from(d[12])
}

/// Bulgarian EGN: a birth date (the month +20 for the 1800s, +40 for the
/// 2000s), a serial and a weighted mod-11 check digit (10 written as 0).
pub(super) fn bg_egn(d: &[u8]) -> bool {
    if d.len() != 10 {
        return false;
    }
    let (century, month) = match num(&d[2..4]) {
        m @ 1..=12 => (1900, m),
        m @ 21..=32 => (1800, m - 20),
        m @ 41..=52 => (2000, m - 40),
        _ => return false,
    };
    const W: [u32; 9] = [2, 4, 8, 5, 10, 9, 7, 3, 6];
    date(century + num(&d[..2]), month, num(&d[4..6]))
        && weighted(&d[..9], &W) % 11 % 10 == u32::from(d[9])
}

/// Czech or Slovak birth number (rodné číslo): `YYMMDD/XXXX`, the month
/// +50 for women (+20 or +70 when a day's serials ran out), the ten-digit
/// number divisible by 11 (or its first nine leaving 10 and a last 0).
/// Nine-digit numbers, issued before 1954, have no check and are not taken.
pub(super) fn cz_birth_number(d: &[u8]) -> bool {
    if d.len() != 10 {
        return false;
    }
    let month = match num(&d[2..4]) {
        m @ 1..=12 => m,
        m @ (21..=32 | 51..=62) => m - 20 - 30 * u32::from(m > 50),
        m @ 71..=82 => m - 70,
        _ => return false,
    };
    let yy = num(&d[..2]);
    let n = u64::from(num(&d[..9])) * 10 + u64::from(d[9]);
    let first_nine = u64::from(num(&d[..9]));
    date_in_any(&[19, 20], yy, month, num(&d[4..6]))
        && (n.is_multiple_of(11) || first_nine % 11 == 10 && d[9] == 0)
}

/// Croatian OIB: eleven digits, ISO 7064 MOD 11,10.
pub(super) fn hr_oib(d: &[u8]) -> bool {
    d.len() == 11 && !all_same(d) && iso7064_mod11_10(d)
}

/// Slovenian EMŠO (as Yugoslav JMBG): `DDMMYYY`, a region, a serial and a
/// weighted mod-11 check digit.
pub(super) fn si_emso(d: &[u8]) -> bool {
    if d.len() != 13 {
        return false;
    }
    let yyy = num(&d[4..7]);
    let year = if yyy >= 800 { 1000 + yyy } else { 2000 + yyy };
    const W: [u32; 12] = [7, 6, 5, 4, 3, 2, 7, 6, 5, 4, 3, 2];
    date(year, num(&d[2..4]), num(&d[..2]))
        && mod11_complement(&d[..12], &W) == Some(u32::from(d[12]))
}

/// Lithuanian or Estonian personal code: a sex-and-century digit (1–6),
/// `YYMMDD`, a serial and a check digit from two rounds of weights.
pub(super) fn baltic_personal_code(d: &[u8]) -> bool {
    if d.len() != 11 || !(1..=6).contains(&d[0]) {
        return false;
    }
    let century = 1800 + 100 * ((u32::from(d[0]) - 1) / 2);
    let mut check = weighted(&d[..10], &[1, 2, 3, 4, 5, 6, 7, 8, 9, 1]) % 11;
    if check == 10 {
        check = weighted(&d[..10], &[3, 4, 5, 6, 7, 8, 9, 1, 2, 3]) % 11 % 10;
    }
    date(century + num(&d[1..3]), num(&d[3..5]), num(&d[5..7])) && check == u32::from(d[10])
}

/// Latvian personal code of the old form: `DDMMYY-CNNNN`, the century
/// digit 0–2, and a weighted check digit. (Codes issued since July 2017
/// start with 32 and hold neither a date nor a check.)
pub(super) fn lv_personal_code(d: &[u8]) -> bool {
    if d.len() != 11 || d[6] > 2 {
        return false;
    }
    const W: [u32; 10] = [1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    date(
        1800 + 100 * u32::from(d[6]) + num(&d[4..6]),
        num(&d[2..4]),
        num(&d[..2]),
    ) && (1101 - weighted(&d[..10], &W)) % 11 == u32::from(d[10])
}

/// Austrian social insurance number: a serial of three digits, a check
/// digit (weights 3-7-9, 5-8-4-2-1-6 over the rest, mod 11) and the
/// holder's birth date `DDMMYY` (a day or month may be out of range when
/// unknown, so the date is not checked).
pub(super) fn at_svnr(d: &[u8]) -> bool {
    if d.len() != 10 || d[0] == 0 {
        return false;
    }
    const W: [u32; 10] = [3, 7, 9, 0, 5, 8, 4, 2, 1, 6];
    weighted(d, &W) % 11 == u32::from(d[3]) && num(&d[6..8]) <= 12
}

/// Icelandic kennitala: `DDMMYY` (the day +40 for a company), two digits, a
/// weighted mod-11 check digit and the century (9, 0 or 8).
pub(super) fn is_kennitala(d: &[u8]) -> bool {
    if d.len() != 10 {
        return false;
    }
    let century = match d[9] {
        9 => 1900,
        0 => 2000,
        8 => 1800,
        _ => return false,
    };
    let dd = num(&d[..2]);
    let day = if dd > 40 { dd - 40 } else { dd };
    const W: [u32; 8] = [3, 2, 7, 6, 5, 4, 3, 2];
    date(century + num(&d[4..6]), num(&d[2..4]), day)
        && mod11_complement(&d[..8], &W) == Some(u32::from(d[8]))
}

/// Greek AMKA: `DDMMYY`, four digits and a Luhn check digit.
pub(super) fn gr_amka(d: &[u8]) -> bool {
    d.len() == 11 && date_in_any(&[19, 20], num(&d[4..6]), num(&d[2..4]), num(&d[..2])) && luhn(d)
}

/// Portuguese NIF: nine digits, the first naming the holder's kind (1–3
/// people, 5–9 others), a weighted mod-11 check digit.
pub(super) fn pt_nif(d: &[u8]) -> bool {
    if d.len() != 9 || matches!(d[0], 0 | 4) || all_same(d) {
        return false;
    }
    let check = 11 - weighted(&d[..8], &[9, 8, 7, 6, 5, 4, 3, 2]) % 11;
    (if check >= 10 { 0 } else { check }) == u32::from(d[8])
}

/// Chilean RUT/RUN: a number of seven or eight digits and a mod-11 check
/// character (`K` for 10), as in `21.736.452-3`.
pub(super) fn cl_rut(text: &str) -> bool {
    let Some((body, check)) = text.rsplit_once('-') else {
        return false;
    };
    let digits: Vec<u32> = body
        .bytes()
        .filter(u8::is_ascii_digit)
        .map(|b| u32::from(b - b'0'))
        .collect();
    if !(7..=8).contains(&digits.len()) {
        return false;
    }
    let sum: u32 = digits
        .iter()
        .rev()
        .zip([2, 3, 4, 5, 6, 7].iter().cycle())
        .map(|(d, w)| d * w)
        .sum();
    let expected = match 11 - sum % 11 {
        11 => '0',
        10 => 'K',
        k => char::from_digit(k, 10).unwrap_or('?'),
    };
    check.eq_ignore_ascii_case(&expected.to_string())
}

/// Argentine CUIL/CUIT: a kind (20, 23, 24, 27 for people; 30, 33, 34 for
/// companies), the DNI and a weighted mod-11 check digit.
pub(super) fn ar_cuil(d: &[u8]) -> bool {
    if d.len() != 11 || !matches!(num(&d[..2]), 20 | 23 | 24 | 27 | 30 | 33 | 34) {
        return false;
    }
    const W: [u32; 10] = [5, 4, 3, 2, 7, 6, 5, 4, 3, 2];
    mod11_complement(&d[..10], &W) == Some(u32::from(d[10]))
}

/// Hungarian TAJ number: nine digits, the last the sum of the first eight
/// weighted 3 and 7 in turn, mod 10.
pub(super) fn hu_taj(d: &[u8]) -> bool {
    if d.len() != 9 || all_same(d) {
        return false;
    }
    weighted(&d[..8], &[3, 7, 3, 7, 3, 7, 3, 7]) % 10 == u32::from(d[8])
}

/// Israeli identity number (Teudat Zehut): nine digits (shorter ones
/// padded with zeros), weights 1 and 2 in turn, digit sums, mod 10.
pub(super) fn il_id(d: &[u8]) -> bool {
    if d.len() != 9 || all_same(d) {
        return false;
    }
    let sum: u32 = d
        .iter()
        .enumerate()
        .map(|(i, &x)| {
            let v = u32::from(x) * if i % 2 == 0 { 1 } else { 2 };
            if v > 9 { v - 9 } else { v }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// US National Provider Identifier: ten digits, the first 1 or 2, Luhn
/// over the number with the prefix 80840.
pub(super) fn us_npi(d: &[u8]) -> bool {
    if d.len() != 10 || !matches!(d[0], 1 | 2) {
        return false;
    }
    let mut prefixed = [8, 0, 8, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    prefixed[5..].copy_from_slice(d);
    luhn(&prefixed)
}

/// US DEA registration number: a registrant letter, a second letter (or
/// `9`), six digits and a check digit (the sum of the odd places and twice
/// the even places, mod 10).
pub(super) fn us_dea(text: &str) -> bool {
    let b = text.as_bytes();
    if b.len() != 9
        || !b"ABCDEFGHJKLMPRSTUX".contains(&b[0])
        || !(b[1].is_ascii_uppercase() || b[1] == b'9')
        || !b[2..].iter().all(u8::is_ascii_digit)
    {
        return false;
    }
    let n = |i: usize| u32::from(b[2 + i] - b'0');
    (n(0) + n(2) + n(4) + 2 * (n(1) + n(3) + n(5))) % 10 == n(6)
}

/// UK driving licence number (DVLA): five characters of the surname (`9`
/// padding), the decade, the month of birth (+50 for women), the day, the
/// year's last digit, two initials, a digit and two check characters.
pub(super) fn uk_driving_licence(text: &str) -> bool {
    let b = text.as_bytes();
    if b.len() != 16 || !b[5..11].iter().all(u8::is_ascii_digit) {
        return false;
    }
    let month = u32::from(b[6] - b'0') % 5 * 10 + u32::from(b[7] - b'0');
    let day = u32::from(b[8] - b'0') * 10 + u32::from(b[9] - b'0');
    let year = 1900 + u32::from(b[5] - b'0') * 10 + u32::from(b[10] - b'0');
    matches!(b[6], b'0' | b'1' | b'5' | b'6') && date(year, month, day)
}

/// German pension insurance number (the social insurance number): an
/// area, the birth date `DDMMYY`, the birth name's initial, a serial and a
/// check digit (the letter as its place in the alphabet, weights
/// 2-1-2-5-7-1-2-1-2-1-2-1, the products' digit sums, mod 10).
pub(super) fn de_social_insurance(text: &str) -> bool {
    let b: Vec<u8> = text.bytes().filter(|&c| c != b' ').collect();
    if b.len() != 12
        || !b[..8].iter().chain(&b[9..]).all(u8::is_ascii_digit)
        || !b[8].is_ascii_uppercase()
    {
        return false;
    }
    let letter = b[8] - b'A' + 1;
    let mut d: Vec<u8> = b[..8].iter().map(|c| c - b'0').collect();
    d.extend([letter / 10, letter % 10]);
    d.extend(b[9..11].iter().map(|c| c - b'0'));
    const W: [u32; 12] = [2, 1, 2, 5, 7, 1, 2, 1, 2, 1, 2, 1];
    let sum: u32 = d
        .iter()
        .zip(W)
        .map(|(&x, w)| {
            let p = u32::from(x) * w;
            p / 10 + p % 10
        })
        .sum();
    let area = num(&d[..2]);
    (2..=89).contains(&area)
        && date_in_any(&[19, 20], num(&d[6..8]), num(&d[4..6]), num(&d[2..4]))
        && sum % 10 == u32::from(b[11] - b'0')
}

/// Thai national identity number: thirteen digits, the first 1–8, a
/// weighted mod-11 check digit.
pub(super) fn th_national_id(d: &[u8]) -> bool {
    if d.len() != 13 || !(1..=8).contains(&d[0]) {
        return false;
    }
    let sum: u32 = (0..12).map(|i| u32::from(d[i]) * (13 - i as u32)).sum();
    (11 - sum % 11) % 10 == u32::from(d[12])
}

/// Brazilian PIS/PASEP/NIT: eleven digits, a weighted mod-11 check digit.
pub(super) fn br_pis(d: &[u8]) -> bool {
    if d.len() != 11 || all_same(d) {
        return false;
    }
    let check = 11 - weighted(&d[..10], &[3, 2, 9, 8, 7, 6, 5, 4, 3, 2]) % 11;
    (if check >= 10 { 0 } else { check }) == u32::from(d[10])
}

/// Spanish social security number: a province (01–53), eight digits and
/// the ten before mod 97.
pub(super) fn es_nss(d: &[u8]) -> bool {
    // Ten digits overflow a u32.
    let body = d.iter().take(10).fold(0u64, |n, &x| n * 10 + u64::from(x));
    d.len() == 12 && (1..=53).contains(&num(&d[..2])) && body % 97 == u64::from(num(&d[10..]))
}

/// Ontario health card number: ten digits, Luhn.
pub(super) fn ca_ohip(d: &[u8]) -> bool {
    d.len() == 10 && d[0] != 0 && !all_same(d) && luhn(d)
}

/// Australian Company Number: nine digits, weights 8 to 1, the check the
/// complement of the sum mod 10.
pub(super) fn au_acn(d: &[u8]) -> bool {
    d.len() == 9
        && !all_same(d)
        && mod10_complement(weighted(&d[..8], &[8, 7, 6, 5, 4, 3, 2, 1])) == u32::from(d[8])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn digits(s: &str) -> Vec<u8> {
        s.bytes()
            .filter(u8::is_ascii_digit)
            .map(|b| b - b'0')
            .collect()
    }

    /// Every value valid, and each with its last digit changed invalid.
    fn digit_check(f: fn(&[u8]) -> bool, valid: &[&str]) {
        for v in valid {
            let mut d = digits(v);
            assert!(f(&d), "{v} rejected");
            let last = d.len() - 1;
            d[last] = (d[last] + 1) % 10;
            assert!(!f(&d), "{v} with its last digit changed taken");
        }
    }

    #[test]
    fn nordic_numbers() {
        digit_check(pl_pesel, &["85070912347", "03221156785"]);
        // 29 February 2003, with its check digit.
        assert!(!pl_pesel(&digits("03222956780")));
        digit_check(
            se_personnummer,
            &["850709-9805", "041231-1235", "19850709-9805"],
        );
        // A coordination number's day is +60.
        assert!(se_personnummer(&digits("850769-9802")));
        assert!(!se_personnummer(&digits("21850709-9805")));
        digit_check(no_fnr, &["15078512323", "29030449744"]);
        assert!(dk_cpr(&digits("090785-1234")));
        assert!(!dk_cpr(&digits("310285-1234")), "31 February");
        assert!(!dk_cpr(&digits("090785-0000")));
    }

    #[test]
    fn finnish_identity_codes() {
        assert!(fi_hetu("010203A1241"));
        assert!(fi_hetu("150785-1237"));
        assert!(!fi_hetu("010203A1242"));
        assert!(!fi_hetu("010203G1241"), "no century sign G");
        assert!(
            !fi_hetu("310203A124C"),
            "31 February, with its check character"
        );
    }

    #[test]
    fn asian_numbers() {
        digit_check(
            cn_resident_id,
            &["110105198507091239", "440304200102145623"],
        );
        assert!(
            !cn_resident_id(&digits("990105198507091239")),
            "no province 99"
        );
        // An `X` check: the seventeen digits pass alone, not with a digit.
        assert!(cn_resident_id(&digits("11010519850709005X")));
        assert!(!cn_resident_id(&digits("110105198507090050")));
        assert!(
            !cn_resident_id(&digits("11010519850709123")),
            "its check is 9"
        );
        digit_check(kr_rrn, &["850709-1234568", "030211-4512303"]);
        digit_check(jp_my_number, &["1234 5678 9018", "483027519629"]);
        assert!(!jp_my_number(&digits("000000000000")));
    }

    #[test]
    fn european_numbers() {
        digit_check(ro_cnp, &["1850709123455", "6030211401239"]);
        assert!(!ro_cnp(&digits("1851309123451")), "month 13");
        digit_check(bg_egn, &["8507091237", "0342114574"]);
        digit_check(
            cz_birth_number,
            &["855709/1235", "030211/4571", "791023/4123"],
        );
        digit_check(hr_oib, &["69382714502", "24805197365"]);
        digit_check(si_emso, &["0907985500121", "1102003505163"]);
        digit_check(
            baltic_personal_code,
            &["38507091237", "60302110452", "47908230270"],
        );
        digit_check(lv_personal_code, &["110203-10457", "230879-12039"]);
        digit_check(at_svnr, &["1233 090785", "4564 110203"]);
        // The check digit is the fourth: changing the last leaves it valid
        // only when the date stays one; 9 is no month's tens.
        assert!(!at_svnr(&digits("1234 090785")));
        assert!(is_kennitala(&digits("110203-3140")));
        assert!(is_kennitala(&digits("230879-2659")));
        assert!(!is_kennitala(&digits("110203-3150")));
        digit_check(gr_amka, &["09078512341", "23087912053"]);
        digit_check(pt_nif, &["234567813", "185294065"]);
        digit_check(hu_taj, &["382 910 454", "704 183 627"]);
        digit_check(ar_cuil, &["27-38291045-7", "23-29471836-2"]);
        digit_check(il_id, &["304183627", "029517430"]);
        assert!(cl_rut("21.736.452-3"));
        assert!(cl_rut("7.654.321-6"));
        assert!(!cl_rut("21.736.452-4"));
        assert!((1_000_000..30_000_000).any(|n: u32| {
            let s = format!("{n}");
            cl_rut(&format!("{s}-K")) && !cl_rut(&format!("{s}-0"))
        }));
    }

    #[test]
    fn health_insurance_and_driving_numbers() {
        digit_check(us_npi, &["1982746350", "2740193851"]);
        assert!(!us_npi(&digits("3982746350")), "first digit 1 or 2");
        assert!(us_dea("FM4829137"));
        assert!(us_dea("BJ7302158"));
        assert!(!us_dea("FM4829138"));
        assert!(!us_dea("QM4829137"), "no registrant Q");
        assert!(uk_driving_licence("MORGA753116SM9IJ"));
        assert!(uk_driving_licence("LI999657054SM9IJ"));
        assert!(!uk_driving_licence("MORGA713116SM9IJ"), "month 13");
        assert!(!uk_driving_licence("MORGA702306SM9IJ"), "30 February");
        assert!(de_social_insurance("12230785M510"));
        assert!(de_social_insurance("53 041192 S 073"));
        assert!(de_social_insurance("15070649C103"));
        assert!(!de_social_insurance("12230785M511"));
        assert!(!de_social_insurance("12230785N510"));
        digit_check(th_national_id, &["1-1037-00123-45-8", "3410298765439"]);
        digit_check(br_pis, &["120.38475.61-1", "27182936459"]);
        digit_check(es_nss, &["28 12345678 40", "084729183637"]);
        assert!(!es_nss(&digits("991234567840")), "no province 99");
        digit_check(ca_ohip, &["4820-193-755", "9138472619"]);
        digit_check(au_acn, &["123 456 780", "601378296"]);
    }

    #[test]
    fn other_numbers() {
        digit_check(za_id, &["8507095123085", "0302110456084"]);
        digit_check(ch_ahv, &["756.1234.5678.97", "7569876543217"]);
        assert!(!ch_ahv(&digits("7571234567896")), "not Switzerland's 756");
        digit_check(au_abn, &["53 004 085 616"]);
        digit_check(be_national_number, &["85.07.09-033.76", "03.02.11-124.40"]);
        digit_check(tr_tckn, &["12345678950", "48273190554"]);
        assert!(au_medicare(&digits("2123 45670 1")));
        assert!(au_medicare(&digits("4129 87658 2")));
        assert!(!au_medicare(&digits("2123 45671 1")));
        assert!(!au_medicare(&digits("7123 45670 1")), "first digit 2-6");
        assert!(mx_curp("GOMA850709HDFRRN02"));
        assert!(mx_curp("LOPE030211MJCPRL05"));
        assert!(!mx_curp("GOMA850709HDFRRN03"));
        assert!(
            !mx_curp("GOMA851309HDFRRN04"),
            "month 13, with its check digit"
        );
        assert!(ie_ppsn("1234567T"));
        assert!(ie_ppsn("7654321PA"));
        assert!(!ie_ppsn("1234567A"));
        assert!(!ie_ppsn("7654321PB"));
    }
}
