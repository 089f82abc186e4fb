//! Confidence: the rule's base score, its validator and minimum entropy,
//! context words near the match (or in the field name passed in from
//! outside), and penalties for placeholders; and the values that are no
//! one's whatever their shape, read from the bytes around them (an IP
//! network with its prefix length, a message id in a mail header).

use std::ops::Range;

use crate::engine::Compiled;
use crate::validate::Validator;

/// Words that mark a value as a placeholder when they occur inside it.
const PLACEHOLDER_IN_VALUE: &[&[u8]] = &[
    b"example",
    b"sample",
    b"dummy",
    b"fake",
    b"placeholder",
    b"changeme",
    b"your_",
    b"your-",
    // `your@login` (a password placeholder in old FTP instructions),
    // `your@email.com`.
    b"your@",
    b"yourkey",
    b"xxxx",
    b"redacted",
    b"lorem",
    b"<",
    b"${",
    b"{{",
    b"****",
    // Digits and letters taking turns, as people type a made-up key.
    b"a1b2c3",
    b"1a2b3c",
    b"abcd1234",
    b"123456789",
    // Broadcast, empty and counting MAC addresses.
    b"ff:ff:ff:ff:ff:ff",
    b"00:00:00:00:00:00",
    b"00:11:22:33:44:55",
    b"de:ad:be:ef",
    // The Free Software Foundation's addresses, in every GPL notice.
    b"51 franklin st",
    b"59 temple place",
    b"675 mass ave",
    // and its telephone number, in the same notices.
    b"542-5942",
    // The example address of JSON libraries' documentation, and the
    // street of the town of forms and manuals (`123 Any Street, Anytown`).
    b"10 downing st",
    b"any street",
    // The stock names of forms and documentation.
    b"john doe",
    b"jane doe",
    b"jane roe",
    // RFC 7617's example credentials, `Aladdin:open sesame`.
    b"opensesame",
    b"open sesame",
    // Redis's documented password (`requirepass foobared`).
    b"foobared",
];
/// Markers inside a secret's value: a secret that spells the word it fills
/// in (`generatedwebdavpassword1`, `SomeKindOfPassword123!@#`) is
/// documentation's, or a weak password reported at a low level. Not for
/// PII: `base-passwd@packages.debian.org` is an address.
const SECRET_PLACEHOLDER_IN_VALUE: &[&[u8]] = &[b"password", b"passwd"];
/// Weaker marker inside a value.
const TEST_IN_VALUE: &[&[u8]] = &[b"test"];
/// Words that mark the surrounding line as an example.
const PLACEHOLDER_NEARBY: &[&[u8]] = &[
    b"example",
    b"sample",
    b"dummy",
    b"fake",
    b"placeholder",
    b"test",
    b"lorem",
];
/// Bytes around the value searched for nearby placeholders (same line only).
const NEARBY: usize = 48;

/// The placeholder lists as automata that ignore ASCII case: one pass over
/// a value or a line finds any of their words.
struct Placeholders {
    in_value: aho_corasick::AhoCorasick,
    secret_in_value: aho_corasick::AhoCorasick,
    test_in_value: aho_corasick::AhoCorasick,
    nearby: aho_corasick::AhoCorasick,
}

static PLACEHOLDERS: std::sync::LazyLock<Placeholders> = std::sync::LazyLock::new(|| {
    let build = |words: &[&[u8]]| {
        aho_corasick::AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .build(words)
            // A few short literals: building cannot fail.
            .unwrap_or_else(|e| panic!("placeholder words: {e}"))
    };
    Placeholders {
        in_value: build(PLACEHOLDER_IN_VALUE),
        secret_in_value: build(SECRET_PLACEHOLDER_IN_VALUE),
        test_in_value: build(TEST_IN_VALUE),
        nearby: build(PLACEHOLDER_NEARBY),
    }
});

/// Where a value's context comes from besides the text around it.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Outside<'a> {
    /// A name for the value from outside the text: a JSON key, a database
    /// column, or the column of its cell in a table.
    pub field: Option<&'a str>,
    /// The value is a cell of a table whose header was read: its column's
    /// name is `field`, and the lines above (the header among them) are no
    /// context of its own.
    pub cell: bool,
}

