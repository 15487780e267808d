//! `docs/api.md` is the served OpenAPI document rendered as markdown, so the HTTP reference
//! cannot drift from the code: this test renders `/api/openapi.json` of a real `roost serve`
//! and fails when the file differs. `ROOST_BLESS=1 cargo test -p roost --test api_docs`
//! rewrites the file instead.
//!
//! The renderer reads only the JSON (OpenAPI 3.1), never the api crate's types, and sorts
//! every JSON map it walks, so the output does not depend on how the document is built.

mod common;

use std::fmt::Write;
use std::path::Path;

use common::Server;
use serde_json::{Map, Value};

const DOC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/api.md");
/// OpenAPI's order of the operations of one path.
const METHODS: [&str; 8] = ["get", "put", "post", "patch", "delete", "head", "options", "trace"];

#[tokio::test]
async fn docs_api_md_is_the_served_openapi_document() {
    let server = Server::start().await;
    let doc = server.client().get("/api/openapi.json").await.expect(200);
    let rendered = render(&doc);
    let path = Path::new(DOC);
    if std::env::var_os("ROOST_BLESS").is_some() {
        std::fs::write(path, &rendered).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
        return;
    }
    let current = std::fs::read_to_string(path).unwrap_or_default();
    if current != rendered {
        let line = current.lines().zip(rendered.lines()).position(|(a, b)| a != b);
        let line = line.unwrap_or_else(|| current.lines().count().min(rendered.lines().count()));
        panic!(
            "docs/api.md is not the served OpenAPI document (first difference at line {}).\n\
             Run `ROOST_BLESS=1 cargo test -p roost --test api_docs` to rewrite it, and commit it.",
            line + 1
        );
    }
}

/// The whole page: title and introduction, one section per tag, then the objects.
fn render(doc: &Value) -> String {
    let mut out = String::new();
    let info = &doc["info"];
    let _ = writeln!(out, "# {} (version {})\n", text(&info["title"]), text(&info["version"]));
    out.push_str(
        "<!-- Generated from /api/openapi.json by crates/roost/tests/api_docs.rs: do not edit.\n     \
         ROOST_BLESS=1 cargo test -p roost --test api_docs rewrites it. -->\n\n",
    );
    push_block(&mut out, text(&info["description"]));
    let schemas = &doc["components"]["schemas"];
    for section in by_tag(doc) {
        let _ = writeln!(out, "## {}\n", section.tag);
        push_block(&mut out, section.description);
        for (method, path, op) in section.operations {
            render_operation(&mut out, method, path, op, schemas);
        }
    }
    out.push_str("## Objects\n\n");
    for (name, schema) in sorted(schemas) {
        render_object(&mut out, name, schema, schemas);
    }
    out.truncate(out.trim_end().len());
    out.push('\n');
    out
}

/// One tag's part of the page.
struct Section<'a> {
    tag: &'a str,
    description: &'a str,
    /// `(method, path, operation)`.
    operations: Vec<(&'static str, &'a str, &'a Value)>,
}

/// The operations grouped by their first tag: tags in the order of the document's `tags`
/// list, then any others by name; operations by path, then in OpenAPI's method order.
fn by_tag(doc: &Value) -> Vec<Section<'_>> {
    let listed = doc["tags"].as_array().map(Vec::as_slice).unwrap_or_default();
    let mut sections: Vec<Section> = listed
        .iter()
        .map(|t| Section {
            tag: text(&t["name"]),
            description: text(&t["description"]),
            operations: Vec::new(),
        })
        .collect();
    for (path, item) in sorted(&doc["paths"]) {
        for method in METHODS {
            let Some(op) = item.get(method) else { continue };
            let tag = op["tags"][0].as_str().unwrap_or("other");
            let index = match sections.iter().position(|s| s.tag == tag) {
                Some(index) => index,
                None => {
                    sections.push(Section { tag, description: "", operations: Vec::new() });
                    sections.len() - 1
                }
            };
            sections[index].operations.push((method, path.as_str(), op));
        }
    }
    sections[listed.len()..].sort_by_key(|s| s.tag);
    sections.retain(|s| !s.operations.is_empty());
    sections
}

