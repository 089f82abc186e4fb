//! `shoal keys`: generate signing keys and edit keyset files.
//!
//! Private keys are written once, with mode 0600, and never printed; only
//! public keyset entries go to standard output.

use std::fs;
use std::io::{Read as _, Write as _};
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use clap::Subcommand;
use ed25519_dalek::SigningKey;
use ed25519_dalek::pkcs8::EncodePrivateKey as _;
use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use shoal_schemas::ids::{hex, now_unix};
use shoal_schemas::keyset::{KeyEntry, Keyset, rfc3339};

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Generate an Ed25519 signing key (PKCS#8 PEM, mode 0600) and print its
    /// keyset entry as JSON; with --keyset, also add the entry there.
    Generate {
        /// Where to write the private key; refused if the file exists.
        #[arg(long)]
        private_key: PathBuf,
        /// Key id; default `shoal-<date>-<first 6 hex of the public key>`.
        #[arg(long)]
        kid: Option<String>,
        /// Start of validity (RFC 3339); default now.
        #[arg(long)]
        not_before: Option<String>,
        /// Length of validity in days.
        #[arg(long, default_value_t = 90)]
        valid_days: u32,
        /// Keyset file to add the entry to (created if absent).
        #[arg(long)]
        keyset: Option<PathBuf>,
        /// Also write the public key as SPKI PEM (`PUBLIC KEY`), e.g. for a
        /// dispatcher's `auth.keys` when the key signs test tokens.
        #[arg(long)]
        public_pem: Option<PathBuf>,
    },
    /// Add a keyset entry (JSON, as `generate` prints) to a keyset file.
    Add {
        /// Keyset file (created if absent).
        #[arg(long)]
        keyset: PathBuf,
        /// File holding the entry, or `-` for standard input.
        entry: PathBuf,
    },
    /// Retire a key: envelopes signed by it stop verifying at --at (default now).
    Retire {
        /// Keyset file.
        #[arg(long)]
        keyset: PathBuf,
        /// Key id to retire.
        #[arg(long)]
        kid: String,
        /// When it stops being valid (RFC 3339); default now.
        #[arg(long)]
        at: Option<String>,
    },
    /// List the keys of a keyset file with their state now.
    List {
        /// Keyset file.
        #[arg(long)]
        keyset: PathBuf,
    },
}

pub fn run(cmd: KeysCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        KeysCommand::Generate {
            private_key,
            kid,
            not_before,
            valid_days,
            keyset,
            public_pem,
        } => {
            let not_before = match not_before {
                Some(text) => rfc3339::parse(&text).map_err(anyhow::Error::msg)?,
                None => now_unix(),
            };
            let not_after = not_before + i64::from(valid_days) * 86_400;
            if valid_days == 0 {
                bail!("--valid-days must be at least 1");
            }
            let mut seed = [0u8; 32];
            getrandom::fill(&mut seed).map_err(|e| anyhow::anyhow!("random generator: {e}"))?;
            let key = SigningKey::from_bytes(&seed);
            seed.fill(0);
            let public = key.verifying_key();
            let kid = kid.unwrap_or_else(|| {
                let date = &rfc3339::format(not_before)[..10];
                format!("shoal-{date}-{}", &hex(public.as_bytes())[..6])
            });
            shoal_schemas::subjects::check_token(&kid).context("--kid")?;
            let entry = KeyEntry::new(kid, &public, not_before, not_after);
            // Check the keyset before writing the private key, so a refused
            // entry (duplicate kid) leaves no orphan key behind.
            let updated = match &keyset {
                Some(path) => {
                    let mut ks = load_or_empty(path)?;
                    ks.add(entry.clone())?;
                    Some((path, ks))
                }
                None => None,
            };
            write_private_key(&private_key, &key)?;
            if let Some(path) = &public_pem {
                use ed25519_dalek::pkcs8::EncodePublicKey as _;
                let pem = public
                    .to_public_key_pem(Default::default())
                    .map_err(|e| anyhow::anyhow!("public key PEM: {e}"))?;
                fs::write(path, pem).with_context(|| format!("{}", path.display()))?;
            }
            if let Some((path, ks)) = updated {
                save(path, &ks)?;
            }
            println!("{}", serde_json::to_string(&entry)?);
            Ok(ExitCode::SUCCESS)
        }
        KeysCommand::Add { keyset, entry } => {
            let text = if entry.as_os_str() == "-" {
                let mut s = String::new();
                std::io::stdin().read_to_string(&mut s)?;
                s
            } else {
                fs::read_to_string(&entry).with_context(|| format!("{}", entry.display()))?
            };
            let entry: KeyEntry = serde_json::from_str(&text).context("not a keyset entry")?;
            let mut ks = load_or_empty(&keyset)?;
            ks.add(entry)?;
            save(&keyset, &ks)?;
            Ok(ExitCode::SUCCESS)
        }
        KeysCommand::Retire { keyset, kid, at } => {
            let at = match at {
                Some(text) => rfc3339::parse(&text).map_err(anyhow::Error::msg)?,
                None => now_unix(),
            };
            let mut ks = load(&keyset)?;
            ks.retire(&kid, at)?;
            save(&keyset, &ks)?;
            Ok(ExitCode::SUCCESS)
        }
        KeysCommand::List { keyset } => {
            let ks = load(&keyset)?;
            let now = now_unix();
            println!(
                "{:<40} {:<8} {:<21} {:<21}",
                "KID", "STATE", "NOT_BEFORE", "NOT_AFTER"
            );
            for k in &ks.keys {
                let state = if now < k.not_before {
                    "pending"
                } else if now >= k.not_after {
                    "retired"
                } else {
                    "active"
                };
                println!(
                    "{:<40} {:<8} {:<21} {:<21}",
                    k.kid,
                    state,
                    rfc3339::format(k.not_before),
                    rfc3339::format(k.not_after)
                );
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn write_private_key(path: &Path, key: &SigningKey) -> anyhow::Result<()> {
    let pem = key
        .to_pkcs8_pem(LineEnding::LF)
        .map_err(|e| anyhow::anyhow!("encoding the private key: {e}"))?;
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("{}: cannot create the private key file", path.display()))?;
    file.write_all(pem.as_bytes())
        .and_then(|()| file.sync_all())
        .with_context(|| format!("{}", path.display()))?;
    Ok(())
}

fn load(path: &Path) -> anyhow::Result<Keyset> {
    let text = fs::read_to_string(path).with_context(|| format!("{}", path.display()))?;
    Keyset::from_json(&text).with_context(|| format!("{}", path.display()))
}

fn load_or_empty(path: &Path) -> anyhow::Result<Keyset> {
    if path.exists() {
        load(path)
    } else {
        Ok(Keyset::default())
    }
}

/// Writes the keyset through a temporary file and a rename, so readers never
/// see half a file.
fn save(path: &Path, keyset: &Keyset) -> anyhow::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    fs::write(&tmp, keyset.to_json()).with_context(|| format!("{}", tmp.display()))?;
    fs::rename(&tmp, path).with_context(|| format!("{}", path.display()))?;
    Ok(())
}
