//! OpenAPI 3.1 document of the HTTP/JSON API, generated from the compiled proto at build time
//! (`src/build.rs` includes this file; the binary serves the result at `/openapi.json`). Every
//! unary RPC of `simtheme.v1.SimThemeService` is `POST /v1/<Rpc>`. Its request and response
//! schemas follow the proto3 JSON mapping that the server speaks: lowerCamelCase names, 64-bit
//! integers as strings (numbers are accepted), enums by name, and defaults omitted. The
//! descriptions come from the proto's comments.

use std::collections::BTreeMap;

use prost_types::field_descriptor_proto::{Label, Type};
use prost_types::{DescriptorProto, EnumDescriptorProto, FileDescriptorProto, FileDescriptorSet};
use serde_json::{json, Map, Value};

/// Comments by source path (`[4, 0, 2, 1]` = message 0, field 1).
fn comments(file: &FileDescriptorProto) -> BTreeMap<Vec<i32>, String> {
    let mut out = BTreeMap::new();
    for loc in file.source_code_info.iter().flat_map(|s| &s.location) {
        let text = loc.leading_comments().trim();
        if !text.is_empty() {
            let joined = text.lines().map(str::trim).collect::<Vec<_>>().join(" ");
            out.insert(loc.path.clone(), joined);
        }
    }
    out
}

/// Schema name of a fully qualified proto type (`.simtheme.v1.DiffSegment.Op` → `DiffSegment.Op`).
fn schema_name(type_name: &str) -> String {
    type_name.trim_start_matches(".simtheme.v1.").to_string()
}

fn reference(type_name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{}", schema_name(type_name)) })
}

struct Context<'a> {
    comments: BTreeMap<Vec<i32>, String>,
    schemas: Map<String, Value>,
    maps: BTreeMap<String, &'a DescriptorProto>,
}

impl<'a> Context<'a> {
    fn describe(&self, path: &[i32], mut schema: Value) -> Value {
        if let Some(text) = self.comments.get(path) {
            schema["description"] = Value::String(text.clone());
        }
        schema
    }

    fn scalar(&self, field: &prost_types::FieldDescriptorProto) -> Value {
        match field.r#type() {
            Type::Double | Type::Float => json!({ "type": "number" }),
            Type::Int32 | Type::Sint32 | Type::Sfixed32 => json!({ "type": "integer", "format": "int32" }),
            Type::Uint32 | Type::Fixed32 => json!({ "type": "integer", "format": "int32", "minimum": 0 }),
            Type::Int64 | Type::Sint64 | Type::Sfixed64 | Type::Uint64 | Type::Fixed64 => {
                json!({ "type": ["string", "integer"], "format": "int64", "pattern": "^-?[0-9]+$" })
            }
            Type::Bool => json!({ "type": "boolean" }),
            Type::String => json!({ "type": "string" }),
            Type::Bytes => json!({ "type": "string", "contentEncoding": "base64" }),
            Type::Enum | Type::Message | Type::Group => reference(field.type_name()),
        }
    }

    fn field(&self, field: &prost_types::FieldDescriptorProto) -> Value {
        if field.r#type() == Type::Message {
            if let Some(entry) = self.maps.get(field.type_name()) {
                let value = &entry.field[1];
                return json!({ "type": "object", "additionalProperties": self.scalar(value) });
            }
        }
        let one = self.scalar(field);
        if field.label() == Label::Repeated {
            json!({ "type": "array", "items": one })
        } else {
            one
        }
    }

    fn message(&mut self, prefix: &str, message: &'a DescriptorProto, path: Vec<i32>) {
        let name = format!("{prefix}{}", message.name());
        for (i, nested) in message.nested_type.iter().enumerate() {
            if !nested.options.as_ref().is_some_and(|o| o.map_entry()) {
                self.message(&format!("{name}."), nested, [path.clone(), vec![3, i as i32]].concat());
            }
        }
        for (i, e) in message.enum_type.iter().enumerate() {
            self.enumeration(&format!("{name}."), e, [path.clone(), vec![4, i as i32]].concat());
        }
        let mut properties = Map::new();
        for (i, f) in message.field.iter().enumerate() {
            let schema = self.describe(&[path.clone(), vec![2, i as i32]].concat(), self.field(f));
            properties.insert(f.json_name().to_string(), schema);
        }
        let schema = json!({ "type": "object", "properties": properties, "additionalProperties": false });
        let schema = self.describe(&path, schema);
        self.schemas.insert(name, schema);
    }

    fn enumeration(&mut self, prefix: &str, e: &EnumDescriptorProto, path: Vec<i32>) {
        let names: Vec<Value> = e.value.iter().map(|v| Value::String(v.name().to_string())).collect();
        let mut schema = json!({ "type": "string", "enum": names });
        let values: Vec<String> = e
            .value
            .iter()
            .enumerate()
            .filter_map(|(i, v)| self.comments.get(&[path.clone(), vec![2, i as i32]].concat()).map(|c| format!("{}: {c}", v.name())))
            .collect();
        if !values.is_empty() {
            schema["description"] = Value::String(values.join(" "));
        }
        let schema = if schema.get("description").is_none() { self.describe(&path, schema) } else { schema };
        self.schemas.insert(format!("{prefix}{}", e.name()), schema);
    }
}

