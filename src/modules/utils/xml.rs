//! `utils/xml` (`XML`): Dirigible's own XML ⇄ JSON mapping (its
//! `Xml2Json` class), not org.json's. XML is read with quick-xml into a
//! small tree, as the DOM parser Dirigible uses would see it, and mapped
//! by the same steps:
//!
//! - an element is an object; its attributes are `"-name"` keys (sorted
//!   by name, as Xerces keeps them); an element with only text is its
//!   text (untrimmed); text next to attributes or elements is `"#text"`;
//!   a CDATA section is `"#cdata-section"`, Base64 of its UTF-8;
//! - repeated elements become an array, a key that moves into an array
//!   moves to the end of its object (Gson's remove-then-add);
//! - every value is a string; the JSON is Gson's pretty print (two-space
//!   indent).
//!
//! `fromJson` writes the reverse: objects as elements, `"-name"` keys of
//! primitive values as attributes, arrays as repeated elements, `null`s
//! left out, the top-level keys one after the other (no single root).
//! Unlike Dirigible, text and attribute values are escaped for XML (it
//! wrote `a<b` as is and a newline as `\n`), a `]]>` inside CDATA is
//! split, and a key that cannot be an XML name is an Error.

use std::collections::{HashMap, HashSet};

use ::base64::engine::general_purpose::STANDARD;
use ::base64::Engine;
use boa_engine::{Context, JsNativeError, JsResult, JsValue};
use quick_xml::events::Event;
use quick_xml::XmlVersion;

use crate::modules::registry::{Build, Native};
use crate::modules::{values, Method};

pub const MODULE: Native = Native {
    namespace: "utils",
    name: "xml",
    aliases: &[],
    exports: &["xml", "XML"],
    build: Build::Methods(METHODS),
};

const METHODS: &[Method] = &[("fromJson", 1, from_json), ("toJson", 1, to_json)];

/// Deepest element nesting read or written.
const MAX_DEPTH: usize = 500;

/// The argument as text; anything but a string is `JSON.stringify`d first,
/// as Dirigible's module does.
fn input(args: &[JsValue], what: &str, context: &mut Context) -> JsResult<String> {
    let value = args.first().cloned().unwrap_or_default();
    if let Some(text) = value.as_string() {
        return Ok(text.to_std_string_lossy());
    }
    values::stringify(&value, context)?.ok_or_else(|| {
        JsNativeError::typ()
            .with_message(format!(
                "{what}: expected a string, not {}",
                values::type_name(&value)
            ))
            .into()
    })
}

fn to_json(_: &JsValue, args: &[JsValue], context: &mut Context) -> JsResult<JsValue> {
    let text = input(args, "XML.toJson", context)?;
    let json = xml_to_json(&text)
        .map_err(|e| JsNativeError::error().with_message(format!("XML.toJson: {e}")))?;
    Ok(super::text(json))
}

fn from_json(_: &JsValue, args: &[JsValue], context: &mut Context) -> JsResult<JsValue> {
    let text = input(args, "XML.fromJson", context)?;
    let xml = json_to_xml(&text)
        .map_err(|e| JsNativeError::error().with_message(format!("XML.fromJson: {e}")))?;
    Ok(super::text(xml))
}

// ---- XML as the DOM sees it ----

enum Node {
    Document(Vec<usize>),
    Element {
        name: String,
        attributes: Vec<(String, String)>,
        children: Vec<usize>,
    },
    Text(String),
    CData(String),
}

struct Tree {
    nodes: Vec<Node>,
}

impl Tree {
    fn children(&self, node: usize) -> &[usize] {
        match &self.nodes[node] {
            Node::Document(children) | Node::Element { children, .. } => children,
            _ => &[],
        }
    }

    fn name(&self, node: usize) -> &str {
        match &self.nodes[node] {
            Node::Element { name, .. } => name,
            Node::Text(_) => "#text",
            Node::CData(_) => "#cdata-section",
            Node::Document(_) => "#document",
        }
    }
}

