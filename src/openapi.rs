//! The OpenAPI document: its top level, and the pass that makes it true to the server.
//!
//! Handlers declare their own success bodies and the errors particular to them. What every
//! operation of a kind can answer is added here once, from what the operation declares:
//! a JSON body can be malformed (400), too large (413), of another content type (415) or
//! invalid (422); query parameters can be invalid (422); a path names something that may not
//! exist (404); a secured operation needs a caller (401) who may lack the right (403); a few
//! operations are throttled (429); anything that reads the database can meet it down (503).
//! Every error is `application/problem+json` with the `Problem` schema. The limits the server
//! enforces are written into the schemas from the same constants the validation uses.

use serde_json::{Map, Value, json};
use utoipa::OpenApi;

/// The document's top level; paths are collected from the feature routers.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "ipmat API",
        description = "Food world cup and taste quiz. Every error is an RFC 9457 problem \
            (`application/problem+json`) with a stable `code`."
    ),
    components(schemas(crate::error::Problem, crate::error::FieldError)),
    modifiers(&SecurityAddon)
)]
pub struct ApiDoc;

struct SecurityAddon;

impl utoipa::Modify for SecurityAddon {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{
            ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme,
        };
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        components.add_security_scheme(
            "cookie",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(
                crate::accounts::auth::SESSION_COOKIE,
            ))),
        );
    }
}

const METHODS: [&str; 6] = ["get", "put", "post", "delete", "patch", "head"];

/// Operations that answer 429 with `Retry-After` when a client or an account goes too fast.
const THROTTLED: &[(&str, &str)] = &[
    ("post", "/api/v1/auth/login"),
    ("post", "/api/v1/auth/signup"),
    ("post", "/api/v1/auth/guest"),
    ("post", "/api/v1/images"),
    ("post", "/api/v1/books/{id}/comments"),
];

/// Operations that never touch the database or storage, so never answer 503.
const NO_DEPENDENCY: &[(&str, &str)] = &[("get", "/api/v1/config")];

/// Operations whose JSON body may be left out (every field then takes its default).
const OPTIONAL_BODY: &[(&str, &str)] = &[("post", "/api/v1/books/{id}/worldcups")];

/// The served document: the collected one with every implied status, the problem content
/// type, descriptions and the enforced limits filled in.
pub fn finish(openapi: utoipa::openapi::OpenApi) -> Value {
    let mut doc = serde_json::to_value(openapi).expect("an OpenAPI document serializes");
    if let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) {
        for (path, item) in paths.iter_mut() {
            for method in METHODS {
                if let Some(op) = item.get_mut(method).and_then(Value::as_object_mut) {
                    complete_operation(method, path, op);
                }
            }
        }
    }
    if let Some(schemas) = doc
        .pointer_mut("/components/schemas")
        .and_then(Value::as_object_mut)
    {
        apply_schema_limits(schemas);
    }
    doc
}

/// Operations served outside the language scope of `crate::lang` (their own router).
const NO_LANGUAGE: &[(&str, &str)] = &[("post", "/api/v1/images")];

/// The parameters every API operation takes to choose its answer's language (`crate::lang`).
fn language_parameters() -> [Value; 3] {
    [
        json!({
            "name": "lang", "in": "query", "required": false,
            "description": "The answer's language; beats `Accept-Language`. Korean is the default, \
                and the fallback wherever no English is written.",
            "schema": { "type": "string", "enum": ["ko", "en"] }
        }),
        json!({
            "name": "translations", "in": "query", "required": false,
            "description": "Also give each language's own text of foods, books and categories \
                (`name_ko`, `name_en`, …), as the admin forms need; admin writes always do.",
            "schema": { "type": "boolean", "default": false }
        }),
        json!({
            "name": "Accept-Language", "in": "header", "required": false,
            "description": "Used when `lang` is absent: the supported language (`ko`, `en`, \
                any region such as `en-US`) of the highest q-value. Answers carry \
                `Content-Language` and `Vary: Accept-Language`.",
            "schema": { "type": "string" }
        }),
    ]
}