/// Scores the value at `span` of `buf` for `rule`; `None` when the rule's
/// validator, entropy floor or required context rejects it, or the bytes
/// around it show it is no one's ([`is_network`], [`is_message_id`]).
pub(crate) fn score(
    rule: &Compiled,
    buf: &[u8],
    span: Range<usize>,
    outside: Outside<'_>,
    scratch: &mut Vec<u8>,
) -> Option<f32> {
    let Outside { field, cell } = outside;
    let value = &buf[span.clone()];
    let r = &rule.rule;
    if let Some(v) = r.validate
        && !v.check(value)
    {
        return None;
    }
    if let Some(min) = r.entropy
        && shannon_entropy(value) < min
    {
        return None;
    }
    match r.validate {
        Some(Validator::Email) if is_message_id(buf, &span) || in_url_authority(buf, &span) => {
            return None;
        }
        Some(Validator::Ipv4 | Validator::Ipv4Small | Validator::Ipv6)
            if is_network(value, &buf[span.end..]) =>
        {
            return None;
        }
        Some(Validator::Ipv4 | Validator::Ipv4Small)
            if in_list_of_decimals(buf, &span) || names_a_directory(buf, &span) =>
        {
            return None;
        }
        Some(Validator::Ipv4Small) if opens_comment(buf, &span) => return None,
        _ => {}
    }
    let mut confidence = r.confidence;
    if matches!(r.validate, Some(Validator::Ipv4 | Validator::Ipv4Small))
        && object_identifier(value)
    {
        confidence -= 0.3;
    }
    if let Some(v) = r.validate
        && v.digits_only()
        && value.iter().filter(|b| b.is_ascii_digit()).count() >= TABLE_DIGITS
        && in_table_of_numbers(buf, &span, v)
    {
        confidence -= 0.3;
    }

    if let Some(ctx) = &r.context {
        let Range {
            start: from,
            end: to,
        } = if cell {
            same_line(buf, &span, ctx.window)
        } else {
            context_region(buf, &span, ctx.window)
        };
        // A word counts when it lies whole in the region and stands as a
        // word of the text, as the digit-run gate sees it (`xtel` cut at
        // the `t` is no `tel`).
        let found = rule.context_words.iter().any(|w| {
            contains_word_within(buf, from..to, w)
                || field.is_some_and(|f| contains_word(f.as_bytes(), w))
        });
        if found {
            confidence += ctx.boost;
        } else if ctx.required {
            return None;
        } else if r.validate == Some(Validator::CreditCard) && long_bare_number(value) {
            // Nineteen digits together, with no word of cards near, are as
            // often a 64-bit constant (`current_block = 4488286894823169796;`
            // in machine-translated C, `> 4485585228861014016` in a proof's
            // bound) as one of the rare cards of that length.
            confidence -= 0.3;
        }
        // Penalty words count on the match's own line only, and in the
        // name of its field or column (`password_salt`); for a rule that
        // reads whole values, in that name alone (the row's other cells are
        // no words about the value: `Salt Lake City`).
        if !rule.penalty_words.is_empty() {
            if r.field_only {
                scratch.clear();
            } else {
                lower_into(&buf[same_line(buf, &span, ctx.window)], scratch);
            }
            if let Some(f) = field {
                scratch.push(b'\n');
                scratch.extend(f.bytes().map(|b| b.to_ascii_lowercase()));
            }
            for w in &rule.penalty_words {
                if find_short(scratch, w).is_some() {
                    confidence -= 0.3;
                }
            }
        }
    }

    let secret = r.category == shoal_schemas::Category::Secret;
    if written(&PLACEHOLDERS.in_value, value)
        || counting(value)
        || secret && written(&PLACEHOLDERS.secret_in_value, value)
    {
        confidence -= 0.5;
    } else if written(&PLACEHOLDERS.test_in_value, value) {
        confidence -= 0.2;
    } else if written_as_word(&PLACEHOLDERS.nearby, &buf[same_line(buf, &span, NEARBY)]) {
        confidence -= 0.15;
    }
    Some(confidence.clamp(0.0, 1.0))
}

/// [`written`], where a short word must also start a word of the text:
/// after no letter, or as a camel-case hump (`myTest`, `isFake`). The
/// words around a value are prose and code, where `test` ends `latest`,
/// `fastest` and `contest` (`latest login from 81.2.69.77`).
fn written_as_word(words: &aho_corasick::AhoCorasick, hay: &[u8]) -> bool {
    words.find_overlapping_iter(hay).any(|m| {
        let word = &hay[m.range()];
        let starts_word = match m.start().checked_sub(1).map(|i| hay[i]) {
            Some(before) if before.is_ascii_alphabetic() => {
                before.is_ascii_lowercase() && word[0].is_ascii_uppercase()
            }
            _ => true,
        };
        (starts_word || word.iter().filter(|b| b.is_ascii_alphabetic()).count() >= LONG_WORD)
            && written(words, word)
    })
}

/// True when `hay` holds one of the automaton's words as a person writes
/// it: a short word's runs of letters all small, all capitals, or a
/// capital and then small ones (`xxxx`, `XXXX`, `myFakeKey`, `John Doe`);
/// a word of [`LONG_WORD`] letters or more in any case. Random characters hold such
/// words in any case now and then (`…1xxXxMZq…` in a key's base64, once
/// in some thousand keys), and a key is no placeholder for that.
fn written(words: &aho_corasick::AhoCorasick, hay: &[u8]) -> bool {
    words.find_overlapping_iter(hay).any(|m| {
        let word = &hay[m.range()];
        word.iter().filter(|b| b.is_ascii_alphabetic()).count() >= LONG_WORD
            || word
                .split(|b| !b.is_ascii_alphabetic())
                .all(|run| match run.split_first() {
                    None => true,
                    Some((_, rest)) => {
                        rest.iter().all(u8::is_ascii_lowercase)
                            || run.iter().all(u8::is_ascii_uppercase)
                    }
                })
    })
}