/// Parses a whole document: one root element; entities are the five of
/// XML and character references (no DTD is read).
fn parse(text: &str) -> Result<Tree, String> {
    let mut reader = quick_xml::Reader::from_str(text);
    let mut tree = Tree {
        nodes: vec![Node::Document(Vec::new())],
    };
    let mut open = vec![0usize];
    // Text and references in a row are one text node, as in the DOM.
    let mut pending: Option<String> = None;
    let fail = |message: String, position: u64| {
        format!("not well-formed XML: {message} (at byte {position})")
    };
    loop {
        let event = reader
            .read_event()
            .map_err(|e| fail(e.to_string(), reader.error_position()))?;
        let position = reader.buffer_position();
        let top = *open.last().unwrap_or(&0);
        let in_root = open.len() > 1;
        if !matches!(event, Event::Text(_) | Event::GeneralRef(_)) {
            flush(&mut tree, top, &mut pending);
        }
        match &event {
            Event::Start(start) | Event::Empty(start) => {
                let name = start.name().as_ref().to_string();
                if !in_root && !tree.children(0).is_empty() {
                    return Err(fail(format!("a second root element <{name}>"), position));
                }
                if open.len() > MAX_DEPTH {
                    return Err(format!("elements nested deeper than {MAX_DEPTH} levels"));
                }
                let mut attributes = Vec::new();
                for attribute in start.attributes() {
                    let attribute = attribute.map_err(|e| fail(e.to_string(), position))?;
                    let value = attribute
                        .normalized_value(XmlVersion::Implicit1_0)
                        .map_err(|e| fail(e.to_string(), position))?;
                    attributes.push((attribute.key.as_ref().to_string(), value.into_owned()));
                }
                attributes.sort_by(|a, b| a.0.encode_utf16().cmp(b.0.encode_utf16()));
                let element = Node::Element {
                    name,
                    attributes,
                    children: Vec::new(),
                };
                let id = add(&mut tree, top, element);
                if matches!(event, Event::Start(_)) {
                    open.push(id);
                }
            }
            Event::End(_) => {
                open.pop();
            }
            Event::Text(text) => {
                let content = text.xml10_content();
                if !in_root {
                    if content.trim_matches(is_xml_space).is_empty() {
                        continue;
                    }
                    return Err(fail("text outside the root element".into(), position));
                }
                pending.get_or_insert_with(String::new).push_str(&content);
            }
            Event::GeneralRef(reference) => {
                if !in_root {
                    return Err(fail(
                        "a reference outside the root element".into(),
                        position,
                    ));
                }
                let c = match reference.resolve_char_ref() {
                    Ok(Some(c)) => c,
                    Ok(None) => match reference.as_ref() {
                        "amp" => '&',
                        "lt" => '<',
                        "gt" => '>',
                        "quot" => '"',
                        "apos" => '\'',
                        other => return Err(fail(format!("unknown entity &{other};"), position)),
                    },
                    Err(e) => return Err(fail(e.to_string(), position)),
                };
                pending.get_or_insert_with(String::new).push(c);
            }
            Event::CData(data) => {
                if !in_root {
                    return Err(fail("CDATA outside the root element".into(), position));
                }
                let content = data.xml10_content().into_owned();
                add(&mut tree, top, Node::CData(content));
            }
            Event::Eof => break,
            // Comments and processing instructions end a text node; the
            // declaration and a DOCTYPE are not content.
            Event::Comment(_) | Event::PI(_) | Event::Decl(_) | Event::DocType(_) => {}
        }
    }
    if open.len() > 1 {
        return Err(fail(
            "an element is not closed".into(),
            reader.buffer_position(),
        ));
    }
    if tree.children(0).is_empty() {
        return Err(fail("no root element".into(), reader.buffer_position()));
    }
    Ok(tree)
}

fn is_xml_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