fn render_operation(out: &mut String, method: &str, path: &str, op: &Value, named: &Value) {
    let _ = writeln!(out, "### `{} {path}`\n", method.to_uppercase());
    push_block(out, text(&op["summary"]));
    push_block(out, text(&op["description"]));
    let auth: Vec<&Map<String, Value>> =
        op["security"].as_array().into_iter().flatten().filter_map(Value::as_object).collect();
    let schemes: Vec<&str> = auth.iter().flat_map(|r| r.keys()).map(String::as_str).collect();
    // An empty requirement among others: the token is optional.
    let optional = if auth.iter().any(|r| r.is_empty()) { "optional " } else { "" };
    let auth = if schemes.is_empty() {
        "none".to_string()
    } else {
        format!("{optional}{} token", schemes.join(", "))
    };
    let _ = writeln!(out, "Auth: {auth}.\n");
    if let Some(params) = op["parameters"].as_array().filter(|p| !p.is_empty()) {
        out.push_str("| parameter | in | type | required | description |\n|---|---|---|---|---|\n");
        for p in params {
            let required = if p["required"].as_bool() == Some(true) { "yes" } else { "no" };
            let _ = writeln!(
                out,
                "| `{}` | {} | {} | {required} | {} |",
                text(&p["name"]),
                text(&p["in"]),
                type_of(&p["schema"], named),
                cell(text(&p["description"]))
            );
        }
        out.push('\n');
    }
    if let Some(content) = op["requestBody"]["content"].as_object() {
        let _ = writeln!(out, "Request body: {}.\n", bodies(content, named));
    }
    out.push_str("| status | description | body |\n|---|---|---|\n");
    for (status, response) in sorted(&op["responses"]) {
        let body = response["content"].as_object().map(|c| bodies(c, named)).unwrap_or_default();
        let _ = writeln!(out, "| {status} | {} | {body} |", cell(text(&response["description"])));
    }
    out.push('\n');
}

fn render_object(out: &mut String, name: &str, schema: &Value, named: &Value) {
    let _ = writeln!(out, "### {name}\n");
    push_block(out, text(&schema["description"]));
    let Some(properties) = schema["properties"].as_object() else {
        let _ = writeln!(out, "Type: {}.\n", type_of(schema, &Value::Null));
        return;
    };
    let required: Vec<&str> =
        schema["required"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
    out.push_str("| field | type | required | description |\n|---|---|---|---|\n");
    for (field, property) in properties.iter().collect::<std::collections::BTreeMap<_, _>>() {
        let yes = if required.contains(&field.as_str()) { "yes" } else { "no" };
        let _ = writeln!(
            out,
            "| `{field}` | {} | {yes} | {} |",
            type_of(property, named),
            cell(text(&property["description"]))
        );
    }
    out.push('\n');
}

/// Request or response bodies: the schema of each media type, with the media type unless it
/// is JSON.
fn bodies(content: &Map<String, Value>, named: &Value) -> String {
    let mut parts: Vec<String> = content
        .iter()
        .map(|(media, c)| {
            let schema = if c["schema"].is_null() { String::new() } else { type_of(&c["schema"], named) };
            match (media.as_str(), schema.is_empty()) {
                ("application/json", _) => schema,
                (_, true) => format!("`{media}`"),
                (_, false) => format!("`{media}`: {schema}"),
            }
        })
        .collect();
    parts.sort();
    parts.join(", ")
}

/// A schema as a short type: a link to a named object (also for an inline copy of a named schema,
/// as generics produce), `[T]` for arrays, `A or B` for unions.
fn type_of(schema: &Value, named: &Value) -> String {
    let link = |name: &str| format!("[{name}](#{})", name.to_lowercase());
    if let Some(reference) = schema["$ref"].as_str() {
        return link(reference.rsplit('/').next().unwrap_or(reference));
    }
    if let Some((name, _)) = sorted(named).into_iter().find(|(_, s)| *s == schema) {
        return link(name);
    }
    for union in ["oneOf", "anyOf", "allOf"] {
        if let Some(variants) = schema[union].as_array() {
            return variants.iter().map(|v| type_of(v, named)).collect::<Vec<_>>().join(" or ");
        }
    }
    if let Some(values) = schema["enum"].as_array() {
        return values.iter().map(|v| format!("`{v}`")).collect::<Vec<_>>().join(" or ");
    }
    let one = |t: &str| match (t, schema["format"].as_str()) {
        ("array", _) => format!("[{}]", type_of(&schema["items"], named)),
        ("null", _) | (_, None) => t.to_string(),
        (_, Some(format)) => format!("{t} ({format})"),
    };
    match &schema["type"] {
        Value::String(t) => one(t),
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).map(one).collect::<Vec<_>>().join(" or "),
        _ if schema.is_object() => "object".into(),
        _ => "any".into(),
    }
}

/// A JSON object's entries sorted by key (whether or not serde_json keeps document order).
fn sorted(value: &Value) -> Vec<(&String, &Value)> {
    let mut entries: Vec<_> = value.as_object().into_iter().flatten().collect();
    entries.sort_by(|a, b| a.0.cmp(b.0));
    entries
}

fn text(value: &Value) -> &str {
    value.as_str().unwrap_or_default().trim()
}

/// A paragraph (skipped when empty).
fn push_block(out: &mut String, block: &str) {
    if !block.is_empty() {
        out.push_str(block);
        out.push_str("\n\n");
    }
}

/// Text fit for one table cell: one line, pipes escaped.
fn cell(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ").replace('|', "\\|")
}