/// Map-entry messages by fully qualified name.
fn map_entries<'a>(prefix: &str, messages: &'a [DescriptorProto], out: &mut BTreeMap<String, &'a DescriptorProto>) {
    for m in messages {
        let name = format!("{prefix}.{}", m.name());
        if m.options.as_ref().is_some_and(|o| o.map_entry()) {
            out.insert(name.clone(), m);
        }
        map_entries(&name, &m.nested_type, out);
    }
}

/// The OpenAPI document of the `simtheme.v1` file in `set`, as pretty JSON.
pub fn openapi(set: &FileDescriptorSet) -> Result<String, String> {
    let file = set.file.iter().find(|f| f.package() == "simtheme.v1").ok_or("no simtheme.v1 file in the descriptor set")?;
    let mut maps = BTreeMap::new();
    map_entries(".simtheme.v1", &file.message_type, &mut maps);
    let mut cx = Context { comments: comments(file), schemas: Map::new(), maps };
    for (i, m) in file.message_type.iter().enumerate() {
        cx.message("", m, vec![4, i as i32]);
    }
    for (i, e) in file.enum_type.iter().enumerate() {
        cx.enumeration("", e, vec![5, i as i32]);
    }
    cx.schemas.insert(
        "Error".into(),
        json!({
            "type": "object",
            "description": "Every error: the gRPC status code name and a message that says what to fix.",
            "properties": { "code": { "type": "string", "examples": ["INVALID_ARGUMENT"] }, "message": { "type": "string" } },
            "required": ["code", "message"]
        }),
    );
    let service = file.service.first().ok_or("no service")?;
    let error = |what: &str| json!({ "description": what, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } });
    let mut paths = Map::new();
    for (i, method) in service.method.iter().enumerate() {
        if method.client_streaming() || method.server_streaming() {
            continue; // gRPC only
        }
        let summary = cx.comments.get(&vec![6, 0, 2, i as i32]).cloned().unwrap_or_default();
        let json_body = |t: &str| json!({ "application/json": { "schema": reference(t) } });
        paths.insert(
            format!("/v1/{}", method.name()),
            json!({ "post": {
                "operationId": method.name(),
                "summary": summary,
                "requestBody": { "required": false, "description": "The request message as proto3 JSON; an empty body is an empty message.", "content": json_body(method.input_type()) },
                "responses": {
                    "200": { "description": "The response message as proto3 JSON.", "content": json_body(method.output_type()) },
                    "400": error("Invalid argument, or a body that is not JSON."),
                    "401": error("No API key, or a wrong one."),
                    "403": error("A read-only key on an RPC that writes."),
                    "404": error("Not found."),
                    "413": error("Body above --max-message-bytes."),
                    "429": error("Busy: the queue is full or the client is over its share (see retry-after)."),
                    "503": error("Loading, or storage unavailable."),
                    "504": error("Deadline exceeded.")
                }
            }}),
        );
    }
    paths.insert(
        "/healthz".into(),
        json!({ "get": {
            "operationId": "Healthz",
            "summary": "Readiness: SERVING once the model and index are loaded.",
            "security": [],
            "responses": {
                "200": { "description": "Serving.", "content": { "application/json": { "schema": { "type": "object", "properties": { "status": { "type": "string", "enum": ["SERVING"] } } } } } },
                "503": { "description": "Loading.", "content": { "application/json": { "schema": { "type": "object", "properties": { "status": { "type": "string" } } } } } }
            }
        }}),
    );
    let doc = json!({
        "openapi": "3.1.0",
        "info": {
            "title": "simtheme HTTP/JSON API",
            "version": "v1",
            "description": "Every unary RPC of simtheme.v1.SimThemeService as POST /v1/<Rpc>, with the proto3 JSON mapping (lowerCamelCase names, 64-bit integers as strings, enums by name, defaults omitted). Generated from proto/simtheme/v1/simtheme.proto at build time.",
            "license": { "name": "MIT" }
        },
        "servers": [{ "url": "http://127.0.0.1:8080", "description": "simtheme serve --http-listen 127.0.0.1:8080" }],
        "security": [{ "bearer": [] }, {}],
        "paths": paths,
        "components": {
            "securitySchemes": { "bearer": { "type": "http", "scheme": "bearer", "description": "An API key (--api-key or --read-only-api-key), when the server has keys." } },
            "schemas": cx.schemas
        }
    });
    serde_json::to_string_pretty(&doc).map_err(|e| e.to_string())
}