fn add(tree: &mut Tree, parent: usize, node: Node) -> usize {
    let id = tree.nodes.len();
    tree.nodes.push(node);
    if let Node::Document(children) | Node::Element { children, .. } = &mut tree.nodes[parent] {
        children.push(id);
    }
    id
}

fn flush(tree: &mut Tree, parent: usize, pending: &mut Option<String>) {
    if let Some(text) = pending.take() {
        add(tree, parent, Node::Text(text));
    }
}

// ---- Gson's JSON tree, shared objects by index ----

#[derive(Clone)]
enum Json {
    Str(String),
    Arr(usize),
    Obj(usize),
}

/// Objects and arrays by index, so one object can sit in an array and be
/// found again later (Dirigible's `REORGANIZED` map holds such objects).
#[derive(Default)]
struct Arena {
    objects: Vec<Vec<(String, Json)>>,
    arrays: Vec<Vec<Json>>,
}

impl Arena {
    fn object(&mut self) -> usize {
        self.objects.push(Vec::new());
        self.objects.len() - 1
    }

    fn array(&mut self, items: Vec<Json>) -> Json {
        self.arrays.push(items);
        Json::Arr(self.arrays.len() - 1)
    }

    fn get(&self, object: usize, key: &str) -> Option<Json> {
        self.objects[object]
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
    }

    /// Gson's `add`: replaces in place, or appends.
    fn put(&mut self, object: usize, key: &str, value: Json) {
        let members = &mut self.objects[object];
        match members.iter_mut().find(|(k, _)| k == key) {
            Some(member) => member.1 = value,
            None => members.push((key.to_string(), value)),
        }
    }

    fn remove(&mut self, object: usize, key: &str) {
        self.objects[object].retain(|(k, _)| k != key);
    }

    /// Gson's `toString()` of a value with its `"` removed, which is what
    /// Dirigible stores when it folds attributes into a text object.
    fn unquoted(&self, value: &Json) -> String {
        let mut out = String::new();
        self.write(value, None, 0, &mut out);
        out.replace('"', "")
    }

    /// Gson's writer: compact (`indent` None) or pretty (two spaces).
    fn write(&self, value: &Json, indent: Option<usize>, depth: usize, out: &mut String) {
        let newline = |out: &mut String, depth: usize| {
            if indent.is_some() {
                out.push('\n');
                out.push_str(&"  ".repeat(depth));
            }
        };
        match value {
            Json::Str(s) => gson_string(s, out),
            Json::Arr(a) => {
                let items = &self.arrays[*a];
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    newline(out, depth + 1);
                    self.write(item, indent, depth + 1, out);
                }
                if !items.is_empty() {
                    newline(out, depth);
                }
                out.push(']');
            }
            Json::Obj(o) => {
                let members = &self.objects[*o];
                out.push('{');
                for (i, (key, item)) in members.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    newline(out, depth + 1);
                    gson_string(key, out);
                    out.push_str(if indent.is_some() { ": " } else { ":" });
                    self.write(item, indent, depth + 1, out);
                }
                if !members.is_empty() {
                    newline(out, depth);
                }
                out.push('}');
            }
        }
    }
}

/// A JSON string as Gson writes it without HTML escaping.
fn gson_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\u{c}' => out.push_str("\\f"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Dirigible's `Xml2Json.toJson`.
pub fn xml_to_json(text: &str) -> Result<String, String> {
    let tree = parse(text)?;
    let mut mapping = Mapping {
        tree: &tree,
        json: Arena::default(),
        added_by_value: HashSet::new(),
        reorganized: HashMap::new(),
    };
    let root = mapping.json.object();
    mapping.traverse(0, root, None);
    let mut out = String::new();
    mapping.json.write(&Json::Obj(root), Some(2), 0, &mut out);
    Ok(out)
}

struct Mapping<'t> {
    tree: &'t Tree,
    json: Arena,
    /// Elements whose text was put into their parent's object directly.
    added_by_value: HashSet<usize>,
    /// The object an element's text went into when it joined an array.
    reorganized: HashMap<usize, usize>,
}

