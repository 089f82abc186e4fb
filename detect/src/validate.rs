//! Validators: checksums and structural checks that turn a pattern match into
//! a finding. A closed set, named by rules with `validate: <name>`.

use base64::Engine as _;
use serde::Deserialize;

mod national;

/// A check of a matched value beyond its pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Validator {
    /// Luhn mod 10 over the digits.
    Luhn,
    /// Payment card: 12–19 digits and Luhn, not a test number that card
    /// networks and payment providers publish for their sandboxes
    /// (`4111 1111 1111 1111`).
    CreditCard,
    /// IBAN: known country, its length, and ISO 7064 mod 97-10.
    Iban,
    /// US SSN: area not 000/666/9xx, group not 00, serial not 0000, not an advertised number.
    UsSsn,
    /// US ITIN: 9xx with group 50–65, 70–88, 90–92 or 94–99, not one digit
    /// repeated (`999999999`).
    UsItin,
    /// UK National Insurance number prefix rules.
    UkNino,
    /// UK NHS number: mod 11 check digit.
    UkNhs,
    /// Canadian SIN: Luhn, first digit not 0 or 8.
    CaSin,
    /// Indian Aadhaar: 12 digits, first not 0 or 1, Verhoeff check digit.
    InAadhaar,
    /// Indian PAN: the fourth letter is a known holder type.
    InPan,
    /// Australian TFN: weighted mod 11.
    AuTfn,
    /// Spanish DNI/NIF: control letter.
    EsNif,
    /// Spanish NIE: X/Y/Z prefix and control letter.
    EsNie,
    /// Italian codice fiscale: check character.
    ItFiscalCode,
    /// French INSEE (NIR): key = 97 − (number mod 97).
    FrInsee,
    /// German tax id (IdNr): digit distribution and ISO 7064 mod 11,10.
    DeTaxId,
    /// Dutch BSN: 11-proof.
    NlBsn,
    /// Brazilian CPF: two check digits.
    BrCpf,
    /// Brazilian CNPJ: two check digits.
    BrCnpj,
    /// Singapore NRIC/FIN: check letter.
    SgNric,
    /// IPv4: four octets of at most 255, no leading zeros; not an address
    /// of no one (`0.x`, loopback `127.x`, link-local `169.254.x` (the
    /// cloud metadata service, BGP peering), multicast `224.x`–`239.x`, the
    /// documentation networks 192.0.2.0/24, 198.51.100.0/24 and
    /// 203.0.113.0/24, the placeholder `1.2.3.4`) or a mask (`255.x`); and
    /// not shaped like a section or version number: every octet under 32,
    /// outside 10.0.0.0/8 (`27.4.2.6`, `1.8.1.2`), which
    /// [`Validator::Ipv4Small`] takes.
    Ipv4,
    /// IPv4 as [`Validator::Ipv4`], but only the addresses whose octets are
    /// all under 32 (`8.8.8.8`, `1.1.1.1`): a rule that needs a context word.
    Ipv4Small,
    /// IPv6: parses as an IPv6 address with at least two groups and a
    /// decimal digit; not unspecified, loopback, multicast or in the
    /// documentation prefix 2001:db8::/32. Link-local addresses are kept
    /// (their interface id is often the device's MAC address, `…ff:fe…`)
    /// unless the id is under 65,536 (`fe80::1`, a router's, set by hand).
    Ipv6,
    /// MAC address: an individual (unicast) address, whose first octet has
    /// its group bit (the lowest) clear; a group address (`01:00:5e:…`
    /// multicast, `33:33:…`, the broadcast `ff:ff:…`) is no device's.
    Mac,
    /// GitHub token: CRC32 checksum in the last 6 base62 characters.
    GithubToken,
    /// npm token: CRC32 checksum in the last 6 base62 characters.
    NpmToken,
    /// JWT: the header decodes to a JSON object with `alg`.
    Jwt,
    /// A calendar date with a plausible birth year (1900–2030), in Y-M-D, D/M/Y or M/D/Y,
    /// or YYYYMMDD without separators (a time of day may follow).
    BirthDate,
    /// Connection URI: the password part is not a template or placeholder.
    UriPassword,
    /// Vehicle identification number (ISO 3779): 17 digits and capitals
    /// but I, O and Q, the last four digits, at least one letter; with a
    /// North American manufacturer's code (first character 1–5), whose
    /// numbers must carry one, the check digit in position 9.
    Vin,
    /// E.164 / national phone: 7–15 digits, not all the same digit, not a
    /// number set aside for fiction (NANP 555 numbers, Ofcom's
    /// drama ranges), not ending in five zeros (a round quantity:
    /// `+3600000` milliseconds).
    Phone,
    /// A phone number in international form, in groups (`+44 7911 123456`):
    /// as [`Validator::Phone`] with 8–15 digits, and not a signed quantity
    /// of ten digits or fewer written in thousands (`+12 345 678`,
    /// `+1.234.567`, `+12 345.67`). With more digits the shape is a
    /// country code and a number in groups of three (`+351 912 345 678`,
    /// `+34 612 345 678`).
    PhoneInternational,
    /// E-mail address whose top-level domain is not a file extension
    /// (`logo@2x.png`), whose mailbox is not `git` (the SSH login of
    /// `git@github.com:org/repo`), and which is not the name of an SSH key
    /// type or cipher (`chacha20-poly1305@openssh.com`).
    /// `%40` stands for the `@` of a URL-encoded address.
    Email,
    /// US ABA routing number: weights 3, 7, 1 sum to a multiple of 10.
    AbaRouting,
    /// Bank account number: 8–20 digits, not one digit repeated
    /// (`444444444444`).
    AccountNumber,
    /// A person's name under a bare `name` label: its first word (or the
    /// first after a comma, `Okafor, Chidi`) is a common given name
    /// (`rules/given-names.txt`), which `"name": "Bash Session"` is not.
    GivenName,
    /// A person's name written as MIME encoded words (RFC 2047,
    /// `=?UTF-8?Q?J=C3=BCrgen_Wei=C3=9Fm=C3=BCller?=`, as a mail header
    /// carries a name outside ASCII): decoded (UTF-8, ISO-8859-1 and -15,
    /// Windows-1252, US-ASCII; Q or B), it is one [`Validator::GivenName`]
    /// takes.
    EncodedGivenName,
    /// A password stored as it is typed, the whole value of a password
    /// column or field: as [`Validator::PasswordValue`], and not `NULL`, a
    /// boolean, digits alone, or a hash or an encryption of one (a crypt
    /// string `$2b$...`, an LDAP `{SSHA}...`, Django's `pbkdf2_sha256$...`,
    /// 32 hex digits or more, 40 base64 characters or more), which the hash
    /// rules judge.
    StoredPassword,
    /// A password's value that is no password: not a constant's name in
    /// capitals (`FORCE_CHANGE_PASSWORD`), an ARN, a timestamp
    /// (`"PasswordLastUsed": "2016-09-24T16:18:07Z"`) or a name of letters
    /// that names a password itself (`"password"`, `"test_password\n"`).
    PasswordValue,
    /// A PEM private key, base64-encoded whole (a Secret's `tls.key`, a CI
    /// variable, Helm values): it decodes to `-----BEGIN … PRIVATE
    /// KEY-----` and at least 64 characters of key body, not a template's
    /// `...`.
    PemBase64,
    /// Base64 of `user:password` (npm's `_auth`, HTTP Basic): it decodes
    /// to UTF-8 text without control characters, a user and a password on
    /// either side of the first colon.
    BasicCredentials,
    /// A secret of no known shape, as generic assignments take it: not a
    /// JWT header alone (`eyJhbGciOiJIUzI1NiJ9` without a payload and a
    /// signature), which names an algorithm and holds nothing secret.
    GenericSecret,
    /// A person's name in a labelled field: none of its words is a value or
    /// word of code or forms (`None`, `True`, `Null`, `User`, `Search`).
    PersonName,
    /// Polish PESEL: a birth date (the century in the month) and a
    /// weighted check digit.
    PlPesel,
    /// Swedish personnummer or coordination number: a birth date and Luhn.
    SePersonnummer,
    /// Finnish personal identity code: a birth date, a century sign and a
    /// mod-31 check character.
    FiHetu,
    /// Norwegian national identity number or D-number: a birth date and two
    /// mod-11 check digits.
    NoFnr,
    /// Danish CPR number: a birth date, the century from the serial.
    DkCpr,
    /// Chinese resident identity number: a province, a birth date and an
    /// ISO 7064 MOD 11-2 check character (seventeen digits pass when it is
    /// `X`).
    CnResidentId,
    /// South Korean resident registration number: a birth date, a sex and
    /// century digit and a mod-11 check digit.
    KrRrn,
    /// Japanese Individual Number: a mod-11 check digit.
    JpMyNumber,
    /// South African identity number: a birth date, a citizenship digit and
    /// Luhn.
    ZaId,
    /// Swiss AHV/AVS number: 756 and an EAN-13 check digit.
    ChAhv,
    /// Australian Medicare card number: a weighted check digit.
    AuMedicare,
    /// Australian Business Number: weighted mod 89.
    AuAbn,
    /// Mexican CURP: a birth date and a check digit.
    MxCurp,
    /// Belgian national register number: mod-97 key, either century.
    BeNationalNumber,
    /// Irish PPS number: a mod-23 check letter.
    IePpsn,
    /// Turkish identity number: two check digits.
    TrTckn,
    /// Romanian CNP: a birth date, a county and a mod-11 check digit.
    RoCnp,
    /// Bulgarian EGN: a birth date and a mod-11 check digit.
    BgEgn,
    /// Czech or Slovak birth number: a birth date and divisible by 11.
    CzBirthNumber,
    /// Croatian OIB: ISO 7064 MOD 11,10.
    HrOib,
    /// Slovenian EMŠO: a birth date and a mod-11 check digit.
    SiEmso,
    /// Lithuanian or Estonian personal code: a birth date and a two-round
    /// mod-11 check digit.
    BalticPersonalCode,
    /// Latvian personal code (the form before 2017): a birth date and a
    /// check digit.
    LvPersonalCode,
    /// Austrian social insurance number: a mod-11 check digit.
    AtSvnr,
    /// Icelandic kennitala: a birth date, a mod-11 check digit and the
    /// century.
    IsKennitala,
    /// Greek AMKA: a birth date and Luhn.
    GrAmka,
    /// Portuguese NIF: a mod-11 check digit.
    PtNif,
    /// Chilean RUT: a mod-11 check character (`K`).
    ClRut,
    /// Argentine CUIL/CUIT: a known kind and a mod-11 check digit.
    ArCuil,
    /// Hungarian TAJ number: a weighted mod-10 check digit.
    HuTaj,
    /// Israeli identity number: a Luhn-like check digit.
    IlId,
    /// US National Provider Identifier: Luhn with the prefix 80840.
    UsNpi,
    /// US DEA registration number: a registrant letter and a check digit.
    UsDea,
    /// UK driving licence number: the birth date inside it.
    UkDrivingLicence,
    /// German social (pension) insurance number: a birth date and a check
    /// digit over the number and the initial.
    DeSocialInsurance,
    /// Thai national identity number: a mod-11 check digit.
    ThNationalId,
    /// Brazilian PIS/PASEP/NIT: a mod-11 check digit.
    BrPis,
    /// Spanish social security number: a province and mod 97.
    EsNss,
    /// Ontario health card number: Luhn.
    CaOhip,
    /// Australian Company Number: a weighted check digit.
    AuAcn,
}

