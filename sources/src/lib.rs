//! The data sources of shoal: one module per store (`fs`, `s3`, `postgres`,
//! `slack`, `mail`), each with `plan()` for the dispatcher and `read()` for the
//! worker, and the extractors for archives and file formats. Sources know no
//! detection: they hand records to whoever asked.