impl Mapping<'_> {
    fn traverse(&mut self, parent: usize, parent_json: usize, upper_json: Option<usize>) {
        let tree = self.tree;
        for &child in tree.children(parent) {
            let child_json = self.json.object();
            match &tree.nodes[child] {
                Node::Text(value) => {
                    if !value.trim_matches(|c: char| c <= ' ').is_empty() {
                        if let Some(upper) = upper_json {
                            self.text(parent, upper, child_json, value);
                        }
                    }
                }
                Node::Element {
                    name, attributes, ..
                } => {
                    for (key, value) in attributes {
                        self.json
                            .put(child_json, &format!("-{key}"), Json::Str(value.clone()));
                    }
                    if !tree.children(child).is_empty() {
                        self.traverse(child, child_json, Some(parent_json));
                    }
                    let has_members = !self.json.objects[child_json].is_empty();
                    if self.added_by_value.remove(&child) {
                        match self.json.get(parent_json, name) {
                            Some(Json::Str(existing)) if has_members => {
                                self.fold_attributes(parent_json, name, existing, child_json)
                            }
                            Some(Json::Arr(_)) if has_members => {
                                if let Some(target) = self.reorganized.remove(&child) {
                                    self.copy_members(child_json, target);
                                }
                            }
                            _ => {}
                        }
                    } else {
                        match self.json.get(parent_json, name) {
                            Some(Json::Arr(a)) => self.json.arrays[a].push(Json::Obj(child_json)),
                            Some(existing @ Json::Obj(_)) => {
                                self.json.remove(parent_json, name);
                                let array = self.json.array(vec![existing, Json::Obj(child_json)]);
                                self.json.put(parent_json, name, array);
                            }
                            Some(Json::Str(_)) => {}
                            None => self.json.put(parent_json, name, Json::Obj(child_json)),
                        }
                    }
                }
                Node::CData(value) => {
                    let encoded = STANDARD.encode(value.as_bytes());
                    self.json
                        .put(parent_json, "#cdata-section", Json::Str(encoded));
                }
                Node::Document(_) => {}
            }
        }
    }

    /// Dirigible's `processTextNode`: an element's text goes into its
    /// parent's object under the element's name.
    fn text(&mut self, element: usize, upper: usize, child_json: usize, value: &str) {
        let name = self.tree.name(element);
        match self.json.get(upper, name) {
            Some(Json::Arr(a)) => {
                self.json.arrays[a].push(Json::Str(value.to_string()));
                self.reorganized.insert(element, child_json);
            }
            Some(existing @ Json::Obj(_)) => {
                self.json.remove(upper, name);
                self.json
                    .put(child_json, "#text", Json::Str(value.to_string()));
                let array = self.json.array(vec![existing, Json::Obj(child_json)]);
                self.json.put(upper, name, array);
                self.reorganized.insert(element, child_json);
            }
            Some(existing @ Json::Str(_)) => {
                self.json.remove(upper, name);
                let array = self
                    .json
                    .array(vec![existing, Json::Str(value.to_string())]);
                self.json.put(upper, name, array);
                self.reorganized.insert(element, child_json);
            }
            None => self.json.put(upper, name, Json::Str(value.to_string())),
        }
        self.added_by_value.insert(element);
    }

    /// Text that turned out to have attributes (or elements) beside it:
    /// `{"#text": text, ...members}`, the members as unquoted strings.
    fn fold_attributes(&mut self, parent: usize, name: &str, text: String, members: usize) {
        self.json.remove(parent, name);
        let object = self.json.object();
        self.json.put(object, "#text", Json::Str(text));
        self.copy_members(members, object);
        self.json.put(parent, name, Json::Obj(object));
    }

    fn copy_members(&mut self, from: usize, to: usize) {
        let members = self.json.objects[from].clone();
        for (key, value) in members {
            let text = self.json.unquoted(&value);
            self.json.put(to, &key, Json::Str(text));
        }
    }
}

// ---- JSON to XML ----