impl Validator {
    /// True for validators of plain numbers, which judge a bare run of
    /// digits the same as the matched value (separators are ignored).
    pub fn digits_only(self) -> bool {
        matches!(
            self,
            Validator::Luhn
                | Validator::CreditCard
                | Validator::UsSsn
                | Validator::UsItin
                | Validator::UkNhs
                | Validator::CaSin
                | Validator::InAadhaar
                | Validator::AuTfn
                | Validator::FrInsee
                | Validator::DeTaxId
                | Validator::NlBsn
                | Validator::BrCpf
                | Validator::BrCnpj
                | Validator::AbaRouting
                | Validator::AccountNumber
                | Validator::PlPesel
                | Validator::SePersonnummer
                | Validator::NoFnr
                | Validator::DkCpr
                | Validator::CnResidentId
                | Validator::KrRrn
                | Validator::JpMyNumber
                | Validator::ZaId
                | Validator::ChAhv
                | Validator::AuMedicare
                | Validator::AuAbn
                | Validator::BeNationalNumber
                | Validator::TrTckn
                | Validator::RoCnp
                | Validator::BgEgn
                | Validator::CzBirthNumber
                | Validator::HrOib
                | Validator::SiEmso
                | Validator::BalticPersonalCode
                | Validator::LvPersonalCode
                | Validator::AtSvnr
                | Validator::IsKennitala
                | Validator::GrAmka
                | Validator::PtNif
                | Validator::ArCuil
                | Validator::HuTaj
                | Validator::IlId
                | Validator::UsNpi
                | Validator::ThNationalId
                | Validator::BrPis
                | Validator::EsNss
                | Validator::CaOhip
                | Validator::AuAcn
        )
    }

    /// Checks `value` (the matched bytes).
    pub fn check(self, value: &[u8]) -> bool {
        let Ok(text) = std::str::from_utf8(value) else {
            return false;
        };
        // The digits, without an allocation: this runs on every candidate
        // digit run. More than any number has (`None`) fails the validators
        // that read them.
        let mut store = [0u8; MAX_DIGITS];
        let d = digits(text, &mut store);
        match self {
            Validator::Luhn => d.is_some_and(luhn),
            Validator::CreditCard => d.is_some_and(|d| {
                (12..=19).contains(&d.len()) && luhn(d) && !test_card(d) && !round(d)
            }),
            Validator::Iban => iban(text),
            Validator::UsSsn => d.is_some_and(us_ssn),
            Validator::UsItin => d.is_some_and(us_itin),
            Validator::UkNino => uk_nino(text),
            Validator::UkNhs => d.is_some_and(uk_nhs),
            Validator::CaSin => {
                d.is_some_and(|d| d.len() == 9 && d[0] != 0 && d[0] != 8 && luhn(d))
            }
            Validator::InAadhaar => d.is_some_and(|d| d.len() == 12 && d[0] >= 2 && verhoeff(d)),
            Validator::InPan => in_pan(text),
            Validator::Vin => vin(value),
            Validator::AuTfn => d.is_some_and(au_tfn),
            Validator::EsNif => es_nif(text),
            Validator::EsNie => es_nie(text),
            Validator::ItFiscalCode => it_fiscal_code(text),
            Validator::FrInsee => fr_insee(text),
            Validator::DeTaxId => d.is_some_and(de_tax_id),
            Validator::NlBsn => d.is_some_and(nl_bsn),
            Validator::BrCpf => d.is_some_and(br_cpf),
            Validator::BrCnpj => d.is_some_and(br_cnpj),
            Validator::SgNric => sg_nric(text),
            Validator::Ipv4 => ipv4(text).is_some_and(|small| !small),
            Validator::Ipv4Small => ipv4(text).is_some_and(|small| small),
            Validator::Ipv6 => ipv6(text),
            Validator::Mac => mac(text),
            Validator::GithubToken => crc32_base62_token(text, 6),
            Validator::NpmToken => crc32_base62_token(text, 6),
            Validator::Jwt => jwt(text),
            Validator::BirthDate => birth_date(text),
            Validator::UriPassword => uri_password(text),
            Validator::Phone => d.is_some_and(|d| phone(d, 7)),
            Validator::PhoneInternational => d.is_some_and(|d| {
                // A quantity in thousands, a spare country code, a date.
                let other = (d.len() <= 10 && thousands(value))
                    || spare_country_code(d)
                    || expanded_date(value);
                phone(d, 8) && !other
            }),
            Validator::Email => email(text),
            Validator::AbaRouting => d.is_some_and(aba_routing),
            Validator::AccountNumber => {
                d.is_some_and(|d| (8..=20).contains(&d.len()) && !all_same(d))
            }
            Validator::GivenName => given_name(text),
            Validator::EncodedGivenName => encoded_words(text).is_some_and(|t| given_name(&t)),
            Validator::StoredPassword => stored_password(text),
            Validator::PersonName => person_name(text),
            Validator::PasswordValue => password_value(text),
            Validator::PemBase64 => pem_base64(text),
            Validator::BasicCredentials => basic_credentials(text),
            Validator::GenericSecret => {
                !(text.starts_with("eyJ") && !text.contains('.') && jwt(text))
            }
            Validator::PlPesel => d.is_some_and(national::pl_pesel),
            Validator::SePersonnummer => d.is_some_and(national::se_personnummer),
            Validator::FiHetu => national::fi_hetu(text),
            Validator::NoFnr => d.is_some_and(national::no_fnr),
            Validator::DkCpr => d.is_some_and(national::dk_cpr),
            Validator::CnResidentId => d.is_some_and(national::cn_resident_id),
            Validator::KrRrn => d.is_some_and(national::kr_rrn),
            Validator::JpMyNumber => d.is_some_and(national::jp_my_number),
            Validator::ZaId => d.is_some_and(national::za_id),
            Validator::ChAhv => d.is_some_and(national::ch_ahv),
            Validator::AuMedicare => d.is_some_and(national::au_medicare),
            Validator::AuAbn => d.is_some_and(national::au_abn),
            Validator::MxCurp => national::mx_curp(text),
            Validator::BeNationalNumber => d.is_some_and(national::be_national_number),
            Validator::IePpsn => national::ie_ppsn(text),
            Validator::TrTckn => d.is_some_and(national::tr_tckn),
            Validator::RoCnp => d.is_some_and(national::ro_cnp),
            Validator::BgEgn => d.is_some_and(national::bg_egn),
            Validator::CzBirthNumber => d.is_some_and(national::cz_birth_number),
            Validator::HrOib => d.is_some_and(national::hr_oib),
            Validator::SiEmso => d.is_some_and(national::si_emso),
            Validator::BalticPersonalCode => d.is_some_and(national::baltic_personal_code),
            Validator::LvPersonalCode => d.is_some_and(national::lv_personal_code),
            Validator::AtSvnr => d.is_some_and(national::at_svnr),
            Validator::IsKennitala => d.is_some_and(national::is_kennitala),
            Validator::GrAmka => d.is_some_and(national::gr_amka),
            Validator::PtNif => d.is_some_and(national::pt_nif),
            Validator::ClRut => national::cl_rut(text),
            Validator::ArCuil => d.is_some_and(national::ar_cuil),
            Validator::HuTaj => d.is_some_and(national::hu_taj),
            Validator::IlId => d.is_some_and(national::il_id),
            Validator::UsNpi => d.is_some_and(national::us_npi),
            Validator::UsDea => national::us_dea(text),
            Validator::UkDrivingLicence => national::uk_driving_licence(text),
            Validator::DeSocialInsurance => national::de_social_insurance(text),
            Validator::ThNationalId => d.is_some_and(national::th_national_id),
            Validator::BrPis => d.is_some_and(national::br_pis),
            Validator::EsNss => d.is_some_and(national::es_nss),
            Validator::CaOhip => d.is_some_and(national::ca_ohip),
            Validator::AuAcn => d.is_some_and(national::au_acn),
        }
    }
}

/// The given names of `rules/given-names.txt`, sorted.
static GIVEN_NAMES: std::sync::LazyLock<Vec<&'static str>> = std::sync::LazyLock::new(|| {
    let mut names: Vec<&str> = include_str!("../rules/given-names.txt")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    names.sort_unstable();
    names
});

/// What separates the words of a name (`Anne-Marie O'Neill`), as in the
/// name rules' patterns.
const NAME_SEPARATORS: [char; 3] = [' ', '-', '\''];

/// True when the first word of `text` (up to a space, `-` or `'`), or of
/// what follows a comma (`Okafor, Chidi`), is a listed given name, in any
/// case, and no word is one a [`person_name`] is not (`Jordan Holdings`).
fn given_name(text: &str) -> bool {
    if !person_name(text) {
        return false;
    }
    let given = text.split_once(", ").map_or(text, |(_, given)| given);
    let first = given
        .split(NAME_SEPARATORS)
        .next()
        .unwrap_or_default()
        .to_lowercase();
    GIVEN_NAMES.binary_search(&first.as_str()).is_ok()
}