/// True when most of `value`'s digits (two thirds or more) count up by
/// one, six or more in a row (`+44 1234567`, `+44 2345678`, `D1234567`):
/// how people make a number up, and no issued number's shape. (`123456789`
/// anywhere is a placeholder word.)
fn counting(value: &[u8]) -> bool {
    let (mut run, mut longest) = (1, 0);
    for w in value.windows(2) {
        run = if w[0].is_ascii_digit() && w[1] == w[0] + 1 {
            run + 1
        } else {
            1
        };
        longest = longest.max(run);
    }
    let digits = value.iter().filter(|b| b.is_ascii_digit()).count();
    longest >= COUNTING && 3 * longest >= 2 * digits
}

/// Digits counting up in a row that make a value made up.
const COUNTING: usize = 6;

/// Letters from which a placeholder word counts in any case
/// (`PassWord`, `ChangeMe`): random characters spell one of six letters
/// about once in a billion places.
const LONG_WORD: usize = 6;

/// True for the digits of an epoch time in milliseconds from 2011 to 2033
/// (`1700000000123`, as JavaScript and Java write them in logs). Longer
/// stamps (microseconds, nanoseconds) are left counted: their lengths are
/// those of a table's 51- and 64-bit constants.
fn epoch_time(digits: &[u8]) -> bool {
    digits.len() == 13 && digits[0] == b'1' && (b'3'..=b'9').contains(&digits[1])
}

/// Digits in a row that make a number long enough to be a table's entry.
const TABLE_DIGITS: usize = 12;
/// Bytes around a value looked at for other numbers (its line and the
/// lines next to it, up to this far).
const TABLE_REACH: usize = 160;

/// True when the number at `span` (itself long: the caller checks) is an
/// entry of a table of constants (`2331762317128172,` in a curve's
/// precomputed limbs), where one number in ten passes a Luhn check by
/// chance: it stands as an element of a list (nothing but list punctuation
/// or a line's end on either side, not `cc=` or `paid with`), and at least
/// two other numbers within two digits of its length on its line and the
/// lines next to it stand apart (not a token's digits, as in
/// `xoxb-397353947631-…`; not millisecond epoch times, `1700000000123`),
/// most of them failing `validator`. A list of card numbers passes: its
/// numbers all do; so does a labelled card, or one in a record beside phone
/// numbers, stamps or ids of other lengths.
fn in_table_of_numbers(buf: &[u8], span: &Range<usize>, validator: Validator) -> bool {
    // An element of a list: after `,`, `[`, `(`, `{` or a line's start,
    // before `,`, `]`, `)`, `}`, `;` or a line's end (blanks and a sign
    // aside).
    let blank = |b: &&u8| matches!(**b, b' ' | b'\t');
    let mut left = buf[..span.start].iter().rev().filter(|b| !blank(b));
    // A sign belongs to the number.
    let opens = match left.next() {
        Some(b'-' | b'+') => left.next(),
        other => other,
    }
    .is_none_or(|b| matches!(b, b',' | b'[' | b'(' | b'{' | b'\n' | b'\r'));
    let closes = buf[span.end..]
        .iter()
        .find(|b| !blank(b))
        .is_none_or(|b| matches!(b, b',' | b']' | b')' | b'}' | b';' | b'\n' | b'\r'));
    if !(opens && closes) {
        return false;
    }
    let own = buf[span.clone()]
        .iter()
        .filter(|b| b.is_ascii_digit())
        .count();
    let from = span.start.saturating_sub(TABLE_REACH);
    let to = (span.end + TABLE_REACH).min(buf.len());
    // A letter, digit or `_` right before a run, or a `-` between it and
    // one, makes the run part of a token.
    let word = |b: &u8| b.is_ascii_alphanumeric() || *b == b'_';
    let joined = |near: Option<&u8>, beyond: Option<&u8>| match near {
        Some(b'-') => beyond.is_some_and(word),
        Some(b) => word(b),
        None => false,
    };
    let (mut others, mut valid) = (0usize, 0usize);
    let mut at = from;
    while at < to {
        if !buf[at].is_ascii_digit() {
            at += 1;
            continue;
        }
        let start = at;
        while at < to && buf[at].is_ascii_digit() {
            at += 1;
        }
        // Runs cut by the ends of the reach may be longer: count them only
        // when whole.
        let whole = (start > from || start == 0) && (at < to || at == buf.len());
        let overlaps = start < span.end && at > span.start;
        let before = |k: usize| start.checked_sub(k).map(|i| &buf[i]);
        let counted = (at - start).abs_diff(own) <= 2
            && !joined(before(1), before(2))
            && !epoch_time(&buf[start..at]);
        if at - start >= TABLE_DIGITS && whole && !overlaps && counted {
            others += 1;
            valid += usize::from(validator.check(&buf[start..at]));
        }
    }
    others >= 2 && valid * 2 < others
}