fn complete_operation(method: &str, path: &str, op: &mut Map<String, Value>) {
    let mut implied: Vec<u16> = Vec::new();
    if !NO_LANGUAGE.contains(&(method, path)) {
        let params = op
            .entry("parameters")
            .or_insert_with(|| json!([]))
            .as_array_mut()
            .expect("parameters is an array");
        params.extend(language_parameters());
    }
    let body_type = op
        .get("requestBody")
        .and_then(|b| b.get("content"))
        .and_then(Value::as_object)
        .and_then(|c| c.keys().next().cloned());
    if OPTIONAL_BODY.contains(&(method, path))
        && let Some(body) = op.get_mut("requestBody").and_then(Value::as_object_mut)
    {
        body.insert("required".into(), json!(false));
    }
    match body_type.as_deref() {
        Some("application/json") => implied.extend([400, 413, 415, 422]),
        Some(_) => implied.extend([413, 415, 422]),
        None => {}
    }
    let params = op
        .get("parameters")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if params.iter().any(|p| p["in"] == "path") {
        implied.push(404);
    }
    if params.iter().any(|p| p["in"] == "query") {
        implied.push(422);
    }
    if let Some(params) = op.get_mut("parameters").and_then(Value::as_array_mut) {
        for p in params {
            apply_param_limits(p);
        }
    }
    let secured = op
        .get("security")
        .and_then(Value::as_array)
        .is_some_and(|s| !s.is_empty());
    if secured {
        implied.extend([401, 403]);
    }
    if THROTTLED.contains(&(method, path)) {
        implied.push(429);
    }
    if !NO_DEPENDENCY.contains(&(method, path)) {
        implied.push(503);
    }
    if !op.contains_key("description")
        && let Some(summary) = op.get("summary").cloned()
    {
        op.insert("description".into(), summary);
    }
    let responses = op
        .entry("responses")
        .or_insert_with(|| json!({}))
        .as_object_mut()
        .expect("responses is an object");
    for status in implied {
        responses
            .entry(status.to_string())
            .or_insert_with(|| json!({ "description": implied_description(status) }));
    }
    for (status, response) in responses.iter_mut() {
        let Some(response) = response.as_object_mut() else {
            continue;
        };
        let code: u16 = status.parse().unwrap_or(0);
        let empty = response
            .get("description")
            .and_then(Value::as_str)
            .is_none_or(str::is_empty);
        if empty {
            response.insert("description".into(), json!(implied_description(code)));
        }
        if code >= 400 {
            response.insert(
                "content".into(),
                json!({ "application/problem+json": {
                    "schema": { "$ref": "#/components/schemas/Problem" }
                }}),
            );
            if code == 429 || code == 503 {
                response.insert(
                    "headers".into(),
                    json!({ "Retry-After": {
                        "description": "seconds to wait before trying again",
                        "schema": { "type": "integer", "minimum": 0 }
                    }}),
                );
            }
        }
    }
}

/// What a status means when the operation gives no words of its own.
fn implied_description(status: u16) -> &'static str {
    match status {
        200 => "Success.",
        201 => "Created.",
        202 => "Accepted.",
        204 => "Done; no content.",
        304 => "Not modified since the given ETag.",
        400 => "The body is not JSON (`malformed_json`).",
        401 => "No valid session or token (`unauthorized`).",
        403 => "The caller may not do this (`forbidden`).",
        404 => "Nothing exists at this address (`not_found`).",
        409 => "The request conflicts with the current state (`conflict`).",
        413 => "The body is too large (`payload_too_large`).",
        415 => "The body is not of the accepted content type (`unsupported_media_type`).",
        422 => "The request is well-formed but invalid (`validation_failed`, with `errors`).",
        429 => "Too many attempts; wait `Retry-After` seconds (`rate_limited`).",
        503 => {
            "A dependency (database or storage) is down; retry after `Retry-After` (`unavailable`)."
        }
        _ => "See the problem's `code`.",
    }
}

/// A limit of one property of a schema, or of a query parameter.
struct Limit {
    min: Option<i64>,
    max: Option<i64>,
    min_len: Option<usize>,
    max_len: Option<usize>,
    pattern: Option<&'static str>,
    format: Option<&'static str>,
    one_of: Option<&'static [&'static str]>,
}

const NONE: Limit = Limit {
    min: None,
    max: None,
    min_len: None,
    max_len: None,
    pattern: None,
    format: None,
    one_of: None,
};

const fn length(min: usize, max: usize) -> Limit {
    Limit {
        min_len: Some(min),
        max_len: Some(max),
        ..NONE
    }
}

const fn range(min: i64, max: i64) -> Limit {
    Limit {
        min: Some(min),
        max: Some(max),
        ..NONE
    }
}