/// See [`Validator::StoredPassword`].
fn stored_password(text: &str) -> bool {
    let lower = text.to_ascii_lowercase();
    let word = matches!(
        lower.as_str(),
        "null" | "none" | "nil" | "true" | "false" | "\\n"
    );
    let hex = text.len() >= 32 && text.bytes().all(|b| b.is_ascii_hexdigit());
    let base64 = text.len() >= 40
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+/=_-.".contains(&b));
    let scheme = text.starts_with('$')
        || (text.starts_with('{') && text.contains('}'))
        || [
            "pbkdf2", "argon2", "bcrypt", "scrypt", "sha1$", "sha256$", "md5$",
        ]
        .iter()
        .any(|p| lower.starts_with(p));
    password_value(text)
        && !word
        && !hex
        && !base64
        && !scheme
        && !text.bytes().all(|b| b.is_ascii_digit())
}

/// The text of MIME encoded words (RFC 2047: `=?charset?Q?text?=` or
/// `=?charset?B?base64?=`, blanks between words dropped), when each is
/// one and its charset one of UTF-8, ISO-8859-1 and -15, Windows-1252 and
/// US-ASCII.
fn encoded_words(text: &str) -> Option<String> {
    let mut out = String::new();
    for word in text.split_ascii_whitespace() {
        let inner = word.strip_prefix("=?")?.strip_suffix("?=")?;
        let mut parts = inner.splitn(3, '?');
        let (charset, encoding, payload) = (parts.next()?, parts.next()?, parts.next()?);
        // A language may follow the charset (RFC 2231: `UTF-8*en`).
        let charset = charset.split('*').next()?.to_ascii_lowercase();
        let bytes = match encoding {
            "Q" | "q" => {
                let mut bytes = Vec::with_capacity(payload.len());
                let mut b = payload.bytes();
                while let Some(c) = b.next() {
                    bytes.push(match c {
                        b'_' => b' ',
                        b'=' => {
                            let hex = [b.next()?, b.next()?];
                            u8::from_str_radix(std::str::from_utf8(&hex).ok()?, 16).ok()?
                        }
                        c => c,
                    });
                }
                bytes
            }
            "B" | "b" => base64::engine::general_purpose::STANDARD
                .decode(payload)
                .ok()?,
            _ => return None,
        };
        match charset.as_str() {
            "utf-8" | "utf8" => out.push_str(std::str::from_utf8(&bytes).ok()?),
            "us-ascii" if bytes.is_ascii() => out.push_str(std::str::from_utf8(&bytes).ok()?),
            // Their letters are Latin-1's (Windows-1252 differs in
            // 0x80–0x9F, punctuation and a few letters no name needs here).
            "iso-8859-1" | "iso-8859-15" | "latin1" | "windows-1252" | "cp1252" => {
                out.extend(bytes.iter().map(|&b| char::from(b)));
            }
            _ => return None,
        }
    }
    (!out.is_empty()).then_some(out)
}

/// True unless `text` is a constant's name in capitals, an ARN or a
/// timestamp.
fn password_value(text: &str) -> bool {
    let b = text.as_bytes();
    let constant = b.iter().all(|&c| c.is_ascii_uppercase() || c == b'_');
    let timestamp = b.len() >= 13
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[4] == b'-'
        && b[7] == b'-'
        && matches!(b[10], b'T' | b' ')
        && b[11..13].iter().all(u8::is_ascii_digit);
    // Letters, `_` and `-` alone that name a password are a variable's or
    // a test's name (`password`, `test_password\n`, `alice_password`).
    let bare = text
        .strip_suffix("\\n")
        .unwrap_or(text)
        .trim_end_matches(['\r', '\n']);
    let lower = bare.to_ascii_lowercase();
    let names_one = bare
        .bytes()
        .all(|c| c.is_ascii_alphabetic() || c == b'_' || c == b'-')
        && ["pass", "pwd", "secret"].iter().any(|w| lower.contains(w));
    // A format string's field (`{auth_token}`, `{0}`, `%(password)s`,
    // `%s`) is where code puts a password.
    let field = |open: &str, close: char| {
        text.strip_prefix(open)
            .and_then(|rest| rest.split_once(close))
            .is_some_and(|(name, _)| name.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_'))
    };
    let template = field("{", '}') || field("%(", ')') || text.starts_with("%s");
    // A URL (`file://path`, `https://…`) is where a password is, not one.
    !constant
        && !timestamp
        && !names_one
        && !template
        && !text.starts_with("arn:")
        && !text.contains("://")
}

/// True when no word of `text` is one that fills a name field in code or a
/// form without being a name, or one that names an organisation (`Dr.
/// Dobbs Magazine`).
fn person_name(text: &str) -> bool {
    const NOT_NAMES: &[&str] = &[
        "admin",
        "anonymous",
        "associates",
        "bank",
        "college",
        "company",
        "consulting",
        "corp",
        "customer",
        "default",
        "deleted",
        "dummy",
        "example",
        "false",
        "first",
        "foundation",
        "gmbh",
        "group",
        "guest",
        "holdings",
        // Greetings (`"Mr. Hi"`, a club in a graph library's karate data).
        "hello",
        "hey",
        "hi",
        "hospital",
        "inc",
        "institute",
        "journal",
        "last",
        "llc",
        "ltd",
        "magazine",
        "name",
        "nil",
        "none",
        "null",
        "optional",
        "partners",
        "redacted",
        "required",
        "sample",
        "search",
        "services",
        "solutions",
        "string",
        "support",
        "systems",
        "tbd",
        "team",
        "technologies",
        "test",
        "true",
        "undefined",
        "university",
        "unknown",
        "user",
        "value",
        // A field's own name as its value (`<firstname>FIRSTNAME</firstname>`
        // in a template).
        "familyname",
        "firstname",
        "forename",
        "fullname",
        "givenname",
        "lastname",
        "middlename",
        "surname",
        "username",
        "yourname",
        // Types of a schema's column (`first_name: VARCHAR(50)`), and notes.
        "bigint",
        "blob",
        "bool",
        "boolean",
        "char",
        "date",
        "fixme",
        // Python's stubs: `familyName: Incomplete`, `GivenName: Optional[str]`.
        "incomplete",
        "int",
        "integer",
        "json",
        "nvarchar",
        "optional",
        "text",
        "todo",
        "uuid",
        "varchar",
        "varchar2",
    ];
    !text
        .split(|c| NAME_SEPARATORS.contains(&c) || c == ',' || c == '.')
        .any(|w| NOT_NAMES.iter().any(|n| n.eq_ignore_ascii_case(w)))
}

/// More digits than any number these validators accept has.
const MAX_DIGITS: usize = 32;

/// The decimal digits of `text`, as numbers, in `store`; `None` when there
/// are more than it holds.
fn digits<'a>(text: &str, store: &'a mut [u8; MAX_DIGITS]) -> Option<&'a [u8]> {
    let mut n = 0;
    for b in text.bytes().filter(u8::is_ascii_digit) {
        *store.get_mut(n)? = b - b'0';
        n += 1;
    }
    Some(&store[..n])
}

/// Numbers set aside for fiction and documentation: North American
/// numbers of the 555 exchange (555-0100 to 555-0199 are reserved for
/// fiction, 555-1212 is directory assistance, and the rest, though
/// assignable, are what films, forms and documentation use:
/// `206-555-1111` in the AWS CLI's examples), and Ofcom's drama ranges for
/// UK mobiles (07700 900000–900999), London (020 7946 0000–0999) and other
/// areas (01632 960xxx, eleven cities' 0xx1 496 0xxx, 0191 498 0xxx).
/// Digits as values 0–9, with or without the country code.
fn fictional_phone(d: &[u8]) -> bool {
    let nanp = match d {
        [1, rest @ ..] if rest.len() == 10 => Some(rest),
        _ if d.len() == 10 => Some(d),
        _ => None,
    };
    if nanp.is_some_and(|n| n[3..6] == [5, 5, 5]) {
        return true;
    }
    let uk = match d {
        [4, 4, rest @ ..] => rest,
        [0, rest @ ..] => rest,
        _ => return false,
    };
    // Ofcom's drama ranges: mobiles 07700 900xxx, London 020 7946 0xxx,
    // the geographic 01632 960xxx, and 0xx1 496 0xxx in Leeds, Sheffield,
    // Nottingham, Leicester, Bristol, Reading, Birmingham, Edinburgh,
    // Glasgow, Liverpool and Manchester (0191 498 0xxx in Tyneside).
    const DRAMA: &[&[u8]] = &[
        &[7, 7, 0, 0, 9, 0, 0],
        &[2, 0, 7, 9, 4, 6, 0],
        &[1, 6, 3, 2, 9, 6, 0],
        &[1, 9, 1, 4, 9, 8, 0],
    ];
    let city =
        matches!(uk, [1, 2..=6, 1, 4, 9, 6, 0, ..]) || matches!(uk, [1, 1, 3..=8, 4, 9, 6, 0, ..]);
    uk.len() == 10 && (DRAMA.iter().any(|r| uk.starts_with(r)) || city)
}

/// The phone validators' test of the digits `d`: `min` to 15 of them, not
/// all the same digit, not a number set aside for fiction, not round.
fn phone(d: &[u8], min: usize) -> bool {
    (min..=15).contains(&d.len()) && !all_same(d) && !fictional_phone(d) && !round(d)
}

/// True when `text` (a sign aside) is a quantity written in thousands: a
/// first group of one to three digits, then groups of three, the last
/// perhaps a decimal part after a `.` (`+12 345 678`, `+1.234.567`,
/// `+12 345.67`).
fn thousands(text: &[u8]) -> bool {
    let body = text.strip_prefix(b"+").unwrap_or(text);
    let groups: Vec<&[u8]> = body.split(|b| matches!(b, b' ' | b'.' | b'-')).collect();
    let Some((first, rest)) = groups.split_first() else {
        return false;
    };
    let Some((last, middle)) = rest.split_last() else {
        return false;
    };
    let digits = |g: &[u8]| !g.is_empty() && g.iter().all(u8::is_ascii_digit);
    let decimal = body
        .iter()
        .rposition(|b| matches!(b, b' ' | b'.' | b'-'))
        .is_some_and(|i| body[i] == b'.');
    (1..=3).contains(&first.len())
        && digits(first)
        && middle.iter().all(|g| g.len() == 3 && digits(g))
        && digits(last)
        && (last.len() == 3 || decimal)
}

