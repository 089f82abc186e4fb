//! The engine through its public interface.

use shoal_detect::{Engine, EngineOptions, RuleSet};

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