/// True when the IP address `value`, followed by `after`, is a network
/// written with its prefix length (`10.0.0.0/8`, `2001:db8::/32`): no bit
/// of the address past the prefix is set. A network is a range of
/// addresses, no one's; `10.0.1.55/24` (an interface's address and its
/// network) and `10.0.0.0/32` (one host) are addresses.
/// True when the match at `span` is a directory's name, the start of a
/// path (`From 2.6.35.5/include/asm-mips/...`): a `/` and a letter follow,
/// and no `/` comes before, as in a URL or a share (`//62.31.149.23/share`).
fn names_a_directory(buf: &[u8], span: &Range<usize>) -> bool {
    buf.get(span.end) == Some(&b'/')
        && buf.get(span.end + 1).is_some_and(u8::is_ascii_alphabetic)
        && span.start.checked_sub(1).map(|i| buf[i]) != Some(b'/')
}

fn is_network(value: &[u8], after: &[u8]) -> bool {
    let Some(rest) = after.strip_prefix(b"/") else {
        return false;
    };
    let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    if !(1..=3).contains(&digits) || rest.get(digits).is_some_and(u8::is_ascii_alphanumeric) {
        return false;
    }
    let Ok(prefix) = std::str::from_utf8(&rest[..digits])
        .unwrap_or("")
        .parse::<u32>()
    else {
        return false;
    };
    let Ok(text) = std::str::from_utf8(value) else {
        return false;
    };
    let host_bits_clear = |bits: u128, width: u32| {
        let host = width.saturating_sub(prefix);
        let mask = 1u128.checked_shl(host).map_or(u128::MAX, |b| b - 1);
        prefix < width && bits & mask == 0
    };
    if let Ok(v4) = text.parse::<std::net::Ipv4Addr>() {
        host_bits_clear(u128::from(v4.to_bits()), 32)
    } else if let Ok(v6) = text.parse::<std::net::Ipv6Addr>() {
        host_bits_clear(v6.to_bits(), 128)
    } else {
        false
    }
}

/// True for nineteen digits without a separator starting with `4`: a Visa
/// number of the rarest length, or a 64-bit integer. (UnionPay issues
/// nineteen-digit cards by the million: `62…` keeps its score.)
fn long_bare_number(value: &[u8]) -> bool {
    value.len() == 19 && value[0] == b'4' && value.iter().all(u8::is_ascii_digit)
}

/// True when the dotted quad at `span` sits in a list of decimals, the
/// way SVG path data glues them (`-1.32,1.32.53.22,1.08`,
/// `2.34-2.54,1.4.49.12-1.52`): a number of one dot stands right next to
/// it, joined by a comma, a minus or a blank. An address's neighbours in a
/// list are addresses (`10.0.0.1,10.0.0.2`, `85.10.196.1-85.10.196.254`).
fn in_list_of_decimals(buf: &[u8], span: &Range<usize>) -> bool {
    let joint = |b: u8| matches!(b, b',' | b'-' | b' ');
    // The number after: `,1.08`, `-.06`, `-1.52,`.
    let after = buf.get(span.end).is_some_and(|&b| joint(b)) && {
        let rest = &buf[span.end + 1..];
        let rest = rest.strip_prefix(b"-").unwrap_or(rest);
        one_dot(rest.iter().copied(), false)
    };
    // The number before, read backwards: `2.54,`, `.18 `.
    let before = span.start > 0 && joint(buf[span.start - 1]) && {
        let rest = &buf[..span.start - 1];
        one_dot(rest.iter().rev().copied(), true)
    };
    after || before
}

/// True when `bytes` begin with a decimal number holding exactly one dot
/// with a digit on its fractional side (`1.08`, `.06`, `2.54`), not going
/// on with another dot; `backwards` when the bytes are read from the end of
/// the number (its fraction first).
fn one_dot(bytes: impl Iterator<Item = u8>, backwards: bool) -> bool {
    let (mut read_before_dot, mut read_after_dot, mut dots) = (0, 0, 0);
    for b in bytes {
        match b {
            b'0'..=b'9' if dots == 0 => read_before_dot += 1,
            b'0'..=b'9' => read_after_dot += 1,
            b'.' => dots += 1,
            _ => break,
        }
        if dots > 1 || read_before_dot + read_after_dot > 12 {
            return false;
        }
    }
    let fraction = if backwards {
        read_before_dot
    } else {
        read_after_dot
    };
    dots == 1 && fraction > 0
}

/// True when a dotted quad is an object identifier of an arc that code and
/// standards cite by the hundred: X.500 attribute types (`2.5.4.3`, the
/// common name), object classes (`2.5.6.x`) and certificate extensions
/// (`2.5.29.17`), the Edwards and Montgomery curve keys (`1.3.101.112`,
/// Ed25519) and the internet arc itself (`1.3.6.1`). Addresses in those
/// ranges exist, but are far rarer in text than the identifiers; near a
/// word of networking they still reach the low band.
fn object_identifier(value: &[u8]) -> bool {
    [&b"2.5.4."[..], b"2.5.6.", b"2.5.29.", b"1.3.101."]
        .iter()
        .any(|arc| value.starts_with(arc))
        || value == b"1.3.6.1"
}

/// True when the value at `span` is the first word of a comment line
/// (`// 17.6.5.12 tells us`, ` * 5.3.1.3 SCTP_REMOTE_ERROR`, `# 8.1.2.3`):
/// the number of a section being cited or headed. Only markers and blanks
/// come before it on its line.
fn opens_comment(buf: &[u8], span: &Range<usize>) -> bool {
    let marker = |b: &u8| matches!(b, b'/' | b'*' | b'#' | b';' | b'%');
    let line = &buf[same_line(buf, span, 64).start..span.start];
    line.iter().any(marker)
        && line
            .iter()
            .all(|b| marker(b) || matches!(b, b'-' | b'!' | b' ' | b'\t'))
}

