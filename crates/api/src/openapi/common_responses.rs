//! The answers every operation of a kind can give, added to the document in one place
//! instead of to each annotation: the conventions of docs/api.md (crates/api/src/openapi_intro.md)
//! made part of each operation, so a client (or schemathesis) reading one operation sees
//! every status it may get.
//!
//! - every operation: 429 (abuse limits) and 503 (an engine down, the request timeout, load
//!   shedding at the limit of requests in flight);
//! - an operation that reads a token, required or optional: 401 (a token that is sent but
//!   not valid is refused even where none is needed);
//! - an operation with query parameters or a body: 400 (malformed) and 422 (well-formed but
//!   of the wrong shape, or a value out of range);
//! - an operation with a body: 413 (over the body limit).
//!
//! An annotation that lists one of these itself keeps its own description, if it gives one. A JSON body
//! whose object has no required field is marked optional, since an empty body counts as `{}`.

use serde_json::{json, Map, Value};

const METHODS: [&str; 5] = ["get", "put", "post", "patch", "delete"];

/// Completes every operation of `document` (the served JSON) with the common answers.
pub(crate) fn add(document: &mut Value) {
    let schemas = document["components"]["schemas"].clone();
    let Some(paths) = document.get_mut("paths").and_then(Value::as_object_mut) else { return };
    for item in paths.values_mut() {
        for method in METHODS {
            if let Some(operation) = item.get_mut(method).and_then(Value::as_object_mut) {
                complete(operation, &schemas);
            }
        }
    }
}

fn complete(operation: &mut Map<String, Value>, schemas: &Value) {
    let reads_token = operation
        .get("security")
        .and_then(Value::as_array)
        .is_some_and(|requirements| requirements.iter().any(|r| r.get("bearer").is_some()));
    let has_query = operation
        .get("parameters")
        .and_then(Value::as_array)
        .is_some_and(|params| params.iter().any(|p| p["in"] == "query"));
    let has_body = operation.contains_key("requestBody");
    if has_body {
        mark_empty_body_optional(&mut operation["requestBody"], schemas);
    }
    let mut add = vec![
        ("429", "`rate_limited`: too many requests; `Retry-After` says when to try again"),
        ("503", "`unavailable`: a backing engine does not answer, or the answer took too long; `overloaded`: too many requests in flight. `Retry-After` says when to try again"),
    ];
    if reads_token {
        add.push((
            "401",
            "`unauthorized`: the token is missing (where one is required), invalid, expired or revoked",
        ));
    }
    if has_query || has_body {
        add.push((
            "400",
            "`bad_request`: a malformed query string or body, or a cursor that is not one of ours",
        ));
        add.push(("422", "`validation_failed`: a value that parsed but breaks a rule; the message names it"));
    }
    if has_body {
        add.push(("413", "`too_large`: the body is over the size limit"));
    }
    let responses = operation.entry("responses").or_insert_with(|| json!({}));
    let Some(responses) = responses.as_object_mut() else { return };
    for (status, description) in add {
        let response = responses.entry(status).or_insert_with(|| error_response(description));
        if response.get("description").is_none_or(|d| d == "") {
            response["description"] = description.into();
        }
    }
}

fn error_response(description: &str) -> Value {
    json!({
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}
    })
}

/// An empty body is read as `{}`: a body is required only when `{}` would not do.
fn mark_empty_body_optional(body: &mut Value, schemas: &Value) {
    let Some(schema) = body["content"]["application/json"]["schema"]["$ref"].as_str() else { return };
    let Some(name) = schema.strip_prefix("#/components/schemas/") else { return };
    let object = &schemas[name];
    let has_required = object["required"].as_array().is_some_and(|r| !r.is_empty());
    if object["type"] == "object" && !has_required {
        body["required"] = Value::Bool(false);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn document(operation: Value) -> Value {
        json!({
            "paths": {"/x": {"post": operation}},
            "components": {"schemas": {"Edit": {"type": "object", "properties": {"bio": {"type": "string"}}}}}
        })
    }

    #[test]
    fn a_token_query_and_body_bring_their_statuses_and_keep_an_annotations_own() {
        let mut doc = document(json!({
            "security": [{}, {"bearer": []}],
            "parameters": [{"name": "limit", "in": "query"}],
            "requestBody": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Edit"}}}, "required": true},
            "responses": {"200": {"description": "ok"}, "401": {"description": ""}, "422": {"description": "mine"}}
        }));
        add(&mut doc);
        let op = &doc["paths"]["/x"]["post"];
        let statuses: Vec<&String> = op["responses"].as_object().unwrap().keys().collect();
        assert_eq!(statuses, ["200", "400", "401", "413", "422", "429", "503"]);
        assert_eq!(op["responses"]["422"]["description"], "mine");
        assert!(op["responses"]["401"]["description"].as_str().unwrap().starts_with("`unauthorized`"));
        assert_eq!(op["requestBody"]["required"], false, "every field optional: {{}} will do");
    }

    #[test]
    fn a_public_operation_without_input_gets_only_the_overload_answers() {
        let mut doc = document(json!({"responses": {"200": {"description": "ok"}}}));
        add(&mut doc);
        let statuses: Vec<&String> =
            doc["paths"]["/x"]["post"]["responses"].as_object().unwrap().keys().collect();
        assert_eq!(statuses, ["200", "429", "503"]);
    }
}