/// Dirigible's `Xml2Json.toXml`, writing well-formed XML.
pub fn json_to_xml(text: &str) -> Result<String, String> {
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
    let serde_json::Value::Object(object) = value else {
        return Err("expected a JSON object".to_string());
    };
    let mut out = String::new();
    write_members(&object, &mut out, 0)?;
    Ok(out)
}

fn write_members(
    object: &serde_json::Map<String, serde_json::Value>,
    out: &mut String,
    depth: usize,
) -> Result<(), String> {
    if depth > MAX_DEPTH {
        return Err(format!("objects nested deeper than {MAX_DEPTH} levels"));
    }
    for (key, value) in object {
        match value {
            serde_json::Value::Object(inner) => write_element(key, inner, out, depth)?,
            serde_json::Value::Array(items) => write_array(key, items, out, depth)?,
            serde_json::Value::Null => {}
            // An attribute: written with its element.
            _ if key.starts_with('-') => {}
            primitive => write_primitive(key, primitive, out)?,
        }
    }
    Ok(())
}

fn write_element(
    key: &str,
    object: &serde_json::Map<String, serde_json::Value>,
    out: &mut String,
    depth: usize,
) -> Result<(), String> {
    let name = xml_name(key)?;
    out.push('<');
    out.push_str(name);
    for (attribute, value) in object {
        let Some(attribute) = attribute.strip_prefix('-') else {
            continue;
        };
        if value.is_object() || value.is_array() || value.is_null() {
            continue;
        }
        out.push(' ');
        out.push_str(xml_name(attribute)?);
        out.push_str("=\"");
        escape_into(&primitive_text(value), true, out);
        out.push('"');
    }
    out.push('>');
    write_members(object, out, depth + 1)?;
    out.push_str("</");
    out.push_str(name);
    out.push('>');
    Ok(())
}

fn write_array(
    key: &str,
    items: &[serde_json::Value],
    out: &mut String,
    depth: usize,
) -> Result<(), String> {
    if depth > MAX_DEPTH {
        return Err(format!("arrays nested deeper than {MAX_DEPTH} levels"));
    }
    for item in items {
        match item {
            serde_json::Value::Object(inner) => write_element(key, inner, out, depth)?,
            serde_json::Value::Array(inner) => write_array(key, inner, out, depth + 1)?,
            serde_json::Value::Null => {}
            primitive => write_primitive(key, primitive, out)?,
        }
    }
    Ok(())
}

fn write_primitive(key: &str, value: &serde_json::Value, out: &mut String) -> Result<(), String> {
    let text = primitive_text(value);
    match key {
        "#text" => escape_into(&text, false, out),
        "#cdata-section" => {
            let bytes = STANDARD
                .decode(text.as_bytes())
                .map_err(|e| format!("#cdata-section is not Base64: {e}"))?;
            let data = String::from_utf8_lossy(&bytes);
            out.push_str("<![CDATA[");
            out.push_str(&data.replace("]]>", "]]]]><![CDATA[>"));
            out.push_str("]]>");
        }
        _ => {
            let name = xml_name(key)?;
            out.push('<');
            out.push_str(name);
            out.push('>');
            escape_into(&text, false, out);
            out.push_str("</");
            out.push_str(name);
            out.push('>');
        }
    }
    Ok(())
}

fn primitive_text(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn escape_into(text: &str, attribute: bool, out: &mut String) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' if attribute => out.push_str("&quot;"),
            '\t' | '\n' | '\r' if attribute => out.push_str(&format!("&#{};", c as u32)),
            c => out.push(c),
        }
    }
}

