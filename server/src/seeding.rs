//! Glue between the demo generator (`seed/`) and the server's own crypto.

use std::collections::BTreeMap;
use std::sync::Mutex;

use crate::crypto::{self, DataKey};

/// Hashes and protects seed data exactly as the server does for real data. The demo
/// uses one password for hundreds of accounts, so its hash is computed once.
pub struct Services {
    key: DataKey,
    hashes: Mutex<BTreeMap<String, String>>,
}

impl Services {
    pub fn new(key: DataKey) -> Self {
        Self { key, hashes: Mutex::new(BTreeMap::new()) }
    }
}

impl linli_seed::SeedServices for Services {
    fn hash_password(&self, password: &str) -> anyhow::Result<String> {
        let mut cache = self.hashes.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(hash) = cache.get(password) {
            return Ok(hash.clone());
        }
        let hash = crypto::hash_password(password)?;
        cache.insert(password.to_owned(), hash.clone());
        Ok(hash)
    }

    fn protect_id_number(&self, id_number: &str) -> anyhow::Result<linli_seed::ProtectedId> {
        let p = self.key.protect_id_number(id_number)?;
        Ok(linli_seed::ProtectedId { encrypted: p.encrypted, lookup_hash: p.lookup_hash, masked: p.masked })
    }

    fn hash_api_key(&self, api_key: &str) -> String {
        crypto::token_hash(api_key)
    }
}
