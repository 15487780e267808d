//! The manifest: what a backup holds and how to check it. Written last, so its presence
//! is what makes a folder a backup; read first, so a restore checks every file before it
//! writes anything.

use std::collections::BTreeMap;
use std::fmt::Write;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The manifest's file name.
pub const MANIFEST: &str = "manifest.json";
/// The version of the format described in `backup`; a restore refuses any other.
pub const FORMAT: u32 = 1;

/// `manifest.json`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Manifest {
    /// `FORMAT` of the writer.
    pub format: u32,
    /// When the snapshot was taken, in seconds since the Unix epoch.
    pub created_unix_secs: u64,
    /// The engines backed up (as `serve` logs them at start).
    pub source: String,
    /// Items by kind: the partition key's prefix before its first `#` (`USER`, `POST`, ...).
    pub item_kinds: BTreeMap<String, u64>,
    /// The item chunks, in order.
    pub item_files: Vec<FileEntry>,
    /// The media objects, one file each under `media/`.
    pub media_files: Vec<FileEntry>,
}

/// One data file of a backup.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FileEntry {
    /// Its name within the backup.
    pub name: String,
    /// Its size.
    pub bytes: u64,
    /// The hex SHA-256 of its content.
    pub sha256: String,
    /// Items it holds (item chunks only).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub items: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl FileEntry {
    /// The entry describing `content`, stored as `name`.
    pub fn of(name: String, content: &[u8], items: u64) -> FileEntry {
        FileEntry { name, bytes: content.len() as u64, sha256: sha256(content), items }
    }

    /// Fails unless `content` is what this entry describes.
    pub fn verify(&self, content: &[u8]) -> anyhow::Result<()> {
        anyhow::ensure!(
            content.len() as u64 == self.bytes && sha256(content) == self.sha256,
            "{} is damaged: its size or SHA-256 differs from the manifest's (nothing was restored from it)",
            self.name
        );
        Ok(())
    }
}

impl Manifest {
    /// Every item counted.
    pub fn item_count(&self) -> u64 {
        self.item_kinds.values().sum()
    }
}

/// The kind of an item, for the manifest's counts.
pub fn kind_of(pk: &str) -> &str {
    pk.split('#').next().unwrap_or(pk)
}

/// Hex SHA-256.
pub fn sha256(content: &[u8]) -> String {
    Sha256::digest(content).iter().fold(String::with_capacity(64), |mut hex, byte| {
        let _ = write!(hex, "{byte:02x}");
        hex
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_changed_byte_fails_verification() {
        let entry = FileEntry::of("items-00001.jsonl".into(), b"{\"pk\":\"USER#1\"}\n", 1);
        entry.verify(b"{\"pk\":\"USER#1\"}\n").expect("the same bytes verify");
        let message = entry.verify(b"{\"pk\":\"USER#2\"}\n").unwrap_err().to_string();
        assert!(message.contains("items-00001.jsonl is damaged"), "{message}");
        assert_eq!(sha256(b"abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }

    #[test]
    fn kinds_are_partition_key_prefixes() {
        assert_eq!(kind_of("USER#01H"), "USER");
        assert_eq!(kind_of("POPULAR"), "POPULAR");
    }
}