/// True when `d` starts with a country calling code that the ITU has not
/// assigned (E.164 spare codes: `28x`, `89x`, `999`, …). Codes are a prefix
/// code, so the first digits decide.
fn spare_country_code(d: &[u8]) -> bool {
    const SPARE_TWO: &[[u8; 2]] = &[[2, 8], [8, 9]];
    const SPARE_THREE: &[u16] = &[
        210, 214, 215, 217, 219, 259, 292, 293, 294, 295, 296, 384, 422, 424, 425, 426, 427, 428,
        429, 671, 684, 693, 694, 695, 696, 697, 698, 699, 801, 802, 803, 804, 805, 806, 807, 809,
        851, 854, 857, 858, 859, 871, 872, 873, 874, 884, 885, 887, 889, 969, 978, 990, 997, 999,
    ];
    match d {
        [a, b, c, ..] => {
            SPARE_TWO.contains(&[*a, *b])
                || SPARE_THREE.contains(&(u16::from(*a) * 100 + u16::from(*b) * 10 + u16::from(*c)))
        }
        _ => false,
    }
}

/// True when `text` starts as an ISO 8601 date with an expanded year
/// (`+9999-12-31 23:59`, `+10000-01-01`): a sign, four to six digits, a
/// month and a day.
fn expanded_date(text: &[u8]) -> bool {
    let Some(body) = text.strip_prefix(b"+") else {
        return false;
    };
    let year = body.iter().take_while(|b| b.is_ascii_digit()).count();
    let Some(rest) = body.get(year..).and_then(|r| r.strip_prefix(b"-")) else {
        return false;
    };
    let two = |at: usize| -> Option<u8> {
        match rest.get(at..at + 2)? {
            [a, b] if a.is_ascii_digit() && b.is_ascii_digit() => {
                Some((a - b'0') * 10 + (b - b'0'))
            }
            _ => None,
        }
    };
    // The year's last four digits fix February's length.
    let y = body[year.saturating_sub(4)..year]
        .iter()
        .fold(0u32, |n, &x| n * 10 + u32::from(x - b'0'));
    (4..=6).contains(&year)
        && rest.get(2) == Some(&b'-')
        && two(0)
            .and_then(|m| days_in_month(y, u32::from(m)))
            .zip(two(3))
            .is_some_and(|(days, d)| (1..=days).contains(&u32::from(d)))
}

/// True when the number ends in five zeros: a round number (a product,
/// `4031078400000`, a duration, `+3600000` milliseconds), which one phone
/// or account number in a hundred thousand is.
fn round(d: &[u8]) -> bool {
    d.ends_with(&[0; 5])
}

/// The card numbers published for testing payment integrations: they charge
/// no one, and code, fixtures and documentation are full of them.
fn test_card(d: &[u8]) -> bool {
    const TEST_CARDS: &[&str] = &[
        "4111111111111111",
        "4012888888881881",
        "4222222222222",
        "4242424242424242",
        "4000056655665556",
        "4005519200000004",
        "4009348888881881",
        "4012000033330026",
        "4012000077777777",
        "4217651111111119",
        "4500600000000061",
        "4000111111111115",
        "5555555555554444",
        "5105105105105100",
        "5200828282828210",
        "5431111111111111",
        "2223003122003222",
        "2221000000000009",
        "378282246310005",
        "371449635398431",
        "378734493671000",
        "340000000000009",
        "6011111111111117",
        "6011000990139424",
        "6011000000000004",
        "3530111333300000",
        "3566002020360505",
        "3566111111111113",
        "30569309025904",
        "38520000023237",
        "36227206271667",
        "6200000000000005",
    ];
    TEST_CARDS
        .iter()
        .any(|t| t.len() == d.len() && t.bytes().zip(d).all(|(a, &b)| a - b'0' == b))
}

/// The days of `month` (1–12) of `year`, Gregorian.
fn days_in_month(year: u32, month: u32) -> Option<u32> {
    Some(match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400) => {
            29
        }
        2 => 28,
        _ => return None,
    })
}

fn all_same(d: &[u8]) -> bool {
    d.windows(2).all(|w| w[0] == w[1])
}

