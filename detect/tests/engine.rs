//! The engine through its public interface.

use shoal_detect::{Detection, Engine, EngineOptions, RuleSet};

fn engine(block_size: usize) -> Engine {
    Engine::new(
        &RuleSet::builtin().unwrap(),
        EngineOptions {
            block_size,
            ..EngineOptions::default()
        },
    )
    .unwrap()
}

#[test]
fn finds_a_card_with_line_and_column() {
    let e = engine(1 << 20);
    let text = b"id,name,card\n1,Ana,4539 1488 0343 6467\n";
    let mut out = Vec::new();
    e.scanner().scan_slice(text, None, &mut out);
    assert_eq!(out.len(), 1, "{out:?}");
    let d = &out[0];
    assert_eq!(e.rule(d.rule).entity, "CREDIT_CARD");
    assert_eq!(
        &text[d.start as usize..d.end as usize],
        b"4539 1488 0343 6467"
    );
    assert_eq!((d.line, d.column), (2, 7));
}

/// A reader that hands out the data in small, uneven pieces.
struct Chunky<'a> {
    data: &'a [u8],
    pos: usize,
    step: usize,
}

impl std::io::Read for Chunky<'_> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        self.step = (self.step * 7 + 3) % 997 + 1;
        let n = self.step.min(out.len()).min(self.data.len() - self.pos);
        out[..n].copy_from_slice(&self.data[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// Values planted so that some straddle every block boundary.
fn record_with_values_across_boundaries(block: usize, blocks: usize) -> (Vec<u8>, usize) {
    let values = [
        "AKIAZ3MHTJQ5F4GKRW7E",
        "card 4539 1488 0343 6467",
        "maria.kovacs@brightline-logistics.hu",
        "postgres://billing:Vq8r-Kp2mZ7x@db-prod.internal:5432/billing",
    ];
    let mut data = Vec::new();
    let mut planted = 0;
    for b in 1..blocks {
        for (k, v) in values.iter().enumerate() {
            // Start the value so that it crosses the boundary at a different
            // point each time (k bytes in, then half-way, then at its end).
            let boundary = b * block;
            let offset = match k % 3 {
                0 => 1,
                1 => v.len() / 2,
                _ => v.len() - 1,
            };
            let start = boundary - offset + k * 97 % 13;
            while data.len() < start.saturating_sub(1) {
                data.extend_from_slice(
                    b"lorem ipsum dolor sit amet\n"[..(start - 1 - data.len()).min(27)].as_ref(),
                );
            }
            data.push(b' ');
            data.extend_from_slice(v.as_bytes());
            data.push(b'\n');
            planted += 1;
        }
    }
    (data, planted)
}

#[test]
fn matches_across_block_boundaries_are_reported_exactly_once() {
    let block = shoal_detect::engine::MAX_MATCH_LEN;
    let (data, planted) = record_with_values_across_boundaries(block, 12);
    let whole = engine(64 << 20);
    let mut expected = Vec::new();
    whole.scanner().scan_slice(&data, None, &mut expected);
    assert_eq!(expected.len(), planted, "one finding per planted value");

    let small = engine(block);
    let mut sliced = Vec::new();
    small.scanner().scan_slice(&data, None, &mut sliced);
    let mut streamed = Vec::new();
    let read = small
        .scanner()
        .scan_reader(
            Chunky {
                data: &data,
                pos: 0,
                step: 1,
            },
            None,
            &mut streamed,
        )
        .unwrap();
    assert_eq!(read, data.len() as u64);
    let key =
        |d: &shoal_detect::Detection| (d.rule, d.start, d.end, d.line, d.column, d.value.clone());
    let expected: Vec<_> = expected.iter().map(key).collect();
    assert_eq!(sliced.iter().map(key).collect::<Vec<_>>(), expected);
    assert_eq!(streamed.iter().map(key).collect::<Vec<_>>(), expected);
}

#[test]
fn line_and_column_survive_blocks() {
    let block = shoal_detect::engine::MAX_MATCH_LEN;
    let mut data = Vec::new();
    for i in 0..5000 {
        data.extend_from_slice(format!("line {i} nothing here\n").as_bytes());
    }
    data.extend_from_slice(b"    key AKIAZ3MHTJQ5F4GKRW7E\n");
    let e = engine(block);
    let mut out = Vec::new();
    e.scanner().scan_reader(&data[..], None, &mut out).unwrap();
    assert_eq!(out.len(), 1);
    assert_eq!((out[0].line, out[0].column), (5001, 9));
}

#[test]
fn context_from_outside_raises_confidence() {
    // A bare nine-digit number: a US SSN only when the column says so.
    let e = engine(1 << 20);
    let mut out = Vec::new();
    e.scanner().scan_slice(b"536228790", None, &mut out);
    assert!(out.is_empty(), "{out:?}");
    e.scanner()
        .scan_slice(b"536228790", Some("employee_ssn"), &mut out);
    assert_eq!(out.len(), 1, "{out:?}");
    assert_eq!(e.rule(out[0].rule).entity, "US_SSN");
    // Camel-case column names, as ORMs write them: `phone` is a word of
    // `customerPhone`, not of `telephonebook`.
    out.clear();
    e.scanner()
        .scan_slice(b"(415) 872-0143", Some("customerPhone"), &mut out);
    assert_eq!(out.len(), 1, "{out:?}");
    assert_eq!(e.rule(out[0].rule).entity, "PHONE");
    out.clear();
    e.scanner()
        .scan_slice(b"(415) 872-0143", Some("buildNumber"), &mut out);
    assert!(out.is_empty(), "{out:?}");
}

#[test]
fn detection_debug_never_shows_the_value() {
    let e = engine(1 << 20);
    let mut out = Vec::new();
    e.scanner()
        .scan_slice(b"AKIAZ3MHTJQ5F4GKRW7E", None, &mut out);
    let text = format!("{out:?}");
    assert!(!text.contains("AKIAZ3MHTJQ5F4GKRW7E"), "{text}");
    assert!(text.contains("redacted"));
}

/// A secret that replaces an earlier, less confident one it starts inside
/// (a GitHub token inside a URL with credentials) used to leave the
/// detections out of start order when PII sat between the two starts, and
/// the line/column pass then sliced backwards and panicked.
#[test]
fn regression_replaced_secret_before_earlier_pii_does_not_panic() {
    let token = shoal_detect::validate::checksummed_token("ghp_R4nd0mT0k3nV4lu3F0rCh3ck1ngOkX");
    let text = format!("https://536-22-8790:{token}@github.com/org/repo\n");
    let e = engine(1 << 20);
    let mut out = Vec::new();
    e.scanner().scan_slice(text.as_bytes(), None, &mut out);
    let entities: Vec<&str> = out.iter().map(|d| e.rule(d.rule).entity.as_str()).collect();
    assert!(entities.contains(&"GITHUB_TOKEN"), "{entities:?}");
    assert!(
        out.windows(2).all(|w| w[0].start <= w[1].start),
        "detections in start order"
    );
}

/// Values one byte apart: the byte that ends one match's pattern (a comma
/// after an address) also begins the next one's, so each value is found.
#[test]
fn values_one_separator_apart_are_each_found() {
    let e = engine(1 << 20);
    for (text, entity, want) in [
        (
            &b"hosts = 81.2.69.77,81.2.69.78,81.2.69.79"[..],
            "IP_ADDRESS",
            3,
        ),
        (b"phones: +4930901820,+4930901821", "PHONE", 2),
        (
            b"cards 4539 1488 0343 6467;4539148803436467",
            "CREDIT_CARD",
            2,
        ),
    ] {
        let mut out = Vec::new();
        e.scanner().scan_slice(text, None, &mut out);
        let found = out
            .iter()
            .filter(|d| e.rule(d.rule).entity == entity)
            .count();
        assert_eq!(found, want, "{}: {out:?}", String::from_utf8_lossy(text));
    }
}

#[test]
fn the_anchor_literals_time_alone_as_the_engine_searches_them() {
    let e = engine(1 << 20);
    let anchors = e.anchor_literals();
    assert!(anchors.contains(&(b"ghp_".to_vec(), false)), "exact case");
    assert!(anchors.contains(&(b"password".to_vec(), true)), "any case");
    // Part of the anchors, searched on their own as the benchmark does.
    let labels: Vec<_> = anchors.iter().filter(|(_, any)| *any).cloned().collect();
    let mut search = shoal_detect::LiteralSearch::new(&labels).unwrap();
    assert_eq!(search.count(b"PASSWORD=x ghp_x Password").unwrap(), 2);
    let mut prefixes = shoal_detect::LiteralSearch::new(&[(b"ghp_".to_vec(), false)]).unwrap();
    assert_eq!(prefixes.count(b"GHP_ ghp_ Ghp_").unwrap(), 1);
}

/// A Sentry DSN's key is the URL's user: it used to be reported as an
/// e-mail address (`<key>@o123456.ingest.sentry.io`).
#[test]
fn a_sentry_dsn_is_a_secret_not_an_email_address() {
    let e = engine(1 << 20);
    let mut out = Vec::new();
    e.scanner().scan_slice(
        b"SENTRY_DSN=https://a4c123b1612dd272d1371c17149d4395@o123456.ingest.sentry.io/7654321\n",
        None,
        &mut out,
    );
    let entities: Vec<&str> = out.iter().map(|d| e.rule(d.rule).entity.as_str()).collect();
    assert_eq!(entities, ["SENTRY_DSN"]);
}

/// A short placeholder word counts as a person writes it, not as random
/// characters happen to spell it: a key whose base64 holds `xxXx` or
/// `fAkE` is a key (one in some hundred real RSA keys holds one of the
/// placeholder words in some mix of cases), while a body of `x` and a
/// value that says `EXAMPLE` stay placeholders.
#[test]
fn placeholder_words_count_in_the_case_people_write_them() {
    let e = engine(1 << 20);
    let found = |text: &str| {
        let mut out = Vec::new();
        e.scanner().scan_slice(text.as_bytes(), None, &mut out);
        out.iter()
            .map(|d| e.rule(d.rule).entity.clone())
            .collect::<Vec<_>>()
    };
    let key = |line: &str| {
        format!(
            "-----BEGIN RSA PRIVATE KEY-----\n{line}\n\
             EVwWrYv5VwTGHQQkXowURRnhAyaaBgroV3u7YizTEsCJ5EStTKto3Qy4jWY6dTEo\n\
             ot8m1NsSHRqi9sooo4gaw6Upp8h0gDiHXQ+9Up/li7SRenMXYj0PRJvxiTKcuGRa\n\
             -----END RSA PRIVATE KEY-----\n"
        )
    };
    for line in [
        "1xxXxMZqC9jEZ5Ln1bAOTYueq4iqJrqiGaWZGt15BNJ5j3yECz7z68T60x/db3S9",
        "1fAkEMZqC9jEZ5Ln1bAOTYueq4iqJrqiGaWZGt15BNJ5j3yECz7z68T60x/db3S9",
    ] {
        assert_eq!(found(&key(line)), ["PRIVATE_KEY"], "{line}");
    }
    for line in [
        "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
        "1FAKEMZqC9jEZ5Ln1bAOTYueq4iqJrqiGaWZGt15BNJ5j3yECz7z68T60x/db3S9",
    ] {
        assert!(found(&key(line)).is_empty(), "{line}");
    }
    // A word of six letters or more counts in any case: people write
    // `PassWord` and `ChangeMe` in camel case.
    assert!(found(r#""LocalConsolePassword": "PassWordMustBeAtLeast6Chars.""#).is_empty());
}

/// (entity, text of the span) of each detection in `text`, in order.
fn entities_and_values<'a>(e: &'a Engine, text: &'a [u8]) -> Vec<(&'a str, &'a str)> {
    let mut out = Vec::new();
    e.scanner().scan_slice(text, None, &mut out);
    out.iter()
        .map(|d| {
            (
                e.rule(d.rule).entity.as_str(),
                std::str::from_utf8(&text[d.start as usize..d.end as usize]).unwrap(),
            )
        })
        .collect()
}

#[test]
fn a_saved_message_gives_its_people_by_their_header_names_and_addresses() {
    let e = engine(1 << 20);
    let text = b"Return-Path: <billing@northwind-freight.example>\r\n\
From: Ingrid Halvorsen <ingrid.halvorsen@fjordline.no>\r\n\
To: \"Okafor, Chidi\" <c.okafor@lagos-clinic.ng>\r\n\
Cc: Amazon Web Services <no-reply-aws@amazon.com>\r\n\
Subject: From: Maria Kovacs <maria.kovacs@brightline.hu>\r\n\
\r\n\
Dear Chidi,\r\n\
please find the scan attached. Mrs Halvorsen will call on Monday.\r\n";
    let found = entities_and_values(&e, text);
    let people: Vec<&str> = found
        .iter()
        .filter(|(entity, _)| *entity == "PERSON")
        .map(|&(_, value)| value)
        .collect();
    // The display names of From and To, the salutation's name and the
    // titled one; not the company in Cc, nor a header quoted in the subject.
    assert_eq!(
        people,
        ["Ingrid Halvorsen", "Okafor, Chidi", "Chidi", "Halvorsen"],
        "{found:?}"
    );
    // Every address but the Return-Path's, whose `.example` domain is
    // reserved for examples.
    let addresses = found
        .iter()
        .filter(|(entity, _)| *entity == "EMAIL")
        .count();
    assert_eq!(addresses, 4, "{found:?}");
}

#[test]
fn stripe_data_outranks_the_card_number_it_holds() {
    let e = engine(1 << 20);
    let text =
        b"swipe %B4941604869203854^OKAFOR/CHIDI M^2708101000000?;4941604869203854=2708101000000?\n\
chip 4284902156199222D29032011234567890F\n\
card 4666266479443578\n";
    let found = entities_and_values(&e, text);
    // Each track's number once, as track data; a bare number stays a card.
    assert_eq!(
        found,
        [
            ("CARD_TRACK_DATA", "4941604869203854"),
            ("CARD_TRACK_DATA", "4941604869203854"),
            ("CARD_TRACK_DATA", "4284902156199222"),
            ("CREDIT_CARD", "4666266479443578"),
        ]
    );
}

/// A CSV export: the header names each column once, at the top, and every
/// cell below gets its column's name as context, in every block of a
/// record read block by block.
#[test]
fn a_tables_column_names_are_context_for_every_row() {
    let mut csv = String::from("id,order_id,ssn,phone,dob,created_at\n");
    // Many rows, so that the last ones lie blocks past the header.
    for i in 0..3000 {
        csv.push_str(&format!("{i},481{i:06},,,,2024-01-05\n"));
    }
    csv.push_str("9001,481000001,536228790,4158720143,03/12/1990,2024-01-05\n");
    csv.push_str("9002,223546718,,,,1990-03-12\n");
    let e = engine(16 * 1024);
    let mut out = Vec::new();
    e.scanner()
        .scan_reader(csv.as_bytes(), None, &mut out)
        .unwrap();
    let found: Vec<(&str, &[u8])> = out
        .iter()
        .map(|d| (e.rule(d.rule).entity.as_str(), d.value.as_slice()))
        .collect();
    assert!(csv.len() > 4 * 16 * 1024, "the rows span several blocks");
    assert!(found.contains(&("US_SSN", &b"536228790"[..])), "{found:?}");
    assert!(found.contains(&("PHONE", &b"4158720143"[..])), "{found:?}");
    assert!(
        found.contains(&("DATE_OF_BIRTH", &b"03/12/1990"[..])),
        "{found:?}"
    );
    // The same shapes in other columns are no such values.
    assert!(
        !found
            .iter()
            .any(|(_, v)| *v == b"223546718" || *v == b"1990-03-12"),
        "an order id is no SSN, a creation date no birth date: {found:?}"
    );
    assert_eq!(found.len(), 3, "{found:?}");

    // Without the header line, the same row holds none of them.
    let body = csv.split_once('\n').map(|(_, b)| b).unwrap_or_default();
    out.clear();
    e.scanner()
        .scan_reader(body.as_bytes(), None, &mut out)
        .unwrap();
    assert!(out.is_empty(), "{out:?}");
}

#[test]
fn names_are_found_only_as_whole_values_of_name_columns_and_fields() {
    // Every row a name, so that the rows cross every block boundary: each
    // name is found once, whole, with its span.
    let mut csv = String::from("id,first_name,last_name,city,notes\n");
    let names = ["Margarethe", "Tobias", "Priya", "Chidi"];
    let rows = 4000;
    for i in 0..rows {
        let first = names[i % names.len()];
        csv.push_str(&format!(
            "{i},{first},\"van der Berg\",Leeds,\"Harbour, Leeds\"\n"
        ));
    }
    csv.push_str("4001,null,Test,Springfield,\n");
    let e = engine(16 * 1024);
    let mut out = Vec::new();
    e.scanner()
        .scan_reader(csv.as_bytes(), None, &mut out)
        .unwrap();
    assert!(csv.len() > 8 * 16 * 1024, "the rows span many blocks");
    let persons: Vec<&Detection> = out
        .iter()
        .filter(|d| e.rule(d.rule).entity == "PERSON")
        .collect();
    assert_eq!(persons.len(), 2 * rows, "one per name cell");
    for d in &persons {
        let value = &csv.as_bytes()[d.start as usize..d.end as usize];
        assert_eq!(value, d.value.as_slice());
        assert!(
            names.iter().any(|n| n.as_bytes() == value) || value == b"van der Berg",
            "{:?}",
            String::from_utf8_lossy(value)
        );
    }
    assert!(
        out.iter().all(|d| e.rule(d.rule).entity == "PERSON"),
        "a city or a note is no name: {out:?}"
    );

    // A value passed with its field's name (a database column, a JSON
    // key): the whole value, and only under a name field.
    let mut scanner = e.scanner();
    let mut found = |value: &[u8], field: Option<&str>| {
        let mut out = Vec::new();
        scanner.scan_slice(value, field, &mut out);
        out.iter()
            .filter(|d| e.rule(d.rule).entity == "PERSON")
            .map(|d| d.value.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        found(b" Oyelaran ", Some("customer_last_name")),
        [b"Oyelaran"]
    );
    assert_eq!(found(b"Oyelaran", Some("lastName")), [b"Oyelaran"]);
    assert_eq!(found(b"Maria Kovacs", Some("name")), [b"Maria Kovacs"]);
    assert!(found(b"Oyelaran", None).is_empty(), "no field");
    assert!(found(b"Oyelaran", Some("city")).is_empty(), "another field");
    assert!(
        found(b"Oyelaran lives here", Some("last_name")).is_empty(),
        "a sentence is no name"
    );
    assert!(
        found(b"Widget Pro", Some("name")).is_empty(),
        "a bare name field needs a given name first"
    );
}

#[test]
fn labelled_names_are_found_whole_with_letters_outside_ascii() {
    let e = engine(64 * 1024);
    let cases: [(&str, &[&str]); 9] = [
        (
            r#"{"first_name": "Siobhán", "last_name": "O'Neill"}"#,
            &["Siobhán", "O'Neill"],
        ),
        (r#"{"surname": "McDonald"}"#, &["McDonald"]),
        ("last_name: OKAFOR", &["OKAFOR"]),
        (r#"family_name = "van der Berg""#, &["van der Berg"]),
        (
            r#"{"fullName": "Chidi Okafor-Nwosu"}"#,
            &["Chidi Okafor-Nwosu"],
        ),
        ("patient_name: DE LA CRUZ, MARIA", &["DE LA CRUZ, MARIA"]),
        (r#""lastName": "Nguyễn""#, &["Nguyễn"]),
        (
            "Nachname: Weißmüller\nVorname: Jürgen",
            &["Weißmüller", "Jürgen"],
        ),
        ("<LastName>Ó Súilleabháin</LastName>", &["Ó Súilleabháin"]),
    ];
    for (text, want) in cases {
        let mut out = Vec::new();
        e.scanner().scan_slice(text.as_bytes(), None, &mut out);
        let got: Vec<String> = out
            .iter()
            .filter(|d| e.rule(d.rule).entity == "PERSON")
            .map(|d| String::from_utf8_lossy(&d.value).into_owned())
            .collect();
        assert_eq!(got, want, "{text}");
    }
}

#[test]
fn rows_whose_quoted_cells_hold_line_breaks_keep_their_columns_across_blocks() {
    // Every row's address spans three lines, so rows cross every block
    // boundary at every point of their shape.
    let mut csv = String::from("id,last_name,address,ssn,order_id\n");
    let rows = 3000;
    for i in 0..rows {
        csv.push_str(&format!(
            "{i},Okafor,\"Flat {}, 12 Harbour Road\nLeeds\nLS1 4AP\",536228790,481{i:06}\n",
            i % 9 + 1
        ));
    }
    let e = engine(16 * 1024);
    let mut out = Vec::new();
    e.scanner()
        .scan_reader(csv.as_bytes(), None, &mut out)
        .unwrap();
    let count = |entity: &str| {
        out.iter()
            .filter(|d| e.rule(d.rule).entity == entity)
            .count()
    };
    assert!(csv.len() > 8 * 16 * 1024, "the rows span many blocks");
    assert_eq!(count("PERSON"), rows, "one name per row");
    assert_eq!(count("US_SSN"), rows, "one SSN per row, by its column");
    assert_eq!(count("ADDRESS"), rows, "one street per row");
    assert_eq!(out.len(), 3 * rows, "nothing else");
    assert!(
        out.iter()
            .filter(|d| e.rule(d.rule).entity == "US_SSN")
            .all(|d| d.value == b"536228790"),
        "an order id is no SSN"
    );
    let mut whole = Vec::new();
    e.scanner().scan_slice(csv.as_bytes(), None, &mut whole);
    assert_eq!(whole, out, "streamed and whole agree");
}

/// Checks the findings of a dump or an export: two names and one SSN per
/// row, by their columns, nothing else; streamed in 16 KiB blocks and whole
/// alike.
fn check_dump(dump: &str, rows: usize) {
    let e = engine(16 * 1024);
    let mut out = Vec::new();
    e.scanner()
        .scan_reader(dump.as_bytes(), None, &mut out)
        .unwrap();
    let values = |entity: &str| {
        out.iter()
            .filter(|d| e.rule(d.rule).entity == entity)
            .map(|d| String::from_utf8_lossy(&d.value).into_owned())
            .collect::<Vec<_>>()
    };
    assert!(dump.len() > 8 * 16 * 1024, "the rows span many blocks");
    let people = values("PERSON");
    assert_eq!(people.len(), 2 * rows, "two names per row");
    assert!(
        people.iter().all(|p| p == "Margarethe" || p == "Okafor"),
        "only the name columns' cells: {:?}",
        people.iter().find(|p| *p != "Margarethe" && *p != "Okafor")
    );
    let ssns = values("US_SSN");
    assert_eq!(ssns.len(), rows, "one SSN per row, by its column");
    assert!(
        ssns.iter().all(|s| s == "536228790"),
        "a reference or a note is no SSN"
    );
    assert_eq!(out.len(), 3 * rows, "nothing else");
    let mut whole = Vec::new();
    e.scanner().scan_slice(dump.as_bytes(), None, &mut whole);
    assert_eq!(whole, out, "streamed and whole agree");
}

#[test]
fn a_pg_dump_gives_its_copy_rows_their_columns_across_blocks() {
    let rows = 3000;
    let mut dump = String::from(
        "--\n-- PostgreSQL database dump\n--\n\nSET client_encoding = 'UTF8';\n\n\
         CREATE TABLE public.customers (\n    id integer NOT NULL,\n    first_name text,\n    \
         last_name text,\n    ssn text,\n    notes text\n);\n\n\
         COPY public.customers (id, first_name, last_name, ssn, notes) FROM stdin;\n",
    );
    for i in 0..rows {
        // Some notes are long, so rows cross block boundaries at every
        // point of their shape; a note holds an SSN-shaped reference.
        let note = "call back after 5, ref 481226790 ".repeat(i % 7);
        dump.push_str(&format!("{i}\tMargarethe\tOkafor\t536228790\t{note}\\N\n"));
    }
    dump.push_str("\\.\n\nCOPY public.orders (id, warehouse, reference) FROM stdin;\n");
    for i in 0..rows {
        dump.push_str(&format!("{i}\tHenrik\t4812{i:05}\n"));
    }
    dump.push_str("\\.\n\n-- The rows' names after the last `\\.` are text again:\nHenrik Lindqvist 481226790\n");
    check_dump(&dump, rows);
}

#[test]
fn a_mysqldump_gives_its_insert_rows_the_columns_of_their_create_table() {
    let rows = 3000;
    let mut dump = String::from(
        "-- MySQL dump 10.13  Distrib 8.0.36, for Linux (x86_64)\n\
         /*!40101 SET NAMES utf8mb4 */;\nDROP TABLE IF EXISTS `customers`;\n\
         CREATE TABLE `customers` (\n  `id` int NOT NULL AUTO_INCREMENT,\n  \
         `first_name` varchar(64) DEFAULT NULL,\n  `last_name` varchar(64) DEFAULT NULL,\n  \
         `notes` text,\n  `ssn` char(9) DEFAULT NULL,\n  PRIMARY KEY (`id`),\n  \
         KEY `idx_last` (`last_name`)\n) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;\n\n\
         LOCK TABLES `customers` WRITE;\n",
    );
    // Extended inserts: long lines of many rows each, with quotes,
    // escaped quotes, commas and parentheses inside the strings.
    for chunk in 0..rows / 500 {
        dump.push_str("INSERT INTO `customers` VALUES ");
        for i in 0..500 {
            let id = chunk * 500 + i;
            let note = "said \\'hi\\', (twice), ''ref'' 481226790 ".repeat(id % 5);
            if i > 0 {
                dump.push(',');
            }
            dump.push_str(&format!(
                "({id},'Margarethe','Okafor','{note}','536228790')"
            ));
        }
        dump.push_str(";\n");
    }
    dump.push_str(
        "UNLOCK TABLES;\nINSERT INTO `orders` (`id`, `reference`) VALUES (1,'481226790');\n",
    );
    check_dump(&dump, rows);
}

#[test]
fn a_dynamodb_export_gives_its_values_their_keys_across_blocks() {
    // DynamoDB's export format: one item per line, each value under its
    // type (`{"S": ...}`), keys in no fixed order.
    let rows = 3000;
    let mut export = String::new();
    for i in 0..rows {
        let note = "call back after 5, ref 481226790 ".repeat(i % 7);
        let (a, b) = (
            r#""first_name":{"S":"Margarethe"}"#,
            r#""last_name":{"S":"Okafor"}"#,
        );
        let (a, b) = if i % 2 == 0 { (a, b) } else { (b, a) };
        export.push_str(&format!(
            r#"{{"Item":{{"id":{{"N":"{i}"}},{a},"notes":{{"S":"{note}"}},{b},"tags":{{"L":[{{"S":"Henrik"}}]}},"ssn":{{"S":"536228790"}}}}}}"#
        ));
        export.push('\n');
    }
    check_dump(&export, rows);
}

#[test]
fn findings_name_the_column_or_key_they_sit_under_when_a_rule_names_it() {
    let e = engine(1 << 20);
    let fields = |text: &str| {
        let mut out = Vec::new();
        e.scanner().scan_slice(text.as_bytes(), None, &mut out);
        out.iter()
            .map(|d| (e.rule(d.rule).entity.clone(), d.field.clone()))
            .collect::<Vec<_>>()
    };
    let owned = |list: &[(&str, Option<&str>)]| {
        list.iter()
            .map(|(entity, field)| (entity.to_string(), field.map(str::to_owned)))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        fields("id,Last Name,notes,ssn\n1,Okafor,met 2024,536228790\n"),
        owned(&[("PERSON", Some("Last Name")), ("US_SSN", Some("ssn"))])
    );
    assert_eq!(
        fields("COPY t (id, card_number) FROM stdin;\n1\t4539 1488 0343 6467\n\\.\n"),
        owned(&[("CREDIT_CARD", Some("card_number"))])
    );
    // A map keyed by e-mail address: the key is data, found as such, and
    // is no value's field; the values' keys are.
    assert_eq!(
        fields(r#"{"users":{"ana.lima@posteo.de":{"ssn":"536228790","note":"x"}}}"#),
        owned(&[("EMAIL", None), ("US_SSN", Some("ssn"))])
    );
    // Text that is no table, dump or JSON names no field.
    assert_eq!(fields("ssn: 536-22-8790\n"), owned(&[("US_SSN", None)]));
}

#[test]
fn a_cells_finding_carries_its_column_and_never_its_value() {
    let e = engine(1 << 20);
    let text = "id,email,ssn\n1,ana.lima@posteo.de,536228790\n";
    let mut out = Vec::new();
    e.scanner().scan_slice(text.as_bytes(), None, &mut out);
    let findings = crate::publish(&e, &out, "people.csv");
    let fields: Vec<_> = findings
        .iter()
        .map(|f| f.location.field.as_deref())
        .collect();
    assert_eq!(fields, [Some("email"), Some("ssn")]);
    for f in &findings {
        let json = serde_json::to_string(f).unwrap();
        for value in ["ana.lima@posteo.de", "536228790"] {
            assert!(!json.contains(value), "{json}");
        }
    }
}

#[test]
fn escaped_values_are_found_as_the_text_they_stand_for() {
    // Each document beside the same document with its escapes read: the
    // same rules find the same values (so the same fingerprints), and the
    // escaped document's spans cover the escapes that write them.
    let e = engine(16 * 1024);
    let pairs = [
        (
            // Python's `json.dumps`, keys and values.
            "[{\"pr\\u00e9nom\": \"C\\u00e9line\", \"last_name\": \"Fran\\u00e7ois-M\\u00fcller\"}]\n",
            "[{\"prénom\": \"Céline\", \"last_name\": \"François-Müller\"}]\n",
            ["C\\u00e9line", "Fran\\u00e7ois-M\\u00fcller"],
        ),
        (
            "-- MySQL dump 10.13\nCREATE TABLE `c` (\n  `first_name` text,\n  `last_name` text\n);\n\
             INSERT INTO `c` VALUES ('Siobhan','O\\'Donoghue');\n",
            "-- MySQL dump 10.13\nCREATE TABLE `c` (\n  `first_name` text,\n  `last_name` text\n);\n\
             INSERT INTO `c` VALUES ('Siobhan','ODonoghue');\n",
            ["Siobhan", "O\\'Donoghue"],
        ),
        (
            "--\n-- PostgreSQL database dump\n--\n\
             INSERT INTO public.c (first_name, last_name) VALUES ('Marta', 'D''Angelo');\n",
            "--\n-- PostgreSQL database dump\n--\n\
             INSERT INTO public.c (first_name, last_name) VALUES ('Marta', 'DAngelo');\n",
            ["Marta", "D''Angelo"],
        ),
        (
            "<?xml version=\"1.0\"?>\n<people>\n  <person><first_name>Ren&#233;e</first_name>\
             <last_name>O&apos;Hara</last_name></person>\n</people>\n",
            "<?xml version=\"1.0\"?>\n<people>\n  <person><first_name>Renée</first_name>\
             <last_name>OHara</last_name></person>\n</people>\n",
            ["Ren&#233;e", "O&apos;Hara"],
        ),
    ];
    let found = |text: &str| {
        let mut out = Vec::new();
        e.scanner().scan_slice(text.as_bytes(), None, &mut out);
        out
    };
    for (escaped, plain, written) in pairs {
        let (escaped_found, plain_found) = (found(escaped), found(plain));
        let spans: Vec<_> = escaped_found
            .iter()
            .map(|d| &escaped[d.start as usize..d.end as usize])
            .collect();
        assert_eq!(spans, written, "{escaped}");
        let values = |out: &[Detection]| {
            out.iter()
                .map(|d| (d.rule, String::from_utf8(d.value.clone()).unwrap()))
                .collect::<Vec<_>>()
        };
        // The plain documents differ only where the text has no quote.
        let unquoted = |out: &[Detection]| {
            values(out)
                .into_iter()
                .map(|(r, v)| (r, v.replace('\'', "")))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            unquoted(&escaped_found),
            unquoted(&plain_found),
            "{escaped}"
        );
        assert!(
            values(&escaped_found)
                .iter()
                .all(|(_, v)| !v.contains(['\\', '&']))
        );
    }
}

#[test]
fn a_mysqldump_in_xml_gives_its_fields_their_names_across_blocks() {
    let rows = 3000;
    let mut dump = String::from(
        "<?xml version=\"1.0\"?>\n<mysqldump xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\">\n\
         <database name=\"shop\">\n\t<table_data name=\"customers\">\n",
    );
    for i in 0..rows {
        let note = "call back after 5, ref 481226790 ".repeat(i % 7);
        dump.push_str(&format!(
            "\t<row>\n\t\t<field name=\"id\">{i}</field>\n\
             \t\t<field name=\"first_name\">Margarethe</field>\n\
             \t\t<field name=\"notes\">{note}</field>\n\
             \t\t<field name=\"last_name\">Okafor</field>\n\
             \t\t<field name=\"middle_name\" xsi:nil=\"true\" />\n\
             \t\t<field name=\"ssn\">536228790</field>\n\t</row>\n"
        ));
    }
    dump.push_str("\t</table_data>\n</database>\n</mysqldump>\n");
    check_dump(&dump, rows);
}

#[test]
fn an_ldif_export_gives_its_attributes_the_names_the_rules_know_across_blocks() {
    let rows = 3000;
    let mut ldif = String::from("# extended LDIF\nversion: 1\n\n");
    for i in 0..rows {
        let note = "call back after 5, ref 481226790 ".repeat(i % 7);
        ldif.push_str(&format!(
            "dn: uid=m{i},ou=people,dc=example,dc=org\nobjectClass: inetOrgPerson\n\
             givenName: Margarethe\nsn: Okafor\ndescription: {note}\nssn: 536228790\n\n"
        ));
    }
    check_dump(&ldif, rows);
}

#[test]
fn a_vcard_file_gives_the_parts_of_its_names_their_names_across_blocks() {
    let rows = 3000;
    let mut cards = String::new();
    for i in 0..rows {
        let note = "call back after 5, ref 481226790 ".repeat(i % 7);
        cards.push_str(&format!(
            "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:{i}\r\nN:Okafor;Margarethe;;;\r\n\
             NOTE:{note}\r\nX-SSN:536228790\r\nEND:VCARD\r\n"
        ));
    }
    check_dump(&cards, rows);
}

#[test]
fn hl7_messages_give_their_fields_of_people_their_names_across_blocks() {
    let rows = 3000;
    let mut messages = String::new();
    for i in 0..rows {
        let note = "call back after 5, ref 481226790 ".repeat(i % 7);
        messages.push_str(&format!(
            "MSH|^~\\&|ADT1|HOSP|||20240301{:04}||ADT^A01|MSG{i}|P|2.5\r\
             PID|1||{i}^^^HOSP^MR||Okafor^Margarethe||||||||||||||536228790\r\
             OBX|1|TX|NOTE||{note}\r",
            i % 2400
        ));
    }
    check_dump(&messages, rows);
}

#[test]
fn lines_end_with_carriage_returns_where_a_record_has_no_line_feeds() {
    // HL7 v2 ends its segments with a carriage return alone; streamed in
    // 8 KiB blocks, the messages' SSNs sit on the fifth line of each
    // message, at the same column.
    let e = engine(8 * 1024);
    let mut text = String::new();
    for i in 0..400 {
        text.push_str(&format!(
            "MSH|^~\\&|ADT1|HOSP|||202403011230||ADT^A01|MSG{i:05}|P|2.5\rEVN|A01|202403011230\r\
             PID|1||{i:05}^^^HOSP^MR\rOBX|1|TX|NOTE||call back after 5\r\
             GT1|1||||||||||||532-71-4408\r"
        ));
    }
    let mut out = Vec::new();
    e.scanner()
        .scan_reader(text.as_bytes(), None, &mut out)
        .unwrap();
    let ssns: Vec<&Detection> = out
        .iter()
        .filter(|d| e.rule(d.rule).entity == "US_SSN")
        .collect();
    assert_eq!(ssns.len(), 400);
    for (i, d) in ssns.iter().enumerate() {
        assert_eq!((d.line, d.column), (5 * i as u32 + 5, 18), "message {i}");
    }
    // Text with line feeds counts those alone, a carriage return before
    // each or not.
    let crlf = "note\r\nSSN: 532-71-4408\r\n";
    let mut out = Vec::new();
    e.scanner().scan_slice(crlf.as_bytes(), None, &mut out);
    assert_eq!((out[0].line, out[0].column), (2, 6));
}

#[test]
fn psql_and_mysql_output_give_their_cells_their_columns_across_blocks() {
    let rows = 3000;
    let mut psql = String::from(
        " id | first_name | last_name |    ssn    | notes\n\
         ----+------------+-----------+-----------+-------\n",
    );
    let mut mysql = String::from(
        "+----+------------+-----------+-----------+-------+\n\
         | id | first_name | last_name | ssn       | notes |\n\
         +----+------------+-----------+-----------+-------+\n",
    );
    for i in 0..rows {
        let note = "call back after 5, ref 481226790 ".repeat(i % 7);
        psql.push_str(&format!(
            " {i:>4} | Margarethe | Okafor    | 536228790 | {note}\n"
        ));
        mysql.push_str(&format!(
            "| {i:>4} | Margarethe | Okafor    | 536228790 | {note} |\n"
        ));
    }
    psql.push_str(&format!("({rows} rows)\n\n"));
    mysql.push_str(&format!(
        "+----+------------+-----------+-----------+-------+\n{rows} rows in set (0.01 sec)\n"
    ));
    check_dump(&psql, rows);
    check_dump(&mysql, rows);
}

#[test]
fn markdown_and_fixed_width_results_give_their_cells_their_columns_across_blocks() {
    let rows = 3000;
    let mut markdown =
        String::from("| id | first_name | last_name | ssn | notes |\n|---:|:---|:---|:---:|---|\n");
    let mut sqlite = String::from(
        "id    first_name  last_name  ssn        notes\n\
         ----  ----------  ---------  ---------  -----\n",
    );
    for i in 0..rows {
        let note = "call back after 5, ref 481226790 ".repeat(i % 7);
        markdown.push_str(&format!(
            "| {i} | Margarethe | Okafor | 536228790 | {note} |\n"
        ));
        sqlite.push_str(&format!(
            "{i:<4}  Margarethe  Okafor     536228790  {note}\n"
        ));
    }
    sqlite.push_str("\nRun Time: real 0.002 user 0.000 sys 0.001\n");
    check_dump(&markdown, rows);
    check_dump(&sqlite, rows);
}

#[test]
fn a_dynamodb_scan_printed_by_the_cli_gives_its_items_their_keys_across_blocks() {
    // `aws dynamodb scan` prints its items under `Items`, laid out for
    // reading.
    let rows = 3000;
    let mut scan = String::from("{\n    \"Items\": [\n");
    for i in 0..rows {
        let note = "call back after 5, ref 481226790 ".repeat(i % 7);
        let comma = if i + 1 < rows { "," } else { "" };
        scan.push_str(&format!(
            "        {{\n            \"pk\": {{\n                \"S\": \"CUST#{i}\"\n            }},\n\
             \x20           \"given_name\": {{\n                \"S\": \"Margarethe\"\n            }},\n\
             \x20           \"notes\": {{\n                \"S\": \"{note}\"\n            }},\n\
             \x20           \"family_name\": {{\n                \"S\": \"Okafor\"\n            }},\n\
             \x20           \"ssn\": {{\n                \"S\": \"536228790\"\n            }}\n        }}{comma}\n"
        ));
    }
    scan.push_str(&format!(
        "    ],\n    \"Count\": {rows},\n    \"ScannedCount\": {rows},\n    \"ConsumedCapacity\": null\n}}\n"
    ));
    check_dump(&scan, rows);
}

#[test]
fn aws_attribute_and_parameter_lists_give_each_value_its_name() {
    // `aws cognito-idp list-users` and `aws ssm get-parameters
    // --with-decryption`, as the CLI prints them: a value's name is its
    // sibling `Name`.
    let e = engine(16 * 1024);
    let cognito = "{\n    \"Users\": [\n        {\n            \"Attributes\": [\n                {\n                    \"Name\": \"family_name\",\n                    \"Value\": \"Oyelaran\"\n                },\n                {\n                    \"Name\": \"custom:tier\",\n                    \"Value\": \"Gold\"\n                }\n            ]\n        }\n    ]\n}\n";
    let ssm = "{\n    \"Parameters\": [\n        {\n            \"Name\": \"/prod/billing/db_password\",\n            \"Type\": \"SecureString\",\n            \"Value\": \"Vq8r-Kp2mZ7x-Lw4n\"\n        },\n        {\n            \"Name\": \"/prod/billing/db_password_changed_at\",\n            \"Value\": \"2024-03-17T10:22:31Z\"\n        }\n    ]\n}\n";
    assert_eq!(
        entities_and_values(&e, cognito.as_bytes()),
        [("PERSON", "Oyelaran")]
    );
    let found = entities_and_values(&e, ssm.as_bytes());
    assert_eq!(found, [("PASSWORD", "Vq8r-Kp2mZ7x-Lw4n")]);
    let mut out = Vec::new();
    e.scanner().scan_slice(ssm.as_bytes(), None, &mut out);
    assert_eq!(out[0].field.as_deref(), Some("db_password"));
    // A name built from data gives only its segment holding the word:
    // the user's name in the path stays in the worker.
    let per_user = ssm.replace("/prod/billing/db_password", "/users/ana.lima/password");
    let mut out = Vec::new();
    e.scanner().scan_slice(per_user.as_bytes(), None, &mut out);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].field.as_deref(), Some("password"));
}

#[test]
fn an_odata_response_gives_its_values_their_keys() {
    // Microsoft Graph's `GET /users`, pretty as Graph Explorer and `az
    // rest` print it: the records are under `value`, after the metadata.
    let e = engine(16 * 1024);
    let response = "{\n  \"@odata.context\": \"https://graph.microsoft.com/v1.0/$metadata#users\",\n  \"value\": [\n    {\n      \"businessPhones\": [],\n      \"displayName\": \"Ingrid Halvorsen\",\n      \"givenName\": \"Ingrid\",\n      \"jobTitle\": \"Controller\",\n      \"officeLocation\": \"Bergen\"\n    }\n  ]\n}\n";
    let found = entities_and_values(&e, response.as_bytes());
    assert_eq!(
        found,
        [("PERSON", "Ingrid Halvorsen"), ("PERSON", "Ingrid")],
        "{found:?}"
    );
    // Without the metadata first, the object is read by its labels alone.
    let unread = response.replacen("@odata.context", "comment", 1);
    let found = entities_and_values(&e, unread.as_bytes());
    assert!(
        !found.contains(&("PERSON", "Ingrid Halvorsen")),
        "{found:?}"
    );
}

#[test]
fn an_hl7_phone_given_by_its_components_is_found_whole() {
    let e = engine(16 * 1024);
    let message = "MSH|^~\\&|ADT1|HOSP|||202403011230||ADT^A04|MSG1|P|2.5\r\
                   PID|1||7^^^HOSP^MR||||||||||^PRN^PH^^1^617^4923385~^NET^Internet^ana@x.example\r";
    let found = entities_and_values(&e, message.as_bytes());
    assert!(found.contains(&("PHONE", "617^4923385")), "{found:?}");
    // Without the reading, the same components are no phone.
    let plain = message.replacen("MSH|", "XXX|", 1);
    assert!(
        !entities_and_values(&e, plain.as_bytes())
            .iter()
            .any(|(entity, _)| *entity == "PHONE")
    );
}

#[test]
fn a_whole_value_holding_a_match_of_its_entity_is_found_whole() {
    // The street rule finds `18 Marlowe Road` with more confidence than the
    // column's rule finds the whole cell; the cell is the address.
    let e = engine(16 * 1024);
    let csv = "id,address_line1,city\n1,\"Flat 3, 18 Marlowe Road\",Leeds\n2,Unit 7 Riverside Court,Hull\n";
    assert_eq!(
        entities_and_values(&e, csv.as_bytes()),
        [
            ("ADDRESS", "Flat 3, 18 Marlowe Road"),
            ("ADDRESS", "Unit 7 Riverside Court")
        ]
    );
}

#[test]
fn an_hl7_fields_escapes_are_read_with_the_declared_delimiters() {
    // A family name marked as highlighted text (`\H\...\N\`), in a
    // message that declares `!` as its escape character and in one that
    // declares the standard `\`: found with its marks, as the name alone.
    let e = engine(16 * 1024);
    for (declared, name) in [
        ("^~\\&", "\\H\\Kowalczyk\\N\\"),
        ("^~!&", "!H!Kowalczyk!N!"),
    ] {
        let message = format!(
            "MSH|{declared}|ADT1|HOSP|||202403011230||ADT^A04|MSG1|P|2.5\r\
             PID|1||7^^^HOSP^MR||{name}^Ewa||19840317|F\r"
        );
        let mut out = Vec::new();
        e.scanner().scan_slice(message.as_bytes(), None, &mut out);
        let names: Vec<_> = out
            .iter()
            .filter(|d| e.rule(d.rule).entity == "PERSON")
            .map(|d| {
                (
                    &message[d.start as usize..d.end as usize],
                    d.value.as_slice(),
                )
            })
            .collect();
        assert!(
            names.contains(&(name, b"Kowalczyk".as_slice())),
            "{declared}: {names:?}"
        );
    }
}

#[test]
fn folded_card_lines_and_vcard_escapes_are_read_as_their_text() {
    // Address books fold lines at 75 bytes, anywhere, and a vCard escapes
    // the commas of a street; an LDIF export folds long values too. Each
    // value is found on the bytes that write it, as the text they stand
    // for.
    let e = engine(16 * 1024);
    let vcard = "BEGIN:VCARD\r\nVERSION:3.0\r\nN:Wiśniewsk\r\n a;Zofia;;;\r\n\
                 ADR;TYPE=HOME:;;14 Albion Crescent\\, Fl\r\n at 2;Bristol;;BS8 4JR;UK\r\nEND:VCARD\r\n";
    let ldif = "version: 1\n\ndn: uid=okafor,ou=people,dc=example,dc=org\nsn: Okafor-Nw\n osu\n\
                givenName: Chidi\n";
    let cases = [
        (
            vcard,
            vec![
                ("PERSON", "Wiśniewsk\r\n a", "Wiśniewska"),
                ("PERSON", "Zofia", "Zofia"),
                (
                    "ADDRESS",
                    "14 Albion Crescent\\, Fl\r\n at 2",
                    "14 Albion Crescent, Flat 2",
                ),
            ],
        ),
        (
            ldif,
            vec![
                ("PERSON", "Okafor-Nw\n osu", "Okafor-Nwosu"),
                ("PERSON", "Chidi", "Chidi"),
            ],
        ),
    ];
    for (text, expected) in cases {
        let mut out = Vec::new();
        e.scanner().scan_slice(text.as_bytes(), None, &mut out);
        let found: Vec<_> = out
            .iter()
            .map(|d| {
                (
                    e.rule(d.rule).entity.as_str(),
                    &text[d.start as usize..d.end as usize],
                    std::str::from_utf8(&d.value).unwrap(),
                )
            })
            .collect();
        assert_eq!(found, expected);
    }
}

#[test]
fn a_records_last_line_needs_no_line_break() {
    // A single HL7 message saved without its last segment's carriage
    // return, an LDIF entry without the last line's line feed: the last
    // line is read all the same, streamed or whole.
    let e = engine(8 * 1024);
    let hl7 = "MSH|^~\\&|ADT1|HOSP|||202403011230||ADT^A04|MSG1|P|2.5\r\
               PID|1||7^^^HOSP^MR||Kowalczyk^Ewa||19840317|F";
    let ldif =
        "version: 1\n\ndn: uid=okafor,ou=people,dc=example,dc=org\nsn: Okafor\ngivenName: Chidi";
    for (text, expected) in [
        (
            hl7,
            vec![
                ("PERSON", "Kowalczyk"),
                ("PERSON", "Ewa"),
                ("DATE_OF_BIRTH", "19840317"),
            ],
        ),
        (ldif, vec![("PERSON", "Okafor"), ("PERSON", "Chidi")]),
    ] {
        assert_eq!(entities_and_values(&e, text.as_bytes()), expected);
        // Streamed: blocks of 8 KiB after a long first line.
        let padded = text.replacen("ADT1", &"ADT1".repeat(4000), 1);
        let padded = padded.replacen("dc=org", &format!("dc=org,{}", "o=x,".repeat(4000)), 1);
        let mut streamed = Vec::new();
        e.scanner()
            .scan_reader(padded.as_bytes(), None, &mut streamed)
            .unwrap();
        let found: Vec<_> = streamed
            .iter()
            .map(|d| {
                (
                    e.rule(d.rule).entity.as_str(),
                    &padded[d.start as usize..d.end as usize],
                )
            })
            .collect();
        assert_eq!(found, expected);
    }
}
