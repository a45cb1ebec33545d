//! Secrets at rest: password hashes, opaque tokens, and protected resident ID numbers.

use std::path::Path;

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use anyhow::{Context, anyhow};
use argon2::{Argon2, PasswordHasher, PasswordVerifier};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::config::Settings;

pub fn hash_password(password: &str) -> anyhow::Result<String> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| anyhow!("hashing a password failed: {e}"))
}

pub fn verify_password(password: &str, phc: &str) -> bool {
    Argon2::default().verify_password(password.as_bytes(), phc).is_ok()
}

/// A fresh opaque token (32 random bytes, base64url) for sessions and API keys.
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Tokens are stored only as their SHA-256 (hex): a database leak yields no usable token.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// The key that protects sensitive columns; loaded once at start.
#[derive(Clone)]
pub struct DataKey {
    key: [u8; 32],
}

impl std::fmt::Debug for DataKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DataKey([redacted])")
    }
}

/// A resident ID number as stored: encrypted, a keyed hash for lookups, a masked form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtectedId {
    pub encrypted: String,
    pub lookup_hash: String,
    pub masked: String,
}

impl DataKey {
    pub fn from_bytes(key: [u8; 32]) -> Self {
        Self { key }
    }

    /// From `secret_key` in the settings, else from `<data_dir>/linli.key`, created
    /// (mode 0600) on first use.
    pub fn load(settings: &Settings) -> anyhow::Result<Self> {
        if let Some(secret) = &settings.secret_key {
            return Self::from_base64(secret.expose()).context("secret_key");
        }
        let path = settings.data_dir.join("linli.key");
        if path.exists() {
            let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
            return Self::from_base64(text.trim()).with_context(|| format!("key file {}", path.display()));
        }
        let mut key = [0u8; 32];
        rand::rng().fill_bytes(&mut key);
        write_private_file(&path, &STANDARD.encode(key))?;
        tracing::info!(path = %path.display(), "created a new data key file");
        Ok(Self { key })
    }

    fn from_base64(text: &str) -> anyhow::Result<Self> {
        let bytes = STANDARD.decode(text.trim()).context("not base64")?;
        let key: [u8; 32] = bytes.try_into().map_err(|_| anyhow!("must decode to exactly 32 bytes"))?;
        Ok(Self { key })
    }

    fn subkey(&self, purpose: &str) -> [u8; 32] {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.key).unwrap_or_else(|_| unreachable_hmac());
        mac.update(purpose.as_bytes());
        mac.finalize().into_bytes().into()
    }

    /// Keyed hash (HMAC-SHA256, hex): equal inputs give equal hashes, so a unique index works.
    pub fn lookup_hash(&self, value: &str) -> String {
        let mut mac =
            <Hmac<Sha256> as Mac>::new_from_slice(&self.subkey("lookup")).unwrap_or_else(|_| unreachable_hmac());
        mac.update(value.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    /// AES-256-GCM with a random nonce; output is base64(nonce || ciphertext).
    pub fn encrypt(&self, plaintext: &str) -> anyhow::Result<String> {
        let cipher = Aes256Gcm::new_from_slice(&self.subkey("encrypt")).map_err(|_| anyhow!("bad key length"))?;
        let mut nonce = [0u8; 12];
        rand::rng().fill_bytes(&mut nonce);
        let sealed = cipher
            .encrypt(Nonce::from_slice(&nonce), plaintext.as_bytes())
            .map_err(|_| anyhow!("encryption failed"))?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        Ok(STANDARD.encode(out))
    }

    pub fn decrypt(&self, stored: &str) -> anyhow::Result<String> {
        let bytes = STANDARD.decode(stored).context("stored value is not base64")?;
        if bytes.len() < 12 {
            return Err(anyhow!("stored value too short"));
        }
        let (nonce, sealed) = bytes.split_at(12);
        let cipher = Aes256Gcm::new_from_slice(&self.subkey("encrypt")).map_err(|_| anyhow!("bad key length"))?;
        let plain =
            cipher.decrypt(Nonce::from_slice(nonce), sealed).map_err(|_| anyhow!("decryption failed (wrong key?)"))?;
        String::from_utf8(plain).context("decrypted value is not UTF-8")
    }

    pub fn protect_id_number(&self, id_number: &str) -> anyhow::Result<ProtectedId> {
        let normalised = id_number.trim().to_ascii_uppercase();
        Ok(ProtectedId {
            encrypted: self.encrypt(&normalised)?,
            lookup_hash: self.lookup_hash(&normalised),
            masked: mask_id_number(&normalised),
        })
    }
}

fn unreachable_hmac() -> Hmac<Sha256> {
    // HMAC accepts keys of any length; this branch cannot be taken.
    unreachable!("HMAC-SHA256 accepts any key length")
}

/// `120101********123X`: the region code and the last four characters stay visible.
pub fn mask_id_number(id: &str) -> String {
    let chars: Vec<char> = id.chars().collect();
    if chars.len() <= 10 {
        return "*".repeat(chars.len());
    }
    let head: String = chars[..6].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}{}{tail}", "*".repeat(chars.len() - 10))
}

/// Writes a file readable only by its owner.
pub fn write_private_file(path: &Path, contents: &str) -> anyhow::Result<()> {
    use std::io::Write;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).with_context(|| format!("creating {}", path.display()))?;
    file.write_all(contents.as_bytes()).with_context(|| format!("writing {}", path.display()))?;
    file.sync_all().ok();
    Ok(())
}

/// Generates a VAPID (P-256) key pair, writes the private key as PKCS#8 PEM to `path`
/// (mode 0600) and returns the public key as base64url of the uncompressed point.
pub fn generate_vapid(path: &Path, force: bool) -> anyhow::Result<String> {
    use p256::elliptic_curve::sec1::ToEncodedPoint;
    use p256::pkcs8::{EncodePrivateKey, LineEnding};
    if path.exists() {
        if !force {
            return Err(anyhow!("{} exists; pass --force to replace it", path.display()));
        }
        std::fs::remove_file(path).with_context(|| format!("removing {}", path.display()))?;
    }
    let secret = p256::SecretKey::random(&mut rand_core06::OsRng);
    let pem = secret.to_pkcs8_pem(LineEnding::LF).map_err(|e| anyhow!("encoding the key: {e}"))?;
    write_private_file(path, pem.as_str())?;
    let public = secret.public_key().to_encoded_point(false);
    Ok(URL_SAFE_NO_PAD.encode(public.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_verify_only_with_the_right_password() {
        let phc = hash_password("correct horse").unwrap();
        assert!(phc.starts_with("$argon2id$"));
        assert!(verify_password("correct horse", &phc));
        assert!(!verify_password("wrong", &phc));
    }

    #[test]
    fn id_numbers_round_trip_and_mask() {
        let key = DataKey::from_bytes([7; 32]);
        let p = key.protect_id_number("12010119450101123x").unwrap();
        assert_eq!(p.masked, "120101********123X");
        assert_eq!(key.decrypt(&p.encrypted).unwrap(), "12010119450101123X");
        assert_eq!(p.lookup_hash, key.lookup_hash("12010119450101123X"));
        assert_ne!(p.encrypted, key.protect_id_number("12010119450101123X").unwrap().encrypted);
    }

    #[test]
    fn tokens_are_unique_and_hashed() {
        let a = new_token();
        assert_ne!(a, new_token());
        assert_eq!(token_hash(&a).len(), 64);
    }
}