/// (schema, property, limit): the constants are those the validation code checks.
fn schema_limits() -> Vec<(&'static str, &'static str, Limit)> {
    use crate::catalog::model::limits as catalog;
    use crate::limits as shared;
    let username = Limit {
        pattern: Some(shared::USERNAME_PATTERN),
        ..length(
            *shared::USERNAME_CHARS.start(),
            *shared::USERNAME_CHARS.end(),
        )
    };
    let password = length(
        *shared::PASSWORD_CHARS.start(),
        *shared::PASSWORD_CHARS.end(),
    );
    let date = Limit {
        format: Some("date"),
        ..NONE
    };
    let title = length(1, crate::quiz::model::TITLE_MAX);
    // Trimmed before the length is checked, so at least one character must not be a space.
    let display_name = || Limit {
        pattern: Some(r"\S"),
        ..length(1, crate::accounts::profile::DISPLAY_NAME_MAX)
    };
    let mut limits = vec![
        ("SignupRequest", "display_name", display_name()),
        ("CreateGuestRequest", "display_name", display_name()),
        ("UpdateMeRequest", "display_name", display_name()),
        ("SignupRequest", "username", username),
        ("SignupRequest", "password", password),
        ("SignupRequest", "birth_date", date),
        (
            "User",
            "birth_date",
            Limit {
                format: Some("date"),
                ..NONE
            },
        ),
        ("CreateFoodRequest", "name", length(1, catalog::FOOD_NAME)),
        (
            "CreateFoodRequest",
            "description",
            length(0, catalog::DESCRIPTION),
        ),
        ("CreateFoodRequest", "details", length(0, catalog::DETAILS)),
        ("CreateFoodRequest", "credit", length(0, catalog::CREDIT)),
        ("UpdateFoodRequest", "name", length(1, catalog::FOOD_NAME)),
        (
            "UpdateFoodRequest",
            "description",
            length(0, catalog::DESCRIPTION),
        ),
        ("UpdateFoodRequest", "details", length(0, catalog::DETAILS)),
        ("UpdateFoodRequest", "credit", length(0, catalog::CREDIT)),
        (
            "CreateCategoryRequest",
            "name",
            length(1, catalog::CATEGORY_NAME),
        ),
        ("CreateBookRequest", "name", length(1, catalog::BOOK_NAME)),
        ("UpdateBookRequest", "name", length(1, catalog::BOOK_NAME)),
        (
            "UpdateCategoryRequest",
            "name",
            length(1, catalog::CATEGORY_NAME),
        ),
    ];
    // The English texts, wherever they can be written.
    let english = [
        ("CreateFoodRequest", "name_en", catalog::FOOD_NAME_EN),
        (
            "CreateFoodRequest",
            "description_en",
            catalog::DESCRIPTION_EN,
        ),
        ("CreateFoodRequest", "details_en", catalog::DETAILS_EN),
        ("UpdateFoodRequest", "name_en", catalog::FOOD_NAME_EN),
        (
            "UpdateFoodRequest",
            "description_en",
            catalog::DESCRIPTION_EN,
        ),
        ("UpdateFoodRequest", "details_en", catalog::DETAILS_EN),
        (
            "CreateCategoryRequest",
            "name_en",
            catalog::CATEGORY_NAME_EN,
        ),
        (
            "UpdateCategoryRequest",
            "name_en",
            catalog::CATEGORY_NAME_EN,
        ),
        ("CreateBookRequest", "name_en", catalog::BOOK_NAME_EN),
        (
            "CreateBookRequest",
            "description_en",
            catalog::BOOK_DESCRIPTION_EN,
        ),
        ("UpdateBookRequest", "name_en", catalog::BOOK_NAME_EN),
        (
            "UpdateBookRequest",
            "description_en",
            catalog::BOOK_DESCRIPTION_EN,
        ),
    ];
    limits.extend([
        ("CreateExamRequest", "title", title),
        ("StartWorldcupRequest", "size", range(2, 64)),
    ]);
    limits.extend(english.map(|(schema, field, max)| (schema, field, length(0, max))));
    limits
}

/// Query parameters by name: the same limits wherever they appear.
fn param_limit(name: &str) -> Option<Limit> {
    match name {
        "limit" => Some(range(1, 200)),
        "count" => Some(range(1, crate::quiz::model::MAX_PAIR_COUNT)),
        "sort" => Some(Limit {
            one_of: Some(crate::community::books::COMMUNITY_SORTS),
            ..NONE
        }),
        "from" | "to" => Some(Limit {
            format: Some("date"),
            ..NONE
        }),
        _ => None,
    }
}

