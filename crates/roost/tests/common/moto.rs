//! Giving moto its memory back: a distributed setup's table is deleted once the setup and
//! every server started from it are gone.
//!
//! moto keeps every table in one Python process that serves one request at a time. The
//! suite creates hundreds of tables (thousands of users and posts in the bench tests), and
//! left in place they grew moto to gigabytes; its pauses then outlasted the store's
//! deadline and turned into 503s in whichever test ran next.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// Deletes its table when dropped (the last clone of a `Setup` holds it).
#[derive(Debug)]
pub struct TableGuard {
    /// `host:port` of moto's DynamoDB API.
    address: String,
    table: String,
}

impl TableGuard {
    pub fn new(endpoint: &str, table: &str) -> TableGuard {
        let address = endpoint.trim_start_matches("http://").trim_end_matches('/').to_string();
        TableGuard { address, table: table.to_string() }
    }

    /// One `DeleteTable` over a plain socket: `Drop` may run inside the tests' runtime,
    /// where a blocking HTTP client is not allowed. moto checks no signatures; it reads the
    /// region from the credential scope.
    fn delete(&self) -> std::io::Result<()> {
        let body = format!(r#"{{"TableName":"{}"}}"#, self.table);
        let request = format!(
            "POST / HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nContent-Type: application/x-amz-json-1.0\r\n\
             X-Amz-Target: DynamoDB_20120810.DeleteTable\r\n\
             Authorization: AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0\r\n\
             Content-Length: {}\r\n\r\n{body}",
            self.address,
            body.len()
        );
        let mut stream = TcpStream::connect(&self.address)?;
        // moto may be busy with other tests' requests; a table left behind only costs memory.
        stream.set_read_timeout(Some(Duration::from_secs(30)))?;
        stream.write_all(request.as_bytes())?;
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer)?;
        Ok(())
    }
}

impl Drop for TableGuard {
    fn drop(&mut self) {
        if let Err(err) = self.delete() {
            eprintln!("could not delete the test table {} from moto: {err}", self.table);
        }
    }
}
