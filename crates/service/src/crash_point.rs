//! Debug builds only, for the process-fault tests: a crash at an exact point of a write,
//! which a `kill -9` from outside hits only by chance.
//!
//! With `ROOST_TEST_CRASH_AFTER_COMMIT=<path>`, while that file exists and holds the name
//! of a write (`follow`, `unfollow`), the process aborts the moment that write's
//! transaction commits: before the cache hears of it and before the client is answered.
//! Release builds compile this to nothing.

/// Dies here if the switch file names `write` (debug builds; a no-op otherwise).
pub(crate) fn after_commit(write: &str) {
    #[cfg(debug_assertions)]
    if let Some(path) = std::env::var_os("ROOST_TEST_CRASH_AFTER_COMMIT") {
        if std::fs::read_to_string(path).is_ok_and(|named| named.trim() == write) {
            eprintln!("crashing on purpose: a {write} just committed (ROOST_TEST_CRASH_AFTER_COMMIT)");
            std::process::abort();
        }
    }
    #[cfg(not(debug_assertions))]
    let _ = write;
}