fn apply_limit(target: &mut Map<String, Value>, limit: &Limit) {
    if let Some(v) = limit.min {
        target.insert("minimum".into(), json!(v));
    }
    if let Some(v) = limit.max {
        target.insert("maximum".into(), json!(v));
    }
    if let Some(v) = limit.min_len {
        target.insert("minLength".into(), json!(v));
    }
    if let Some(v) = limit.max_len {
        target.insert("maxLength".into(), json!(v));
    }
    if let Some(v) = limit.pattern {
        target.insert("pattern".into(), json!(v));
    }
    if let Some(v) = limit.format {
        target.insert("format".into(), json!(v));
    }
    if let Some(v) = limit.one_of {
        target.insert("enum".into(), json!(v));
    }
}

fn apply_schema_limits(schemas: &mut Map<String, Value>) {
    for (schema, property, limit) in schema_limits() {
        let Some(prop) = schemas
            .get_mut(schema)
            .and_then(|s| s.get_mut("properties"))
            .and_then(|p| p.get_mut(property))
            .and_then(Value::as_object_mut)
        else {
            continue;
        };
        apply_limit(prop, &limit);
    }
}

fn apply_param_limits(param: &mut Value) {
    if param["in"] != "query" {
        return;
    }
    let Some(limit) = param["name"].as_str().and_then(param_limit) else {
        return;
    };
    if let Some(schema) = param.get_mut("schema").and_then(Value::as_object_mut) {
        apply_limit(schema, &limit);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(doc: &Value, method: &str, path: &str) -> Value {
        doc["paths"][path][method].clone()
    }

    #[test]
    fn implied_statuses_follow_what_an_operation_declares() {
        let doc = finish(crate::app::api().1);
        let signup = op(&doc, "post", "/api/v1/auth/signup");
        for status in ["400", "413", "415", "422", "429", "503"] {
            assert!(signup["responses"][status].is_object(), "signup {status}");
        }
        let food = op(&doc, "get", "/api/v1/foods/{id}");
        assert!(food["responses"]["404"].is_object());
        assert!(
            food["responses"]["401"].is_null(),
            "public reads need no caller"
        );
        let create = op(&doc, "post", "/api/v1/foods");
        assert!(create["responses"]["401"].is_object());
        assert!(create["responses"]["403"].is_object());
        let problem = &create["responses"]["403"]["content"]["application/problem+json"];
        assert_eq!(problem["schema"]["$ref"], "#/components/schemas/Problem");
    }

    #[test]
    fn every_response_and_operation_has_a_description() {
        let doc = finish(crate::app::api().1);
        for (path, item) in doc["paths"].as_object().unwrap() {
            for method in METHODS {
                let Some(op) = item.get(method) else { continue };
                assert!(op["description"].is_string(), "{method} {path}");
                for (status, r) in op["responses"].as_object().unwrap() {
                    let d = r["description"].as_str().unwrap_or("");
                    assert!(!d.is_empty(), "{method} {path} {status}");
                    if status.starts_with('4') || status.starts_with('5') {
                        assert!(
                            r["content"]["application/problem+json"].is_object(),
                            "{method} {path} {status} is a problem"
                        );
                        assert!(r["content"]["application/json"].is_null());
                    }
                }
            }
        }
    }

    #[test]
    fn schemas_carry_the_limits_the_validation_checks() {
        let doc = finish(crate::app::api().1);
        let username = &doc["components"]["schemas"]["SignupRequest"]["properties"]["username"];
        assert_eq!(username["minLength"], 3);
        assert_eq!(username["maxLength"], 15);
        assert_eq!(username["pattern"], crate::limits::USERNAME_PATTERN);
        let password = &doc["components"]["schemas"]["SignupRequest"]["properties"]["password"];
        assert_eq!(password["maxLength"], 128);
        let limit = op(&doc, "get", "/api/v1/foods")["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == "limit")
            .cloned()
            .unwrap();
        assert_eq!(limit["schema"]["maximum"], 200);
        for schema in ["SignupRequest", "CreateGuestRequest", "UpdateMeRequest"] {
            let name = &doc["components"]["schemas"][schema]["properties"]["display_name"];
            assert_eq!(
                name["maxLength"],
                crate::accounts::profile::DISPLAY_NAME_MAX,
                "{schema}"
            );
        }
        let sort = op(&doc, "get", "/api/v1/community/books")["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == "sort")
            .cloned()
            .unwrap();
        assert_eq!(sort["schema"]["enum"], json!(["popular", "new"]));
    }

    #[test]
    fn a_body_the_server_defaults_is_not_required() {
        let doc = finish(crate::app::api().1);
        let start = op(&doc, "post", "/api/v1/books/{id}/worldcups");
        assert_eq!(start["requestBody"]["required"], false);
        let signup = op(&doc, "post", "/api/v1/auth/signup");
        assert_eq!(signup["requestBody"]["required"], true);
    }
}
