//! Everything a deployment keeps, as text, for tests that must prove something is gone
//! (erasure): every store item and every media object's path.
//!
//! Embedded: the SQLite file and the media folder under the data dir. Distributed: a
//! DynamoDB Scan of the deployment's table and a listing of its bucket.

use std::path::Path;

use super::Server;

impl Server {
    /// Every store item (expired or not) as one line: its keys, index keys and attributes.
    pub async fn dump_store(&self) -> Vec<String> {
        match self.setup().flag("--dynamodb-table") {
            Some(table) => self.scan_table(table).await,
            None => self.read_sqlite(),
        }
    }

    fn read_sqlite(&self) -> Vec<String> {
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

    async fn scan_table(&self, table: &str) -> Vec<String> {
        let endpoint = self.setup().flag("--dynamodb-endpoint").expect("the table's endpoint");
        let config = aws_config::from_env().endpoint_url(endpoint).load().await;
        let client = aws_sdk_dynamodb::Client::new(&config);
        let mut lines = Vec::new();
        let mut start = None;
        loop {
            let page = client.scan().table_name(table).set_exclusive_start_key(start).send().await.unwrap();
            lines.extend(page.items().iter().map(|item| format!("{item:?}")));
            match page.last_evaluated_key() {
                Some(key) if !key.is_empty() => start = Some(key.clone()),
                _ => return lines,
            }
        }
    }

    /// The path of every media object, relative to the media folder or bucket.
    pub async fn dump_media(&self) -> Vec<String> {
        let Some(bucket) = self.setup().flag("--s3-bucket") else {
            let root = self.setup().data_dir().join("media");
            let mut found = Vec::new();
            walk(&root, &root, &mut found);
            return found;
        };
        use futures::TryStreamExt;
        use object_store::ObjectStore;
        let endpoint = self.setup().flag("--s3-endpoint").expect("the bucket's endpoint");
        let s3 = object_store::aws::AmazonS3Builder::from_env()
            .with_bucket_name(bucket)
            .with_endpoint(endpoint)
            .with_allow_http(true)
            .with_virtual_hosted_style_request(false)
            .build()
            .unwrap();
        let objects: Vec<_> = s3.list(None).try_collect().await.unwrap();
        objects.into_iter().map(|o| o.location.to_string()).collect()
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