/// Luhn mod 10.
pub fn luhn(d: &[u8]) -> bool {
    if d.len() < 2 {
        return false;
    }
    let sum: u32 = d
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &x)| {
            let x = u32::from(x);
            if i % 2 == 1 {
                let y = x * 2;
                if y > 9 { y - 9 } else { y }
            } else {
                x
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// IBAN lengths by country (ISO 13616 registry).
const IBAN_LENGTHS: &[(&str, usize)] = &[
    ("AD", 24),
    ("AE", 23),
    ("AL", 28),
    ("AT", 20),
    ("AZ", 28),
    ("BA", 20),
    ("BE", 16),
    ("BG", 22),
    ("BH", 22),
    ("BR", 29),
    ("BY", 28),
    ("CH", 21),
    ("CR", 22),
    ("CY", 28),
    ("CZ", 24),
    ("DE", 22),
    ("DK", 18),
    ("DO", 28),
    ("EE", 20),
    ("EG", 29),
    ("ES", 24),
    ("FI", 18),
    ("FO", 18),
    ("FR", 27),
    ("GB", 22),
    ("GE", 22),
    ("GI", 23),
    ("GL", 18),
    ("GR", 27),
    ("GT", 28),
    ("HR", 21),
    ("HU", 28),
    ("IE", 22),
    ("IL", 23),
    ("IQ", 23),
    ("IS", 26),
    ("IT", 27),
    ("JO", 30),
    ("KW", 30),
    ("KZ", 20),
    ("LB", 28),
    ("LC", 32),
    ("LI", 21),
    ("LT", 20),
    ("LU", 20),
    ("LV", 21),
    ("MC", 27),
    ("MD", 24),
    ("ME", 22),
    ("MK", 19),
    ("MR", 27),
    ("MT", 31),
    ("MU", 30),
    ("NL", 18),
    ("NO", 15),
    ("PK", 24),
    ("PL", 28),
    ("PS", 29),
    ("PT", 25),
    ("QA", 29),
    ("RO", 24),
    ("RS", 22),
    ("SA", 24),
    ("SC", 31),
    ("SE", 24),
    ("SI", 19),
    ("SK", 24),
    ("SM", 27),
    ("ST", 25),
    ("SV", 28),
    ("TL", 23),
    ("TN", 24),
    ("TR", 26),
    ("UA", 29),
    ("VA", 22),
    ("VG", 24),
    ("XK", 20),
];

fn iban(text: &str) -> bool {
    let s: Vec<u8> = text
        .bytes()
        .filter(|b| !b.is_ascii_whitespace())
        .map(|b| b.to_ascii_uppercase())
        .collect();
    if s.len() < 15 || !s.iter().all(u8::is_ascii_alphanumeric) {
        return false;
    }
    let Ok(country) = std::str::from_utf8(&s[..2]) else {
        return false;
    };
    let Some(&(_, len)) = IBAN_LENGTHS.iter().find(|(c, _)| *c == country) else {
        return false;
    };
    if s.len() != len || !s[2].is_ascii_digit() || !s[3].is_ascii_digit() {
        return false;
    }
    let mut rem: u32 = 0;
    for &b in s[4..].iter().chain(&s[..4]) {
        let v = if b.is_ascii_digit() {
            u32::from(b - b'0')
        } else {
            u32::from(b - b'A') + 10
        };
        rem = if v >= 10 {
            (rem * 100 + v) % 97
        } else {
            (rem * 10 + v) % 97
        };
    }
    rem == 1
}

/// Digits (values 0–9) as a number.
fn num(d: &[u8]) -> u32 {
    d.iter().fold(0, |acc, &x| acc * 10 + u32::from(x))
}

fn us_ssn(d: &[u8]) -> bool {
    if d.len() != 9 {
        return false;
    }
    let (area, group, serial) = (num(&d[..3]), num(&d[3..5]), num(&d[5..]));
    // Numbers published in advertising and examples, never issued to a person.
    const KNOWN_FAKE: &[u32] = &[
        78_051_120,
        219_099_999,
        123_456_789,
        111_111_111,
        987_654_320,
    ];
    // Each group one digit repeated (`111-22-3333`, `222-33-4444`): how
    // people make one up, and one number in a million otherwise.
    let made_up = all_same(&d[..3]) && all_same(&d[3..5]) && all_same(&d[5..]);
    area != 0
        && area != 666
        && area < 900
        && group != 0
        && serial != 0
        && !KNOWN_FAKE.contains(&num(d))
        && !made_up
}

fn us_itin(d: &[u8]) -> bool {
    if d.len() != 9 || d[0] != 9 || all_same(d) {
        return false;
    }
    let group = num(&d[3..5]);
    matches!(group, 50..=65 | 70..=88 | 90..=92 | 94..=99)
}

fn uk_nino(text: &str) -> bool {
    let s: Vec<u8> = text
        .bytes()
        .filter(u8::is_ascii_alphanumeric)
        .map(|b| b.to_ascii_uppercase())
        .collect();
    if s.len() != 9 {
        return false;
    }
    let (a, b) = (s[0], s[1]);
    if b"DFIQUV".contains(&a) || b"DFIQUVO".contains(&b) {
        return false;
    }
    let prefix = [a, b];
    let banned: [&[u8; 2]; 7] = [b"BG", b"GB", b"NK", b"KN", b"TN", b"NT", b"ZZ"];
    !banned.contains(&&prefix) && s[2..8].iter().all(u8::is_ascii_digit) && b"ABCD".contains(&s[8])
}

fn uk_nhs(d: &[u8]) -> bool {
    if d.len() != 10 || all_same(d) {
        return false;
    }
    let sum: u32 = d[..9]
        .iter()
        .enumerate()
        .map(|(i, &x)| u32::from(x) * (10 - i as u32))
        .sum();
    let check = 11 - sum % 11;
    let check = if check == 11 { 0 } else { check };
    check != 10 && check == u32::from(d[9])
}

/// Verhoeff check over all digits (the last is the check digit).
pub fn verhoeff(d: &[u8]) -> bool {
    const MUL: [[u8; 10]; 10] = [
        [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
        [1, 2, 3, 4, 0, 6, 7, 8, 9, 5],
        [2, 3, 4, 0, 1, 7, 8, 9, 5, 6],
        [3, 4, 0, 1, 2, 8, 9, 5, 6, 7],
        [4, 0, 1, 2, 3, 9, 5, 6, 7, 8],
        [5, 9, 8, 7, 6, 0, 4, 3, 2, 1],
        [6, 5, 9, 8, 7, 1, 0, 4, 3, 2],
        [7, 6, 5, 9, 8, 2, 1, 0, 4, 3],
        [8, 7, 6, 5, 9, 3, 2, 1, 0, 4],
        [9, 8, 7, 6, 5, 4, 3, 2, 1, 0],
    ];
    const PERM: [[u8; 10]; 8] = [
        [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
        [1, 5, 7, 6, 2, 8, 3, 0, 9, 4],
        [5, 8, 0, 3, 7, 9, 6, 1, 4, 2],
        [8, 9, 1, 6, 0, 4, 3, 5, 2, 7],
        [9, 4, 5, 3, 1, 2, 6, 8, 7, 0],
        [4, 2, 8, 6, 5, 7, 3, 9, 0, 1],
        [2, 7, 9, 3, 8, 0, 6, 4, 1, 5],
        [7, 0, 4, 6, 9, 1, 3, 2, 5, 8],
    ];
    let mut c = 0usize;
    for (i, &x) in d.iter().rev().enumerate() {
        c = usize::from(MUL[c][usize::from(PERM[i % 8][usize::from(x)])]);
    }
    c == 0 && !all_same(d)
}

fn in_pan(text: &str) -> bool {
    let s = text.as_bytes();
    s.len() == 10 && b"PCHFATBLJG".contains(&s[3].to_ascii_uppercase())
}

/// See [`Validator::Vin`]: the check digit is the sum of the characters'
/// values (digits as themselves, letters 1–9 in turn from A, J and S, P 7
/// and R 9) weighted 8 to 2, 10, 0 and 9 to 2, mod 11, 10 written `X`.
fn vin(v: &[u8]) -> bool {
    const WEIGHTS: [u32; 17] = [8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2];
    if v.len() != 17 || !v[13..].iter().all(u8::is_ascii_digit) {
        return false;
    }
    let mut sum = 0;
    let mut letters = false;
    for (&c, w) in v.iter().zip(WEIGHTS) {
        let value = match c {
            b'0'..=b'9' => u32::from(c - b'0'),
            b'A'..=b'H' => u32::from(c - b'A') + 1,
            b'J'..=b'N' => u32::from(c - b'J') + 1,
            b'P' => 7,
            b'R' => 9,
            b'S'..=b'Z' => u32::from(c - b'S') + 2,
            _ => return false,
        };
        letters |= c.is_ascii_uppercase();
        sum += value * w;
    }
    let check = match sum % 11 {
        10 => b'X',
        n => b'0' + n as u8,
    };
    letters && (!(b'1'..=b'5').contains(&v[0]) || v[8] == check)
}

fn au_tfn(d: &[u8]) -> bool {
    const W: [u32; 9] = [1, 4, 3, 7, 5, 8, 6, 9, 10];
    d.len() == 9
        && !all_same(d)
        && d.iter().zip(W).map(|(&x, w)| u32::from(x) * w).sum::<u32>() % 11 == 0
}

const NIF_LETTERS: &[u8; 23] = b"TRWAGMYFPDXBNJZSQVHLCKE";

fn nif_letter_ok(number: u32, letter: u8) -> bool {
    NIF_LETTERS[(number % 23) as usize] == letter.to_ascii_uppercase()
}

fn es_nif(text: &str) -> bool {
    let s: Vec<u8> = text.bytes().filter(u8::is_ascii_alphanumeric).collect();
    s.len() == 9
        && s[..8].iter().all(u8::is_ascii_digit)
        && nif_letter_ok(num(&digits_of(&s[..8])), s[8])
}

fn digits_of(s: &[u8]) -> Vec<u8> {
    s.iter().map(|b| b - b'0').collect()
}

fn es_nie(text: &str) -> bool {
    let s: Vec<u8> = text.bytes().filter(u8::is_ascii_alphanumeric).collect();
    if s.len() != 9 || !s[1..8].iter().all(u8::is_ascii_digit) {
        return false;
    }
    let lead = match s[0].to_ascii_uppercase() {
        b'X' => 0,
        b'Y' => 1,
        b'Z' => 2,
        _ => return false,
    };
    nif_letter_ok(lead * 10_000_000 + num(&digits_of(&s[1..8])), s[8])
}

fn it_fiscal_code(text: &str) -> bool {
    const ODD: [u32; 36] = [
        1, 0, 5, 7, 9, 13, 15, 17, 19, 21, // 0-9
        1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 2, 4, 18, 20, 11, 3, 6, 8, 12, 14, 16, 10, 22, 25, 24,
        23, // A-Z
    ];
    let s: Vec<u8> = text.bytes().map(|b| b.to_ascii_uppercase()).collect();
    if s.len() != 16 || !s.iter().all(u8::is_ascii_alphanumeric) {
        return false;
    }
    let index = |b: u8| {
        if b.is_ascii_digit() {
            usize::from(b - b'0')
        } else {
            usize::from(b - b'A') + 10
        }
    };
    let mut sum = 0u32;
    for (i, &b) in s[..15].iter().enumerate() {
        if i % 2 == 0 {
            sum += ODD[index(b)];
        } else {
            sum += if b.is_ascii_digit() {
                u32::from(b - b'0')
            } else {
                u32::from(b - b'A')
            };
        }
    }
    s[15] == b'A' + (sum % 26) as u8
}

fn fr_insee(text: &str) -> bool {
    let s: Vec<u8> = text
        .bytes()
        .filter(u8::is_ascii_alphanumeric)
        .map(|b| b.to_ascii_uppercase())
        .collect();
    if s.len() != 15 || !(s[0] == b'1' || s[0] == b'2') {
        return false;
    }
    let mut body = String::from_utf8_lossy(&s[..13]).into_owned();
    // Corsica: departments 2A and 2B count as 19 and 18 for the key.
    match &body[5..7] {
        "2A" => body.replace_range(5..7, "19"),
        "2B" => body.replace_range(5..7, "18"),
        _ => {}
    }
    let (Ok(n), Ok(key), Ok(month)) = (
        body.parse::<u64>(),
        String::from_utf8_lossy(&s[13..]).parse::<u64>(),
        body[3..5].parse::<u32>(),
    ) else {
        return false;
    };
    matches!(month, 1..=12 | 20..=42 | 50..=99) && key == 97 - n % 97
}

fn de_tax_id(d: &[u8]) -> bool {
    if d.len() != 11 || d[0] == 0 {
        return false;
    }
    // In the first ten digits exactly one digit appears twice or three times,
    // and at least one digit is missing.
    let mut counts = [0u8; 10];
    for &x in &d[..10] {
        counts[usize::from(x)] += 1;
    }
    let repeated = counts.iter().filter(|&&c| c >= 2).count();
    if repeated != 1 || counts.iter().any(|&c| c > 3) {
        return false;
    }
    iso7064_mod11_10(d)
}

/// ISO 7064 MOD 11,10: the last digit checks the ones before it.
fn iso7064_mod11_10(d: &[u8]) -> bool {
    let Some((&last, body)) = d.split_last() else {
        return false;
    };
    let mut product = 10u32;
    for &x in body {
        let mut sum = (u32::from(x) + product) % 10;
        if sum == 0 {
            sum = 10;
        }
        product = (sum * 2) % 11;
    }
    (11 - product) % 10 == u32::from(last)
}

fn nl_bsn(d: &[u8]) -> bool {
    if d.len() != 9 || all_same(d) {
        return false;
    }
    let sum: i32 = d[..8]
        .iter()
        .enumerate()
        .map(|(i, &x)| i32::from(x) * (9 - i as i32))
        .sum::<i32>()
        - i32::from(d[8]);
    sum % 11 == 0 && sum != 0
}

fn br_cpf(d: &[u8]) -> bool {
    if d.len() != 11 || all_same(d) {
        return false;
    }
    let check = |n: usize| {
        let sum: u32 = d[..n]
            .iter()
            .enumerate()
            .map(|(i, &x)| u32::from(x) * (n as u32 + 1 - i as u32))
            .sum();
        let r = (sum * 10) % 11;
        if r == 10 { 0 } else { r }
    };
    check(9) == u32::from(d[9]) && check(10) == u32::from(d[10])
}

fn br_cnpj(d: &[u8]) -> bool {
    if d.len() != 14 || all_same(d) || timestamp(d) {
        return false;
    }
    const W1: [u32; 12] = [5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2];
    const W2: [u32; 13] = [6, 5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2];
    let digit = |w: &[u32]| {
        let sum: u32 = d.iter().zip(w).map(|(&x, &w)| u32::from(x) * w).sum();
        let r = sum % 11;
        if r < 2 { 0 } else { 11 - r }
    };
    digit(&W1) == u32::from(d[12]) && digit(&W2) == u32::from(d[13])
}

/// True when fourteen digits read as a time stamp `YYYYMMDDhhmmss` from
/// 1990 to 2039 (`20210507025929`, a Wayback Machine capture in a URL):
/// one CNPJ in some hundred thousand reads so, one such stamp in a hundred
/// passes the CNPJ's check digits.
fn timestamp(d: &[u8]) -> bool {
    let n = |r: std::ops::Range<usize>| d[r].iter().fold(0u32, |n, &x| n * 10 + u32::from(x));
    d.len() == 14
        && (1990..=2039).contains(&n(0..4))
        && days_in_month(n(0..4), n(4..6)).is_some_and(|days| (1..=days).contains(&n(6..8)))
        && n(8..10) <= 23
        && n(10..12) <= 59
        && n(12..14) <= 59
}

fn sg_nric(text: &str) -> bool {
    let s: Vec<u8> = text.bytes().map(|b| b.to_ascii_uppercase()).collect();
    if s.len() != 9 || !s[1..8].iter().all(u8::is_ascii_digit) {
        return false;
    }
    const W: [u32; 7] = [2, 7, 6, 5, 4, 3, 2];
    let mut sum: u32 = s[1..8]
        .iter()
        .zip(W)
        .map(|(&b, w)| u32::from(b - b'0') * w)
        .sum();
    let table: &[u8; 11] = match s[0] {
        b'S' => b"JZIHGFEDCBA",
        b'T' => {
            sum += 4;
            b"JZIHGFEDCBA"
        }
        b'F' => b"XWUTRQPNMLK",
        b'G' => {
            sum += 4;
            b"XWUTRQPNMLK"
        }
        b'M' => {
            sum += 3;
            b"XWUTRQPNJLK"
        }
        _ => return false,
    };
    table[(sum % 11) as usize] == s[8]
}

/// Whether `text` is an IPv4 address of someone, and if so whether it is
/// shaped like a section or version number (every octet under 32, outside
/// 10.0.0.0/8); `None` when it is no such address.
fn ipv4(text: &str) -> Option<bool> {
    let mut octets = [0u8; 4];
    let mut n = 0;
    for p in text.split('.') {
        let ok = n < 4
            && !p.is_empty()
            && p.len() <= 3
            && p.bytes().all(|b| b.is_ascii_digit())
            && (p.len() == 1 || !p.starts_with('0'));
        match p.parse::<u8>() {
            Ok(v) if ok => octets[n] = v,
            _ => return None,
        }
        n += 1;
    }
    let no_one = matches!(
        octets,
        [0 | 127 | 224..=239 | 255, ..]
            | [169, 254, _, _]
            | [192, 0, 2, _]
            | [198, 51, 100, _]
            | [203, 0, 113, _]
            | [1, 2, 3, 4]
    );
    (n == 4 && !no_one).then(|| octets[0] != 10 && octets.iter().all(|&o| o < 32))
}

fn mac(text: &str) -> bool {
    text.get(..2)
        .and_then(|first| u8::from_str_radix(first, 16).ok())
        .is_some_and(|first| first & 1 == 0)
}

fn ipv6(text: &str) -> bool {
    // At least two non-empty groups and one decimal digit, so that C++ and
    // Rust paths such as `dec::add` are not addresses.
    // The first group, when written, has three or four hex digits: every
    // address in use starts so (global `2xxx`/`3xxx`, unique local `fdxx`,
    // link-local `fe80`), and Rust paths (`C::C1`), byte dumps
    // (`0c:ef:bc:59:53:00:7d:b1`) and counting examples (`1:1:1:1:1:1:1:1`)
    // do not.
    let first = text.split(':').next().unwrap_or_default();
    (first.is_empty() || first.len() >= 3)
        && text.split(':').filter(|g| !g.is_empty()).count() >= 2
        && text.bytes().any(|b| b.is_ascii_digit())
        && text.parse::<std::net::Ipv6Addr>().is_ok_and(|a| {
            // A link-local address with a small interface id is set by hand
            // on a router (`fe80::1`), not derived from a device.
            let router = a.is_unicast_link_local() && (a.to_bits() as u64) >> 16 == 0;
            !a.is_unspecified()
                && !a.is_loopback()
                && !a.is_multicast()
                && !router
                && a.segments()[..2] != [0x2001, 0x0db8]
        })
}

/// CRC32 (IEEE 802.3), bitwise: only checked on candidate tokens.
fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// `n` in base 62, left-padded with `0` to `width` characters.
pub fn base62(mut n: u32, width: usize) -> String {
    let mut out = vec![b'0'; width];
    for slot in out.iter_mut().rev() {
        *slot = BASE62[(n % 62) as usize];
        n /= 62;
    }
    String::from_utf8(out).unwrap_or_default()
}

/// Tokens of the form `<prefix>_<random><base62 crc32 of prefix_random, width 6>`
/// (GitHub's `ghp_`/`gho_`/... and npm's `npm_` tokens).
///
/// The checksum covers the random part after the prefix's `_`; a checksum over
/// the whole body (prefix included) is accepted too.
fn crc32_base62_token(text: &str, width: usize) -> bool {
    if text.len() <= width + 4 || !text.is_ascii() {
        return false;
    }
    let (body, check) = text.split_at(text.len() - width);
    let payload = body.rsplit_once('_').map_or(body, |(_, p)| p);
    base62(crc32(payload.as_bytes()), width) == check
        || base62(crc32(body.as_bytes()), width) == check
}

/// Makes a checksummed token for tests and examples: `prefix_random` followed
/// by the base-62 CRC32 of `random`.
pub fn checksummed_token(prefix_and_random: &str) -> String {
    let payload = prefix_and_random
        .rsplit_once('_')
        .map_or(prefix_and_random, |(_, p)| p);
    format!(
        "{prefix_and_random}{}",
        base62(crc32(payload.as_bytes()), 6)
    )
}

/// Standard base64 with its padding, if any, ignored.
fn unpadded_base64(text: &str) -> Option<Vec<u8>> {
    base64::engine::general_purpose::STANDARD_NO_PAD
        .decode(text.trim_end_matches('='))
        .ok()
}

fn basic_credentials(text: &str) -> bool {
    let Some(raw) = unpadded_base64(text) else {
        return false;
    };
    let Ok(pair) = std::str::from_utf8(&raw) else {
        return false;
    };
    pair.split_once(':')
        .is_some_and(|(user, password)| !user.is_empty() && !password.is_empty())
        && !pair.chars().any(char::is_control)
}

fn pem_base64(text: &str) -> bool {
    // A match may stop short of the key's end (`max_len`): decode the
    // whole groups of four it holds.
    let body = text.trim_end_matches('=');
    let Some(pem) = unpadded_base64(&body[..body.len() - body.len() % 4]) else {
        return false;
    };
    let Some(rest) = pem.strip_prefix(b"-----BEGIN ") else {
        return false;
    };
    let Some(header_end) = memchr::memmem::find(rest, b"PRIVATE KEY-----") else {
        return false;
    };
    let key = &rest[header_end + b"PRIVATE KEY-----".len()..];
    let key = memchr::memmem::find(key, b"-----END").map_or(key, |end| &key[..end]);
    key.iter()
        .filter(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/'))
        .count()
        >= 64
}

fn jwt(text: &str) -> bool {
    let Some(header) = text.split('.').next() else {
        return false;
    };
    let Ok(raw) =
        base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(header.trim_end_matches('='))
    else {
        return false;
    };
    serde_json::from_slice::<serde_json::Value>(&raw)
        .is_ok_and(|v| v.get("alg").is_some_and(serde_json::Value::is_string))
}

fn birth_date(text: &str) -> bool {
    let valid = |y: u32, m: u32, d: u32| {
        (1900..=2030).contains(&y)
            && days_in_month(y, m).is_some_and(|days| (1..=days).contains(&d))
    };
    // Written without separators (`19720314`, a time of day may follow:
    // HL7 v2's form).
    if matches!(text.len(), 8 | 12 | 14) && text.bytes().all(|b| b.is_ascii_digit()) {
        let number = |r: std::ops::Range<usize>| text[r].parse::<u32>().unwrap_or(0);
        return valid(number(0..4), number(4..6), number(6..8));
    }
    let parts: Vec<u32> = text
        .split(|c: char| !c.is_ascii_digit())
        .filter(|p| !p.is_empty())
        .filter_map(|p| p.parse().ok())
        .collect();
    // A month by its English name (`12 March 1984`, `Mar 12th, 1984`): the
    // first word of three letters or more whose start names one.
    const MONTHS: [&str; 12] = [
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ];
    let named = text
        .split(|c: char| !c.is_ascii_alphabetic())
        .filter(|w| w.len() >= 3)
        .find_map(|w| {
            let start = w[..3].to_ascii_lowercase();
            MONTHS.iter().position(|m| *m == start)
        });
    if let Some(m) = named {
        // The day and the year, in either order.
        let month = m as u32 + 1;
        return match parts[..] {
            [a, b] if a >= 1000 => valid(a, month, b),
            [a, b] => valid(b, month, a),
            _ => false,
        };
    }
    if parts.len() != 3 {
        return false;
    }
    let (a, b, c) = (parts[0], parts[1], parts[2]);
    if a >= 1000 {
        valid(a, b, c)
    } else {
        valid(c, b, a) || valid(c, a, b)
    }
}

fn email(text: &str) -> bool {
    // File names (`logo@2x.png`, `icons-64x64@2.tar`), systemd template
    // units (`pg_basebackup@15-main.timer`, `getty@tty1.service`) and a
    // placeholder's domain (`username@site.domain`): none of these
    // suffixes is a top-level domain (`.services` and `.domains` are).
    const NOT_DOMAINS: &[&str] = &[
        "png",
        "jpg",
        "jpeg",
        "gif",
        "svg",
        "webp",
        "ico",
        "css",
        "js",
        "ts",
        "map",
        "pdf",
        "zip",
        "gz",
        "tar",
        "tgz",
        "bz2",
        "xz",
        "txt",
        "log",
        "conf",
        "json",
        "yaml",
        "yml",
        "xml",
        "html",
        "htm",
        "woff",
        "woff2",
        "ttf",
        "service",
        "socket",
        "timer",
        "target",
        "mount",
        "automount",
        "path",
        "slice",
        "scope",
        "swap",
        "device",
        "domain",
    ];
    let tld = text.rsplit('.').next().unwrap_or("").to_ascii_lowercase();
    // `%40` is `@` URL-encoded (`pii.email.url_encoded`).
    let (local, domain) = text
        .split_once('@')
        .or_else(|| text.split_once("%40"))
        .unwrap_or_default();
    // `git@github.com:org/repo`: the login of a Git host's SSH remote.
    let git = local.eq_ignore_ascii_case("git");
    // `sk-ssh-ed25519@openssh.com`, `chacha20-poly1305@openssh.com`: names
    // of SSH key types and ciphers.
    let ssh_name = domain.eq_ignore_ascii_case("openssh.com") && local.contains('-');
    !NOT_DOMAINS.contains(&tld.as_str()) && !git && !ssh_name
}

fn aba_routing(d: &[u8]) -> bool {
    const W: [u32; 9] = [3, 7, 1, 3, 7, 1, 3, 7, 1];
    d.len() == 9
        && !all_same(d)
        && d.iter().zip(W).map(|(&x, w)| u32::from(x) * w).sum::<u32>() % 10 == 0
}

fn uri_password(text: &str) -> bool {
    // scheme://user:password@host — find the password between the first ':'
    // after "//" and the last '@'.
    let Some(rest) = text.split_once("://").map(|(_, r)| r) else {
        return false;
    };
    let Some((userinfo, _)) = rest.rsplit_once('@') else {
        return false;
    };
    // In a URL of several hosts (`https://a.com:123,user:pass@b.com`) the
    // user's part follows the last comma.
    let userinfo = userinfo.rsplit(',').next().unwrap_or(userinfo);
    let Some((_, password)) = userinfo.split_once(':') else {
        return false;
    };
    let p = password.to_ascii_lowercase();
    let template = p.starts_with('$')
        || p.starts_with('{')
        || p.starts_with('<')
        || p.starts_with('%')
        || p.starts_with('[');
    let placeholder = [
        "password", "passwd", "pass", "pwd", "secret", "changeme", "xxx", "***", "...", "example",
        "guest", "admin", "root", "user", "test", "bar", "baz",
    ]
    .iter()
    .any(|w| p == *w || p.starts_with("your"))
        || p.chars().all(|c| c == '*' || c == 'x');
    !password.is_empty() && !template && !placeholder
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(v: Validator, s: &str) -> bool {
        v.check(s.as_bytes())
    }

    fn accepts(v: Validator, values: &[&str]) {
        for x in values {
            assert!(ok(v, x), "{v:?} rejects {x}");
        }
    }

    fn rejects(v: Validator, values: &[&str]) {
        for x in values {
            assert!(!ok(v, x), "{v:?} takes {x}");
        }
    }

    #[test]
    fn a_cnpj_is_no_time_stamp() {
        assert!(ok(Validator::BrCnpj, "11.222.333/0001-81"));
        assert!(
            !ok(Validator::BrCnpj, "20210507025929"),
            "a capture's time, though its check digits pass"
        );
        let d: Vec<u8> = b"20210507025929".iter().map(|b| b - b'0').collect();
        assert!(timestamp(&d));
        let not: Vec<u8> = b"20211307025929".iter().map(|b| b - b'0').collect();
        assert!(!timestamp(&not), "month 13");
        for (day, is) in [
            ("20240229025929", true),
            ("20230229025929", false),
            ("20210431025929", false),
        ] {
            let d: Vec<u8> = day.bytes().map(|b| b - b'0').collect();
            assert_eq!(timestamp(&d), is, "{day}: the month's own length");
        }
    }

    #[test]
    fn international_numbers_start_with_an_assigned_code_and_are_no_dates() {
        let v = Validator::PhoneInternational;
        assert!(ok(v, "+44 7911 123456"));
        assert!(ok(v, "+998 90 123 45 67"), "Uzbekistan");
        assert!(ok(v, "+880 1712 345678"), "Bangladesh");
        assert!(!ok(v, "+999 1234 5678"), "spare code");
        assert!(!ok(v, "+289 4512 3456"), "spare 28x");
        assert!(!ok(v, "+9999-12-31 23"), "an expanded year");
        assert!(!ok(v, "+10000-01-01 00"), "five digits of year");
        assert!(ok(v, "+4930-901820 12"), "no month after the year");
        assert!(ok(v, "+4930-13-31 12"), "no month 13");
        assert!(ok(v, "+4930-02-30 12"), "no 30 February");
        assert!(!ok(v, "+2024-02-29 12"), "a leap day");
    }

    #[test]
    fn vehicle_identification_numbers() {
        // Check digits computed apart; European makers need none.
        accepts(
            Validator::Vin,
            &[
                "1FT5L2TT9FM325212",
                "2HG6SJW10LY559849",
                "5YJYRS5DXKE039379",
                "3VWRPLBU3FP637731",
                "WVWZZZ1KZBW265217",
                "VF1RFB00565174608",
            ],
        );
        rejects(
            Validator::Vin,
            &[
                "1HG477BB1N6692228",
                "1FT5L2TT9FM32521",
                "1FT5L2TT9FM32521A",
                "WVWZZZ1KZBW2652I7",
                "12345678901234567",
            ],
        );
    }

    #[test]
    fn luhn_and_cards() {
        assert!(ok(Validator::CreditCard, "4539 1488 0343 6467"));
        assert!(ok(Validator::CreditCard, "5425-2334-3010-9903"));
        assert!(!ok(Validator::CreditCard, "4539 1488 0343 6468"));
        rejects(
            Validator::CreditCard,
            &[
                "4111 1111 1111 1111",
                "5555-5555-5555-4444",
                "378282246310005",
            ],
        );
        assert!(!ok(Validator::CreditCard, "4111"));
    }

    #[test]
    fn iban_mod97_and_length() {
        assert!(ok(Validator::Iban, "GB82 WEST 1234 5698 7654 32"));
        assert!(ok(Validator::Iban, "DE89370400440532013000"));
        assert!(!ok(Validator::Iban, "DE89370400440532013001"));
        assert!(
            !ok(Validator::Iban, "DE8937040044053201300"),
            "wrong length"
        );
        assert!(
            !ok(Validator::Iban, "QQ89370400440532013000"),
            "unknown country"
        );
    }

    #[test]
    fn ssn_rules() {
        assert!(ok(Validator::UsSsn, "536-22-8790"));
        rejects(
            Validator::UsSsn,
            &[
                "000-12-3456",
                "666-12-3456",
                "912-12-3456",
                "536-00-8790",
                "536-22-0000",
                "078-05-1120",
                "123-45-6789",
                "111-22-3333",
                "777-88-9999",
            ],
        );
        assert!(ok(Validator::UsSsn, "111-22-3334"));
        assert!(ok(Validator::UsItin, "912-70-1234"));
        assert!(!ok(Validator::UsItin, "912-40-1234"));
        assert!(!ok(Validator::UsItin, "999999999"), "one digit repeated");
    }

    #[test]
    fn accounts_names_and_phones_of_no_one() {
        assert!(ok(Validator::AccountNumber, "40817810099910004312"));
        assert!(!ok(Validator::AccountNumber, "444444444444"));
        assert!(!ok(Validator::AccountNumber, "1234567"), "too short");
        accepts(
            Validator::GivenName,
            &[
                "Maria Kovacs",
                "Oluwaseun Adeyemi",
                "José Núñez",
                "JÜRGEN Weiß",
                "Okafor, Chidi",
            ],
        );
        rejects(
            Validator::GivenName,
            &[
                "Bash Session",
                "Amazon Simple Storage Service",
                "Top Level Folder",
                "Acme, Inc",
            ],
        );
        assert!(ok(Validator::PersonName, "Anne-Marie O'Neill"));
        assert!(ok(Validator::PasswordValue, "Qz8-vLp2!rKx"));
        assert!(ok(Validator::PasswordValue, "CorrectHorse"));
        rejects(
            Validator::PasswordValue,
            &[
                "FORCE_CHANGE_PASSWORD",
                "2016-09-24T16:18:07Z",
                "arn:aws:iam::aws:policy/IAMUserChangePassword",
                "password",
                "Passwd",
                "test_password\\n",
                "alice-secret",
            ],
        );
        assert!(ok(Validator::PasswordValue, "Password123!"));
        rejects(
            Validator::PersonName,
            &["None", "Test User", "Search", "True"],
        );
        assert!(ok(Validator::Phone, "+1 206 556 0099"));
        rejects(
            Validator::Phone,
            &[
                "+1 206 555 0099",
                "206-555-1111",
                "+12065550103",
                "(206) 555-0100",
                "1-800-555-1212",
                "+44 7700 900123",
                "07700 900999",
                "020 7946 0018",
            ],
        );
        assert!(ok(Validator::Phone, "+44 7700 901123"));
        assert!(!ok(Validator::Phone, "+3600000"), "a round number");
    }

    #[test]
    fn national_ids() {
        assert!(ok(Validator::UkNhs, "943 476 5919"));
        assert!(!ok(Validator::UkNhs, "943 476 5918"));
        assert!(ok(Validator::UkNino, "AB123456C"));
        assert!(!ok(Validator::UkNino, "BG123456C"));
        assert!(!ok(Validator::UkNino, "DA123456C"));
        assert!(ok(Validator::CaSin, "130 692 544"));
        assert!(!ok(Validator::CaSin, "130 692 545"));
        assert!(ok(Validator::NlBsn, "111222333"));
        assert!(!ok(Validator::NlBsn, "111222334"));
        assert!(ok(Validator::BrCpf, "529.982.247-25"));
        assert!(!ok(Validator::BrCpf, "529.982.247-26"));
        assert!(!ok(Validator::BrCpf, "111.111.111-11"));
        assert!(ok(Validator::BrCnpj, "11.222.333/0001-81"));
        assert!(!ok(Validator::BrCnpj, "11.222.333/0001-82"));
        assert!(ok(Validator::EsNif, "12345678Z"));
        assert!(!ok(Validator::EsNif, "12345678A"));
        assert!(ok(Validator::EsNie, "X1234567L"));
        assert!(!ok(Validator::EsNie, "X1234567A"));
        assert!(ok(Validator::AuTfn, "123 456 782"));
        assert!(!ok(Validator::AuTfn, "123 456 783"));
        assert!(ok(Validator::SgNric, "S1234567D"));
        assert!(!ok(Validator::SgNric, "S1234567A"));
        assert!(ok(Validator::ItFiscalCode, "RSSMRA85T10A562S"));
        assert!(!ok(Validator::ItFiscalCode, "RSSMRA85T10A562T"));
        assert!(ok(Validator::DeTaxId, "86095742719"));
        assert!(!ok(Validator::DeTaxId, "86095742718"));
        assert!(ok(Validator::InPan, "ABCPE1234F"));
        assert!(!ok(Validator::InPan, "ABCXE1234F"));
    }

    #[test]
    fn verhoeff_aadhaar() {
        // 2345 6789 012 + check digit computed by the same algorithm.
        let base = [2, 3, 4, 5, 6, 7, 8, 9, 0, 1, 2];
        let valid: Vec<u8> = (0..10u8)
            .map(|c| base.iter().copied().chain([c]).collect::<Vec<u8>>())
            .find(|d| verhoeff(d))
            .expect("one check digit verifies");
        assert_eq!(valid.iter().filter(|_| true).count(), 12);
        let text: String = valid.iter().map(|d| char::from(b'0' + d)).collect();
        assert!(ok(Validator::InAadhaar, &text));
        let mut wrong = valid.clone();
        wrong[11] = (wrong[11] + 1) % 10;
        let text: String = wrong.iter().map(|d| char::from(b'0' + d)).collect();
        assert!(!ok(Validator::InAadhaar, &text));
    }

    #[test]
    fn insee_key() {
        // 1 84 12 76 451 089, key = 97 - n mod 97.
        let n: u64 = 1_841_276_451_089;
        let key = 97 - n % 97;
        assert!(ok(Validator::FrInsee, &format!("{n}{key:02}")));
        assert!(!ok(
            Validator::FrInsee,
            &format!("{n}{:02}", (key % 97) + 1)
        ));
    }

    #[test]
    fn international_phones_are_no_quantities_in_thousands() {
        for phone in [
            "+44 7911 123456",
            "+33 6 12 34 56 78",
            "+1 (415) 872-0143",
            "+49 (0)30 901820",
            "+81 90-1234-5678",
            "+1 415 872 0143",
            "+351 912 345 678",
            "+34 612 345 678",
        ] {
            assert!(ok(Validator::PhoneInternational, phone), "{phone}");
        }
        rejects(
            Validator::PhoneInternational,
            &[
                "+12 345 678",
                "+1.234.567.890",
                "+1 234 567 890",
                "+12 345 678.25",
                "+1 234",
                "+44 7700 900123",
                "+1 415 555 0123",
                "+1 212 500 000 00",
            ],
        );
    }

    #[test]
    fn ip_addresses() {
        assert!(ok(Validator::Ipv4, "192.168.10.24"));
        rejects(
            Validator::Ipv4,
            &[
                "256.1.1.1",
                "01.2.3.4",
                "0.0.0.0",
                "1.2.3",
                "1.2.3.4.5",
                "127.0.0.1",
                "255.255.255.0",
                "192.0.2.17",
                "198.51.100.23",
                "203.0.113.77",
                "169.254.169.254",
            ],
        );
        assert!(ok(Validator::Ipv4, "198.51.101.23"));
        assert!(ok(Validator::Ipv4, "169.253.169.254"));
        assert!(ok(Validator::Ipv6, "fe80::1c2b:3dff:fe4e:5f60"));
        assert!(!ok(Validator::Ipv6, "fe80::1"));
        assert!(!ok(Validator::Ipv6, "fe80::a1f"));
        assert!(ok(Validator::Ipv6, "2a01:4f8::1"));

        assert!(ok(Validator::Ipv4, "10.0.0.1"));
        for small in ["8.8.8.8", "1.1.1.1", "27.4.2.6"] {
            assert!(!ok(Validator::Ipv4, small), "{small}");
            assert!(ok(Validator::Ipv4Small, small), "{small}");
        }
        assert!(!ok(Validator::Ipv4Small, "81.2.69.160"));
        assert!(!ok(Validator::Ipv4, "224.0.0.255"), "multicast");
        assert!(!ok(Validator::Ipv6, "ff02::1"), "multicast");
        assert!(ok(Validator::Ipv6, "2a01:4f8::8a2e:370:7334"));
        assert!(
            !ok(Validator::Ipv6, "2001:db8::8a2e:370:7334"),
            "documentation"
        );
        assert!(!ok(Validator::Ipv6, "::1"));
        assert!(!ok(Validator::Ipv6, "::"));
        assert!(!ok(Validator::Ipv6, "std::vec"));
        for not_one in [
            "C::C1",
            "0c:ef:bc:59:53:00:7d:b1",
            "1:1:1:1:1:1:1:1",
            "1::2",
        ] {
            assert!(!ok(Validator::Ipv6, not_one), "{not_one}");
        }
        assert!(ok(Validator::Ipv6, "::ffff:a01:201"), "IPv4-mapped");
        assert!(!ok(Validator::Ipv6, "dec::add"));
        assert!(ok(Validator::AbaRouting, "021000021"));
        assert!(!ok(Validator::AbaRouting, "021000022"));
        assert!(ok(Validator::Email, "jane@corp.io"));
        assert!(!ok(Validator::Email, "logo@2x.png"));
        assert!(ok(Validator::Email, "jane%40corp.io"));
        assert!(!ok(Validator::Email, "git%40github.com"));
    }

    #[test]
    fn github_checksum() {
        let token = checksummed_token("ghp_R4nd0mT0k3nV4lu3F0rT3st1ngOnly");
        assert_eq!(token.len(), 40);
        assert!(ok(Validator::GithubToken, &token));
        let mut broken = token.clone().into_bytes();
        broken[10] = if broken[10] == b'a' { b'b' } else { b'a' };
        assert!(!ok(
            Validator::GithubToken,
            std::str::from_utf8(&broken).unwrap()
        ));
    }

    #[test]
    fn a_jwt_header_alone_is_no_generic_secret() {
        assert!(!ok(
            Validator::GenericSecret,
            "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"
        ));
        assert!(ok(
            Validator::GenericSecret,
            "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxIn0.c2ln"
        ));
        assert!(ok(
            Validator::GenericSecret,
            "x9Qw2LmN7vT4yH9sB1cZ6dF0gA5eK3i"
        ));
    }

    #[test]
    fn basic_credentials_decode_to_a_user_and_a_password() {
        assert!(ok(Validator::BasicCredentials, "Y2k6WHc3UXQ5TGs0UHoy"));
        assert!(ok(
            Validator::BasicCredentials,
            "ZGVwbG95OlJrNSN2VDhtV3EyTHo="
        ));
        // `test`, `user:`, `:pw`, a control byte, not base64.
        for bad in ["dGVzdA==", "dXNlcjo=", "OnB3", "dTpwCg==", "not*base64"] {
            assert!(!ok(Validator::BasicCredentials, bad), "{bad}");
        }
    }

    #[test]
    fn pem_base64_needs_a_private_key_with_a_body() {
        let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
        let body = "MC4CAQAwBQYDK2VwBCIEIKx1ZB2p9oQm6cW3rJd0Hn8Lz5sVtE4uYfGa7bNqRw1X";
        let key = format!("-----BEGIN PRIVATE KEY-----\n{body}\n-----END PRIVATE KEY-----\n");
        assert!(ok(Validator::PemBase64, &b64(&key)));
        // Cut short by the match's length, padding lost: still a key.
        assert!(ok(Validator::PemBase64, &b64(&key)[..126]));
        assert!(!ok(
            Validator::PemBase64,
            &b64("-----BEGIN PRIVATE KEY-----\n...\n-----END PRIVATE KEY-----\n")
        ));
        assert!(!ok(
            Validator::PemBase64,
            &b64(&format!(
                "-----BEGIN CERTIFICATE-----\n{body}\n-----END CERTIFICATE-----\n"
            ))
        ));
    }

    #[test]
    fn jwt_header() {
        assert!(ok(
            Validator::Jwt,
            "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxIn0.c2ln"
        ));
        assert!(
            !ok(Validator::Jwt, "eyJmb28iOiJiYXIifQ.eyJzdWIiOiIxIn0.c2ln"),
            "no alg"
        );
    }

    #[test]
    fn dates_and_uris() {
        assert!(ok(Validator::BirthDate, "1984-03-12"));
        assert!(ok(Validator::BirthDate, "12/03/1984"));
        assert!(!ok(Validator::BirthDate, "1984-02-30"));
        assert!(!ok(Validator::BirthDate, "1784-02-10"));
        assert!(ok(Validator::BirthDate, "12 March 1984"));
        assert!(ok(Validator::BirthDate, "March 12th, 1984"));
        assert!(ok(Validator::BirthDate, "04-Jul-1979"));
        assert!(!ok(Validator::BirthDate, "30 February 1984"));
        assert!(!ok(Validator::BirthDate, "12 Smarch 1984"));
        assert!(ok(Validator::BirthDate, "19720314"));
        assert!(ok(Validator::BirthDate, "197203141230"));
        assert!(!ok(Validator::BirthDate, "19720230"));
        assert!(!ok(Validator::BirthDate, "18720314"));
        for text in ["Vq8r-Kp2mZ7x-Lw4n", "hunter2!", "Sommer2024"] {
            assert!(ok(Validator::StoredPassword, text), "{text}");
        }
        for text in [
            "NULL",
            "true",
            "12345678",
            "$2b$12$KIXQJx4vG7N3b5oYpQhZCeW0m1Xc5qQ8l8h5o3n2m1k0j9i8h7g6f",
            "{SSHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=",
            "pbkdf2_sha256$600000$abc$def",
            "5f4dcc3b5aa765d61d8327deb882cf99",
            "${DB_PASSWORD}",
        ] {
            assert!(!ok(Validator::StoredPassword, text), "{text}");
        }
        assert!(ok(
            Validator::EncodedGivenName,
            "=?UTF-8?Q?J=C3=BCrgen_Wei=C3=9Fm=C3=BCller?="
        ));
        assert!(ok(
            Validator::EncodedGivenName,
            "=?utf-8?B?TWHFgmdvcnphdGEgS293YWxjenlr?="
        ));
        assert!(ok(
            Validator::EncodedGivenName,
            "=?iso-8859-1?q?=C9lodie?= =?iso-8859-1?q?_Marchand?="
        ));
        assert_eq!(
            encoded_words("=?utf-8?q?Zo=C3=AB?= =?utf-8?b?IMOFbmdzdHLDtm0=?=").as_deref(),
            Some("Zoë Ångström")
        );
        for text in [
            "=?utf-8?q?M=C3=BCller_Logistik_GmbH?=",
            "=?utf-8?q?J=C3=BCrgen?= plain",
            "=?koi8-r?b?9MXT1A==?=",
            "=?utf-8?q?J=ZZrgen?=",
            "=?utf-8?x?Anna?=",
        ] {
            assert!(!ok(Validator::EncodedGivenName, text), "{text}");
        }
        assert!(ok(
            Validator::UriPassword,
            "postgres://app:S3cr3t-Pw@db.internal:5432/app"
        ));
        // Several hosts: the user's part follows the last comma.
        assert!(!ok(
            Validator::UriPassword,
            "https://a.com:123,foo:bar@b.com"
        ));
        assert!(ok(
            Validator::UriPassword,
            "https://a.com:123,ci:Wq3-nT7v@b.com"
        ));
        // Format strings' fields are where code puts a password.
        for template in ["{auth_token}'", "{0}", "%(password)s", "%s"] {
            assert!(!ok(Validator::PasswordValue, template), "{template}");
        }
        assert!(ok(Validator::PasswordValue, "{Wq3-nT7v}"));
        assert!(!ok(
            Validator::UriPassword,
            "postgres://app:${DB_PASSWORD}@db/app"
        ));
        assert!(!ok(
            Validator::UriPassword,
            "postgres://app:password@db/app"
        ));
        assert!(!ok(Validator::UriPassword, "postgres://app@db/app"));
    }
}
