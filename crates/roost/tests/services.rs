//! Where the suites that need outside services run. Plain `cargo test` builds none of them:
//! the Redis, DynamoDB and S3 engine suites (`roost-distributed`'s tests), the suite of
//! several instances on one deployment (`cluster.rs`) and the HTTP suite in distributed mode
//! need a Redis and a moto server, which `scripts/test.sh` starts and names in
//! `ROOST_TEST_REDIS_URL` and `ROOST_TEST_AWS_ENDPOINT` before it builds them with the
//! `services` features.
//!
//! Without `services` this says so, once per `cargo test`; with it, it fails unless both
//! variables are set, so a run meant to cover the services cannot quietly cover none. It has
//! no test harness (`harness = false`): libtest would capture the note, and a note is no test.

#[cfg(not(feature = "services"))]
fn main() {
    eprintln!(
        "note: the Redis, DynamoDB and S3 suites (and the HTTP suite on them) are not built without \
         the `services` features; scripts/test.sh starts the services and runs them"
    );
}

#[cfg(feature = "services")]
fn main() {
    let missing: Vec<&str> = ["ROOST_TEST_REDIS_URL", "ROOST_TEST_AWS_ENDPOINT"]
        .into_iter()
        .filter(|name| std::env::var_os(name).is_none_or(|value| value.is_empty()))
        .collect();
    if !missing.is_empty() {
        eprintln!(
            "error: built with `services`, but {} {} not set: run the suites through scripts/test.sh, \
             or `source scripts/services.sh; services_install; services_start` first",
            missing.join(" and "),
            if missing.len() == 1 { "is" } else { "are" }
        );
        std::process::exit(1);
    }
}