/// Mail header fields whose values are message identifiers
/// (`<id-left@id-right>`, RFC 5322 section 3.6.4), lower case with their
/// colon.
const MESSAGE_ID_FIELDS: &[&[u8]] = &[
    b"message-id:",
    b"in-reply-to:",
    b"references:",
    b"content-id:",
    b"resent-message-id:",
    b"original-message-id:",
    b"x-original-message-id:",
    b"x-message-id:",
    b"supersedes:",
];

/// Bytes looked back over for the start of a folded header field.
const HEADER_REACH: usize = 4096;

/// True when the address-shaped value at `span` is a message identifier:
/// in angle brackets in a `Message-ID`, `In-Reply-To`, `References` or
/// `Content-ID` field of a mail header, on the field's first line or on a
/// folded line after it (one starting with a blank). Its local part is a
/// stamp or a random string that the sending host made up, not a mailbox.
fn is_message_id(buf: &[u8], span: &Range<usize>) -> bool {
    // The id may hold bytes an address cannot (`<CAHk7z=Qx3@mail…>`): its
    // `<` is the first byte before the value that no id holds.
    let opens = buf[span.start.saturating_sub(256)..span.start]
        .iter()
        .rev()
        .find(|b| matches!(b, b'<' | b'>' | b'"' | b',' | b' ' | b'\t' | b'\r' | b'\n'));
    if opens != Some(&b'<') || buf.get(span.end) != Some(&b'>') {
        return false;
    }
    let floor = span.start.saturating_sub(HEADER_REACH);
    let mut line_start = span.start;
    loop {
        line_start =
            memchr::memrchr(b'\n', &buf[floor..line_start]).map_or(floor, |p| floor + p + 1);
        match buf.get(line_start) {
            // A folded line: the field began on a line above.
            Some(b' ' | b'\t') if line_start > floor => line_start -= 1,
            _ => break,
        }
    }
    let line = &buf[line_start..span.start];
    MESSAGE_ID_FIELDS
        .iter()
        .any(|f| line.len() >= f.len() && line[..f.len()].eq_ignore_ascii_case(f))
}

