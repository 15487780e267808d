//! Builds the web client and embeds it: copies `web/dist` to `$OUT_DIR/app` and writes
//! `$OUT_DIR/assets.rs`, a table of `include_bytes!` over the copy.
//!
//! npm runs only when `web/dist` is missing or stale. Staleness is a hash of the app's
//! sources kept in `web/dist/.inputs-hash`, not cargo's fingerprint: `cargo clippy` and
//! `cargo test` run this script separately (different fingerprints), and on a fresh clone
//! the second must find the first one's build rather than run npm again. Without npm the
//! script warns and embeds a stand-in page, so Rust alone still builds and tests the server.

use std::collections::hash_map::DefaultHasher;
use std::fmt::Write as _;
use std::hash::Hasher;
use std::path::{Path, PathBuf};
use std::process::Command;

/// What the build reads besides `src/` (a change to any of them means a rebuild).
const INPUT_FILES: &[&str] =
    &["index.html", "package.json", "package-lock.json", "vite.config.ts", "tsconfig.json"];
const INPUT_DIRS: &[&str] = &["src", "public"];
const STAMP: &str = ".inputs-hash";

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    let web = manifest.join("../../web");
    for input in INPUT_FILES.iter().chain(INPUT_DIRS) {
        println!("cargo:rerun-if-changed={}", web.join(input).display());
    }
    println!("cargo:rerun-if-env-changed=ROOST_SKIP_WEB_BUILD");
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap());
    let dist = web.join("dist");
    let built = match ensure_built(&web, &dist) {
        Ok(()) => true,
        Err(why) => {
            println!("cargo:warning=the web client is not embedded ({why}); `/` serves a page saying how to build it");
            false
        }
    };
    let source = if built { dist } else { write_stand_in(&out) };
    // Embedded from a copy: deleting or rebuilding web/dist by hand later must not break
    // (or silently change) what this build of the crate holds.
    let root = out.join("app");
    let _ = std::fs::remove_dir_all(&root);
    let mut files = Vec::new();
    collect(&source, &mut files);
    for file in &files {
        let copy = root.join(file.strip_prefix(&source).unwrap());
        std::fs::create_dir_all(copy.parent().unwrap()).unwrap();
        std::fs::copy(file, copy).unwrap();
    }
    let mut files = Vec::new();
    collect(&root, &mut files);
    files.sort();
    let mut table = format!("const BUILT: bool = {built};\nstatic FILES: &[Asset] = &[\n");
    for file in &files {
        let path = file.strip_prefix(&root).unwrap().to_string_lossy().replace('\\', "/");
        if path == STAMP {
            continue;
        }
        let absolute = file.canonicalize().unwrap();
        writeln!(
            table,
            "    Asset {{ path: {path:?}, bytes: include_bytes!({:?}), content_type: {:?} }},",
            absolute.display().to_string(),
            content_type(&path)
        )
        .unwrap();
    }
    table.push_str("];\n");
    std::fs::write(out.join("assets.rs"), table).unwrap();
}

/// Leaves an up-to-date build in `dist`, or says why it cannot.
fn ensure_built(web: &Path, dist: &Path) -> Result<(), String> {
    if !web.join("package.json").exists() {
        return Err("web/ is missing".into());
    }
    let hash = inputs_hash(web);
    let stamp = dist.join(STAMP);
    if dist.join("index.html").exists() && std::fs::read_to_string(&stamp).ok().as_deref() == Some(&hash) {
        return Ok(());
    }
    if std::env::var_os("ROOST_SKIP_WEB_BUILD").is_some() {
        return Err("ROOST_SKIP_WEB_BUILD is set".into());
    }
    if Command::new("npm").arg("--version").output().map(|o| !o.status.success()).unwrap_or(true) {
        return Err("npm is not installed: install Node.js 20+ and npm, then rebuild".into());
    }
    // `npm ci` wipes node_modules: only when the lockfile changed since the last install.
    let lock_hash = hash_files(&[web.join("package-lock.json")]);
    let installed = web.join("node_modules/.roost-lock-hash");
    if std::fs::read_to_string(&installed).ok().as_deref() != Some(&lock_hash) {
        npm(web, &["ci", "--no-audit", "--no-fund"]);
        std::fs::write(&installed, &lock_hash).unwrap();
    }
    npm(web, &["run", "build"]);
    std::fs::write(stamp, hash).unwrap();
    Ok(())
}

/// Runs npm in `web/`; a failure (a type error in the app) fails the cargo build with npm's
/// output, which cargo shows.
fn npm(web: &Path, args: &[&str]) {
    let output = Command::new("npm").args(args).current_dir(web).output().expect("running npm");
    if !output.status.success() {
        panic!(
            "`npm {}` failed in web/:\n{}\n{}",
            args.join(" "),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

fn inputs_hash(web: &Path) -> String {
    let mut files: Vec<PathBuf> = INPUT_FILES.iter().map(|f| web.join(f)).filter(|p| p.exists()).collect();
    for dir in INPUT_DIRS {
        collect(&web.join(dir), &mut files);
    }
    files.sort();
    hash_files(&files)
}

/// A hash of the files' names and contents. DefaultHasher is stable within a toolchain, and
/// a toolchain change costs one rebuild at most.
fn hash_files(files: &[PathBuf]) -> String {
    let mut hasher = DefaultHasher::new();
    for file in files {
        hasher.write(file.to_string_lossy().as_bytes());
        hasher.write(&std::fs::read(file).unwrap_or_default());
    }
    format!("{:016x}", hasher.finish())
}

fn collect(dir: &Path, files: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(&path, files);
        } else {
            files.push(path);
        }
    }
}

/// The page served when npm was missing: what to do, in the app's place.
fn write_stand_in(out: &Path) -> PathBuf {
    let root = out.join("stand-in");
    std::fs::create_dir_all(root.join("assets")).unwrap();
    std::fs::write(
        root.join("index.html"),
        concat!(
            "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">",
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">",
            "<title>Roost: the web client is not built</title>",
            "<link rel=\"stylesheet\" href=\"/assets/stand-in.css\"></head>\n<body><main>",
            "<h1>Roost is running</h1><p>The API answers under <code>/api/</code> ",
            "(see docs/api.md), but this binary was built without the web client because ",
            "<code>npm</code> was not found.</p><p>Install Node.js 20 or newer with npm, then ",
            "rebuild: <code>cargo run --release -- serve</code> runs ",
            "<code>npm ci &amp;&amp; npm run build</code> in <code>web/</code> and embeds the app.</p>",
            "</main></body></html>\n"
        ),
    )
    .unwrap();
    std::fs::write(
        root.join("assets/stand-in.css"),
        "body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:4rem auto;padding:0 1rem;color:#1f2328}\
         code{background:#f1f3f5;padding:0 .25em;border-radius:4px}\n",
    )
    .unwrap();
    root
}

fn content_type(path: &str) -> &'static str {
    match path.rsplit('.').next().unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" | "map" => "application/json",
        "webmanifest" => "application/manifest+json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "webp" => "image/webp",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        "txt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}