/// `key` if it can be an XML element or attribute name.
fn xml_name(key: &str) -> Result<&str, String> {
    let mut chars = key.chars();
    let valid = chars
        .next()
        .is_some_and(|c| c.is_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_alphanumeric() || matches!(c, '_' | ':' | '-' | '.' | '\u{b7}'));
    if valid {
        Ok(key)
    } else {
        Err(format!("{key:?} cannot be an XML name"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PERSON: &str = "<person><firstName>John</firstName><lastName>Doe</lastName><bio><age>24</age><sex>male</sex></bio></person>";

    #[test]
    fn the_documented_examples() {
        assert_eq!(
            xml_to_json(PERSON).unwrap(),
            "{\n  \"person\": {\n    \"firstName\": \"John\",\n    \"lastName\": \"Doe\",\n    \"bio\": {\n      \"age\": \"24\",\n      \"sex\": \"male\"\n    }\n  }\n}"
        );
        assert_eq!(
            json_to_xml(r#"{"firstName":"John","lastName":"Doe","bio":{"age":24,"sex":"male"}}"#)
                .unwrap(),
            "<firstName>John</firstName><lastName>Doe</lastName><bio><age>24</age><sex>male</sex></bio>"
        );
        assert_eq!(
            json_to_xml(r#"{"name":"John","age":30}"#).unwrap(),
            "<name>John</name><age>30</age>"
        );
    }

    fn compact(xml: &str) -> serde_json::Value {
        serde_json::from_str(&xml_to_json(xml).unwrap()).unwrap()
    }

    #[test]
    fn attributes_text_repeats_and_cdata() {
        assert_eq!(
            compact(r#"<a z="1" b="2"><b id="1">x</b><b id="2">y</b><c/></a>"#),
            serde_json::json!({"a": {"-b": "2", "-z": "1",
                "b": [{"#text": "x", "-id": "1"}, {"#text": "y", "-id": "2"}], "c": {}}})
        );
        assert_eq!(
            compact("<a><b>1</b><c>2</c><b>3</b></a>"),
            serde_json::json!({"a": {"c": "2", "b": ["1", "3"]}}),
            "a key turned into an array moves to the end"
        );
        assert_eq!(
            compact("<a><b><x>1</x></b><b><x>2</x></b></a>"),
            serde_json::json!({"a": {"b": [{"x": "1"}, {"x": "2"}]}})
        );
        assert_eq!(
            compact("<a>hello<b>x</b></a>"),
            serde_json::json!({"a": {"#text": "hello", "b": "x"}})
        );
        assert_eq!(
            compact("<a><![CDATA[<b>&</b>]]></a>"),
            serde_json::json!({"a": {"#cdata-section": "PGI+JjwvYj4="}})
        );
        assert_eq!(
            compact("<?xml version=\"1.0\"?>\n<!-- c --><a> x &amp; y &#65; </a>\n"),
            serde_json::json!({"a": " x & y A "})
        );
    }

    #[test]
    fn json_to_xml_attributes_arrays_and_escaping() {
        assert_eq!(
            json_to_xml(
                r##"{"a":{"-id":"1","#text":"x<y","b":["1",{"-k":"v\"","#text":"2"}],"n":null}}"##
            )
            .unwrap(),
            r#"<a id="1">x&lt;y<b>1</b><b k="v&quot;">2</b></a>"#
        );
        assert_eq!(
            json_to_xml(r##"{"a":{"#cdata-section":"PGI+JjwvYj4="}}"##).unwrap(),
            "<a><![CDATA[<b>&</b>]]></a>"
        );
        assert!(json_to_xml("[1]").unwrap_err().contains("JSON object"));
        assert!(json_to_xml("{").unwrap_err().contains("not JSON"));
        assert!(json_to_xml(r#"{"a b":1}"#)
            .unwrap_err()
            .contains("XML name"));
    }

    #[test]
    fn malformed_xml_is_an_error() {
        for bad in [
            "",
            "<a>",
            "<a></b>",
            "<a/><b/>",
            "text",
            "<a>&nope;</a>",
            "<a x='1' x='2'/>",
        ] {
            let error = xml_to_json(bad).unwrap_err();
            assert!(error.contains("not well-formed"), "{bad}: {error}");
        }
        let deep = "<a>".repeat(MAX_DEPTH + 2);
        assert!(xml_to_json(&deep).unwrap_err().contains("deeper"));
    }
}
