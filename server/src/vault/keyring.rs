//! Master keys: the primary one wraps new data keys; the others are still accepted for
//! unwrapping, which is what lets `hitch rotate-master-key` run without downtime.
use std::path::Path;

use aes_gcm::{Aes256Gcm, Key, KeyInit};
use base64::{Engine, engine::general_purpose::STANDARD as B64};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("{setting} must be base64 of exactly 32 bytes ({problem})")]
    Malformed {
        setting: &'static str,
        problem: String,
    },
    #[error("{0}")]
    Io(String),
}

pub struct MasterKey {
    /// The first 16 hex digits of SHA-256 of the key: names it without revealing it.
    pub id: String,
    pub(super) cipher: Aes256Gcm,
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "MasterKey({})", self.id)
    }
}

impl MasterKey {
    pub fn from_bytes(bytes: &[u8; 32]) -> MasterKey {
        let id = hex::encode(&Sha256::digest(bytes)[..8]);
        MasterKey {
            id,
            cipher: Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(bytes)),
        }
    }

    pub fn parse(setting: &'static str, text: &str) -> Result<MasterKey, KeyError> {
        let raw = Zeroizing::new(B64.decode(text.trim()).map_err(|e| KeyError::Malformed {
            setting,
            problem: e.to_string(),
        })?);
        let bytes: &[u8; 32] = raw.as_slice().try_into().map_err(|_| KeyError::Malformed {
            setting,
            problem: format!("got {} bytes", raw.len()),
        })?;
        Ok(MasterKey::from_bytes(bytes))
    }

    /// A fresh random key, base64-encoded (what `generate` writes and the README shows).
    pub fn generate_text() -> Zeroizing<String> {
        let mut bytes = Zeroizing::new([0u8; 32]);
        rand::fill(&mut bytes[..]);
        Zeroizing::new(B64.encode(bytes.as_slice()))
    }
}

#[derive(Debug)]
pub struct Keyring {
    pub primary: MasterKey,
    pub others: Vec<MasterKey>,
}

impl Keyring {
    pub fn new(primary: MasterKey, others: Vec<MasterKey>) -> Keyring {
        Keyring { primary, others }
    }

    pub fn find(&self, id: &str) -> Option<&MasterKey> {
        std::iter::once(&self.primary)
            .chain(self.others.iter())
            .find(|k| k.id == id)
    }

    /// Reads the development key at `path`, creating it (mode 0600) on first run.
    pub fn dev_key(path: &Path) -> Result<MasterKey, KeyError> {
        if !path.exists() {
            if let Some(dir) = path.parent()
                && !dir.as_os_str().is_empty()
            {
                std::fs::create_dir_all(dir)
                    .map_err(|e| KeyError::Io(format!("cannot create {}: {e}", dir.display())))?;
            }
            let text = MasterKey::generate_text();
            write_private(path, text.as_bytes())
                .map_err(|e| KeyError::Io(format!("cannot write {}: {e}", path.display())))?;
            tracing::warn!(path = %path.display(), "generated a development master key; set HITCH_MASTER_KEY in production");
        }
        let text = Zeroizing::new(
            std::fs::read_to_string(path)
                .map_err(|e| KeyError::Io(format!("cannot read {}: {e}", path.display())))?,
        );
        MasterKey::parse("HITCH_MASTER_KEY_FILE", &text)
    }
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    opts.open(path)?.write_all(bytes)
}
