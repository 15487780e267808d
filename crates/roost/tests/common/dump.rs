//! Everything a deployment keeps, as text, for tests that must prove something is gone
//! (erasure): every store item and every media object's path.
//!
//! Embedded mode only: it reads the SQLite file and the media folder under the data dir.
//! In distributed mode the same would take a DynamoDB Scan and an S3 listing; the store and
//! media conformance suites prove the engines behave alike, so the embedded proof stands
//! for both.

use std::path::Path;

use super::Server;

impl Server {
    /// Every store item (expired or not) as one line: its keys, index keys and attributes.
    pub fn dump_store(&self) -> Vec<String> {
        assert!(!super::distributed(), "dump_store reads the embedded store only");
        let path = self.setup().data_dir().join("roost.db");
        let flags = rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let db = rusqlite::Connection::open_with_flags(&path, flags).expect("opening the store read-only");
        let mut rows = db
            .prepare("SELECT pk, sk, IFNULL(gsi1pk, ''), IFNULL(gsi1sk, ''), IFNULL(gsi2pk, ''), IFNULL(gsi2sk, ''), attrs FROM items")
            .unwrap();
        let lines = rows
            .query_map([], |row| {
                let fields: Vec<String> = (0..7).map(|i| row.get(i)).collect::<Result<_, _>>()?;
                Ok(fields.join(" | "))
            })
            .unwrap();
        lines.collect::<Result<_, _>>().unwrap()
    }

    /// The path of every media object, relative to the media folder.
    pub fn dump_media(&self) -> Vec<String> {
        assert!(!super::distributed(), "dump_media reads the embedded media folder only");
        let root = self.setup().data_dir().join("media");
        let mut found = Vec::new();
        walk(&root, &root, &mut found);
        found
    }
}

fn walk(root: &Path, dir: &Path, found: &mut Vec<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            walk(root, &path, found);
        } else {
            found.push(path.strip_prefix(root).unwrap().display().to_string());
        }
    }
}