/// True when the address-shaped value at `span` is the user or password
/// and host of a URL (`https://git@bitbucket.org/…`,
/// `https://foo:bar@bar.com`, `redis://:pw@cache`): its local part follows
/// the `://` itself, or a `:` in a token (back to a blank, a quote or an
/// angle bracket) that holds `://`. A connection string's password is a
/// secret rule's to judge; when that rule finds a placeholder there, the
/// rest is no one's address. `mailto:` has no `//`.
fn in_url_authority(buf: &[u8], span: &Range<usize>) -> bool {
    if buf[..span.start].ends_with(b"://") {
        return true;
    }
    if span.start == 0 || buf[span.start - 1] != b':' {
        return false;
    }
    let from = span.start.saturating_sub(256);
    let token = &buf[from..span.start];
    let start = token
        .iter()
        .rposition(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n' | b'"' | b'\'' | b'<' | b'>'))
        .map_or(0, |p| p + 1);
    memchr::memmem::find(&token[start..], b"://").is_some()
}

/// The part of `span`'s line within `reach` bytes of it.
fn same_line(buf: &[u8], span: &Range<usize>, reach: usize) -> Range<usize> {
    let from = span.start.saturating_sub(reach);
    let to = (span.end + reach).min(buf.len());
    let start = memchr::memrchr(b'\n', &buf[from..span.start]).map_or(from, |p| from + p + 1);
    let end = memchr::memchr(b'\n', &buf[span.end..to]).map_or(to, |p| span.end + p);
    start..end
}

/// The bytes within `window` of `span` whose context words count: the
/// value's own line and, when the value leads its line (nothing before it
/// on the line but blanks, punctuation or markup), the lines before it too,
/// as a label written above its value (`Phone:` then the number, a column
/// heading above a column). A word on a line before a value that does not
/// lead its line, or on any line after it, belongs to other text: in
/// `tel (389) 311-0094` followed by the line `build 227 555 9533` the build
/// number is no telephone number. A cell of delimited text counts as
/// leading its line: its heading is above it.
fn context_region(buf: &[u8], span: &Range<usize>, window: usize) -> Range<usize> {
    let line = same_line(buf, span, window);
    let before = &buf[line.start..span.start];
    let start = if leads_line(before) || is_cell(before) {
        span.start.saturating_sub(window)
    } else {
        line.start
    };
    start..line.end
}

/// True when `before` (a line's start, up to a value) ends in a field
/// separator of delimited text (`,`, `;`, a tab or `|`; a quote and blanks
/// aside): the value is a cell, whose column heading is on a line above.
fn is_cell(before: &[u8]) -> bool {
    let mut rest = before
        .iter()
        .rev()
        .skip_while(|b| matches!(b, b' ' | b'"' | b'\''));
    matches!(rest.next(), Some(b',' | b';' | b'\t' | b'|'))
}

/// True when `before` (a line's start, up to a value) holds no word
/// outside markup tags (`<td>`, `- "`, `| `) but the generic key of a
/// name-and-value pair, whose name is on the line above (`"value": ` under
/// `{"name": "macAddress",`, as AWS tags and Kubernetes variables write
/// them).
fn leads_line(before: &[u8]) -> bool {
    const GENERIC_KEYS: &[&[u8]] = &[b"value", b"val", b"data", b"text"];
    let mut in_tag = false;
    let mut words = 0;
    let mut at = 0;
    while at < before.len() {
        let b = before[at];
        if b.is_ascii_alphanumeric() && !in_tag {
            let end = before[at..]
                .iter()
                .position(|c| !c.is_ascii_alphanumeric())
                .map_or(before.len(), |p| at + p);
            let word = &before[at..end];
            words += 1;
            if words > 1 || !GENERIC_KEYS.iter().any(|k| word.eq_ignore_ascii_case(k)) {
                return false;
            }
            at = end;
            continue;
        }
        match b {
            b'<' => in_tag = true,
            b'>' => in_tag = false,
            _ => {}
        }
        at += 1;
    }
    true
}

/// True when `word` (lower case) occurs in `text`, in any case, as a whole
/// word (see [`is_whole_word`]): `tel` in `Tel:`, `mobile_tel` and
/// `homeTel`, `phone` in `phoneNumber`, not `tel` in `hotel` or `telnet`.
pub(crate) fn contains_word(text: &[u8], word: &[u8]) -> bool {
    contains_word_within(text, 0..text.len(), word)
}

/// True when `word` occurs as a whole word of `text` (as in
/// [`contains_word`]) lying within `within`.
fn contains_word_within(text: &[u8], within: Range<usize>, word: &[u8]) -> bool {
    let Some(&first) = word.first() else {
        return false;
    };
    let zone = &text[within.start..within.end];
    memchr::memchr2_iter(first, first.to_ascii_uppercase(), zone).any(|i| {
        let (start, end) = (within.start + i, within.start + i + word.len());
        end <= within.end
            && text[start..end].eq_ignore_ascii_case(word)
            && is_whole_word(text, start, end)
    })
}

/// True when `text[start..end]` stands as a word: each end at a word
/// boundary ([`boundary`]).
pub(crate) fn is_whole_word(text: &[u8], start: usize, end: usize) -> bool {
    boundary(text, start) && boundary(text, end)
}

/// True when a word of `text` may begin or end before `text[at]`: at either
/// end of `text`, next to a byte that is neither a letter nor a digit, or at
/// a camel-case hump, a capital after a small letter or digit (`user|Phone`,
/// `ipv4|Address`) or the last capital of an acronym before a capitalised
/// word (`IP|Address`). Capitals in a row (`TELEMETRY`) and a small letter
/// after a capital (`Te|l`) are no boundary.
pub(crate) fn boundary(text: &[u8], at: usize) -> bool {
    let (Some(&a), Some(&b)) = (at.checked_sub(1).and_then(|i| text.get(i)), text.get(at)) else {
        return true;
    };
    if !a.is_ascii_alphanumeric() || !b.is_ascii_alphanumeric() {
        return true;
    }
    b.is_ascii_uppercase()
        && (a.is_ascii_lowercase()
            || a.is_ascii_digit()
            || (a.is_ascii_uppercase() && text.get(at + 1).is_some_and(u8::is_ascii_lowercase)))
}

/// Positions of `word` in `haystack`. Haystacks and words here are short
/// (a context window, a placeholder), where a first-byte scan beats building
/// a substring searcher on every call.
fn find_all_short<'a>(haystack: &'a [u8], word: &'a [u8]) -> impl Iterator<Item = usize> + 'a {
    let first = word.first().copied();
    first
        .into_iter()
        .flat_map(move |b| memchr::memchr_iter(b, haystack))
        .filter(move |&i| haystack[i..].starts_with(word))
}

fn find_short(haystack: &[u8], word: &[u8]) -> Option<usize> {
    find_all_short(haystack, word).next()
}

fn lower_into(bytes: &[u8], out: &mut Vec<u8>) {
    out.clear();
    out.extend(bytes.iter().map(u8::to_ascii_lowercase));
}

/// Shannon entropy of `bytes` in bits per byte.
pub fn shannon_entropy(bytes: &[u8]) -> f32 {
    if bytes.is_empty() {
        return 0.0;
    }
    let mut counts = [0u32; 256];
    for &b in bytes {
        counts[usize::from(b)] += 1;
    }
    let n = bytes.len() as f32;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = c as f32 / n;
            -p * p.log2()
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The span of the first `value` in `text`.
    fn span_of(text: &[u8], value: &[u8]) -> Range<usize> {
        let start = text
            .windows(value.len())
            .position(|w| w == value)
            .unwrap_or_else(|| panic!("{value:?} is not in the text"));
        start..start + value.len()
    }

    #[test]
    fn a_number_among_numbers_that_fail_its_check_is_a_table_entry() {
        let card = Validator::CreditCard;
        let table = b"    2331762317128173,\n    2489682092917849,\n    2552895497743395,\n";
        // The middle one passes Luhn; its neighbours do not.
        let span = 26..42;
        assert_eq!(&table[span.clone()], b"2489682092917849");
        assert!(card.check(&table[span.clone()]));
        assert!(in_table_of_numbers(table, &span, card));
        let list = b"4539148803436467\n5425233430109903\n4716273591846019\n";
        assert!(
            !in_table_of_numbers(list, &(17..33), card),
            "a list of cards"
        );
        let logs = b"1700000000123 card 4539148803436467\n1700000000456 done\n";
        assert!(
            !in_table_of_numbers(logs, &(19..35), card),
            "millisecond timestamps"
        );
        let tokens = b"xoxb-397353947631-0531579126890-S3Y6\npaid 4539148803436467\nxoxb-781420469053-9874952386511-yjL6\n";
        assert!(
            !in_table_of_numbers(tokens, &(42..58), card),
            "the digits of tokens"
        );
        let negative = b"-2331762317128173,\n-2489682092917849,\n-2552895497743395,\n";
        assert!(
            in_table_of_numbers(negative, &(20..36), card),
            "negative limbs"
        );
        let floats = b"[0.7351942166483105,\n 4916291417776317,\n 0.9063138751249183]\n";
        assert!(
            in_table_of_numbers(floats, &(22..38), card),
            "a list of floats' digits"
        );
        let labelled = b"    2331762317128173,\ncc=2489682092917849\n    2552895497743395,\n";
        assert!(
            !in_table_of_numbers(labelled, &(25..41), card),
            "a labelled number is no list element"
        );
        let record = b"1148230183750426624,+447913174271,4539148803436467\n1157480124567213056,+447911123456,4716273591846019\n";
        assert!(
            !in_table_of_numbers(record, &(34..50), card),
            "ids and phone numbers of other lengths"
        );
        let row = b"4539148803436467,+447911123456,Maria\n";
        assert!(
            !in_table_of_numbers(row, &(0..16), card),
            "one other number"
        );
    }

    #[test]
    fn message_ids_are_found_in_their_fields_and_folded_lines_only() {
        let header = b"Message-ID: <CAHk7z=Qx3@mail.example.net>\r\nReferences: <1.2@a.example.org>\r\n <20261120.4411@mx1.example.org>\r\nFrom: Ana <ana@example.org>\r\nTo: <chen@example.org>\r\n\r\n <bob@example.org>\n";
        let at = |value: &[u8]| span_of(header, value);
        assert!(is_message_id(header, &at(b"Qx3@mail.example.net")));
        assert!(is_message_id(header, &at(b"1.2@a.example.org")));
        assert!(
            is_message_id(header, &at(b"20261120.4411@mx1.example.org")),
            "folded"
        );
        assert!(!is_message_id(header, &at(b"ana@example.org")), "From");
        assert!(!is_message_id(header, &at(b"chen@example.org")), "To");
        assert!(!is_message_id(header, &at(b"bob@example.org")), "the body");
        assert!(
            !is_message_id(b"Message-ID: x@example.org", &(12..25)),
            "no brackets"
        );
    }

    #[test]
    fn a_network_has_no_host_bits_past_its_prefix() {
        assert!(is_network(b"10.0.0.0", b"/8,"));
        assert!(is_network(b"52.94.0.0", b"/22\""));
        assert!(is_network(b"192.168.4.0", b"/24"));
        assert!(is_network(b"2001:db8::", b"/32"));
        assert!(is_network(b"fd00::", b"/8 "));
        assert!(!is_network(b"10.0.1.55", b"/24"), "an interface address");
        assert!(is_network(b"192.168.4.0", b"/23"));
        assert!(!is_network(b"192.168.5.0", b"/23"), "a host bit past a /23");
        assert!(!is_network(b"10.0.0.0", b"/32"), "one host");
        assert!(!is_network(b"10.0.0.0", b""), "no prefix");
        assert!(!is_network(b"10.0.0.0", b"/8a"));
        assert!(!is_network(b"10.0.0.0", b"/1234"));
        assert!(!is_network(b"2001:db8::1", b"/64"));
        assert!(is_network(b"0.0.0.0", b"/0"));
        assert!(is_network(b"::", b"/0"));
        assert!(!is_network(b"8000::", b"/0"));
    }

    #[test]
    fn a_short_placeholder_word_near_a_value_starts_a_word() {
        let nearby = &PLACEHOLDERS.nearby;
        assert!(written_as_word(nearby, b"test login from"));
        assert!(written_as_word(nearby, b"a_test_user"));
        assert!(written_as_word(nearby, b"myTestServer"));
        assert!(written_as_word(nearby, b"TEST:"));
        assert!(written_as_word(nearby, b"for example"));
        assert!(
            written_as_word(nearby, b"counterexample"),
            "a long word anywhere"
        );
        assert!(!written_as_word(nearby, b"latest login from"));
        assert!(!written_as_word(nearby, b"the fastest route"));
        assert!(!written_as_word(nearby, b"LATEST"));
        assert!(!written_as_word(nearby, b"contest winner"));
    }

    #[test]
    fn a_quad_among_decimals_is_path_data() {
        let at = |text: &[u8], value: &[u8]| in_list_of_decimals(text, &span_of(text, value));
        assert!(at(b"-.88.87-1.32,1.32.53.22,1.08.66", b"1.32.53.22"));
        assert!(at(b"2.34-2.54,1.4.49.12-1.52,0,.05", b"1.4.49.12"));
        assert!(at(b"l2.64-.18 1.75.67.38-.06h1.59", b"1.75.67.38"));
        assert!(!at(b"allow 85.10.196.1-85.10.196.254", b"85.10.196.1"));
        assert!(!at(b"allow 85.10.196.1-85.10.196.254", b"85.10.196.254"));
        assert!(!at(b"[\"10.0.0.1\", \"10.0.0.2\"]", b"10.0.0.2"));
        assert!(!at(b"10.0.0.1,10.0.0.2", b"10.0.0.1"));
        assert!(!at(b"from 81.2.69.77 port 52144", b"81.2.69.77"));
        assert!(!at(b"version 2 81.2.69.77", b"81.2.69.77"), "no dot");
        assert!(!at(b"v1.2.3 81.2.69.77", b"81.2.69.77"), "two dots");
    }

    #[test]
    fn object_identifiers_of_busy_arcs() {
        assert!(object_identifier(b"2.5.4.38"));
        assert!(object_identifier(b"2.5.29.37"));
        assert!(object_identifier(b"1.3.101.112"));
        assert!(object_identifier(b"1.3.6.1"));
        assert!(!object_identifier(b"2.5.41.74"));
        assert!(!object_identifier(b"1.3.6.10"));
        assert!(!object_identifier(b"81.2.69.77"));
    }

    #[test]
    fn a_section_number_opens_its_comment_line() {
        let at = |text: &[u8], value: &[u8]| opens_comment(text, &span_of(text, value));
        assert!(at(b"x\n        // 17.6.5.12 tells us", b"17.6.5.12"));
        assert!(at(b" * 5.3.1.3 SCTP_REMOTE_ERROR", b"5.3.1.3"));
        assert!(at(b"# 8.1.2.3", b"8.1.2.3"));
        assert!(!at(b"nameserver 8.8.8.8", b"8.8.8.8"));
        assert!(!at(b"8.8.8.8 # dns", b"8.8.8.8"));
        assert!(!at(b"// from 2.31.14.9 port 22", b"2.31.14.9"));
    }

    #[test]
    fn entropy_of_known_strings() {
        assert_eq!(shannon_entropy(b"aaaa"), 0.0);
        assert!((shannon_entropy(b"abcd") - 2.0).abs() < 1e-6);
        assert!(shannon_entropy(b"wJalrXUtnFEMI/K7MDENG/bPxRfiCYzq8Hd3Kp2E") > 4.0);
    }

    #[test]
    fn a_context_word_lies_whole_in_the_window_and_stands_alone_in_the_text() {
        let text = b"xtel 1234 tel";
        assert!(
            !contains_word_within(text, 1..9, b"tel"),
            "glued to the x before the window"
        );
        assert!(contains_word_within(text, 1..13, b"tel"), "the second one");
        assert!(
            !contains_word_within(text, 1..12, b"tel"),
            "cut by the window's end"
        );
        assert!(contains_word_within(b"tel 1", 0..5, b"tel"));
        assert!(contains_word(b"phoneNumber", b"phone"));
        assert!(contains_word(b"mobilePhone", b"phone"));
        assert!(contains_word(b"ipv4Address", b"address"));
        assert!(contains_word(b"IPAddress", b"ip"));
        assert!(contains_word(b"IPAddress", b"address"));
        assert!(!contains_word(b"PHONEBOOK", b"phone"));
        assert!(!contains_word(b"Telnet", b"tel"));
        assert!(!contains_word(b"sinh2", b"sin"));
    }

    #[test]
    fn context_words_count_on_the_line_and_above_a_value_that_leads_its_line() {
        fn region<'a>(text: &'a str, value: &str) -> &'a str {
            let span = span_of(text.as_bytes(), value.as_bytes());
            &text[context_region(text.as_bytes(), &span, 64)]
        }
        let other = "tel (389) 311-0094\nbuild 227 555 9533\nmobile: +447911123456";
        assert_eq!(region(other, "227 555 9533"), "build 227 555 9533");
        let below = "Phone:\n  227 555 9533 (home)\nmobile: +447911123456";
        assert_eq!(
            region(below, "227 555 9533"),
            "Phone:\n  227 555 9533 (home)"
        );
        let cell = "patient,nhs_no\nAdeyemi,071-620-2182";
        assert_eq!(region(cell, "071-620-2182"), cell);
        let pair = "{\"name\": \"macAddress\",\n \"value\": \"0e:3d:5a:71:c8:94\"}";
        assert_eq!(region(pair, "0e:3d"), pair);
        let key = "{\"name\": \"macAddress\",\n \"mtu\": \"9001\", \"id\": 17}";
        assert_eq!(region(key, "9001"), " \"mtu\": \"9001\", \"id\": 17}");
    }
}
