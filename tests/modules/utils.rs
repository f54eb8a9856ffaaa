//! `utils/*`: every module under the names scripts use, the examples of
//! Dirigible's documentation as fixtures, and bad input.

use crate::common::*;

const R: &str = "const response = require('http/v4/response');\n";

/// `{name: value}` printed as JSON by a CommonJS script.
fn json_of(blimp: &Blimp, path: &str) -> serde_json::Value {
    let (status, body) = get(&plain(), &blimp.url(path));
    assert_eq!(status, 200, "{path}: {body}\n{}", blimp.log());
    json(&body)
}

#[test]
fn every_utils_module_answers_to_each_generation_of_names() {
    let blimp = Blimp::start(
        &[
            (
                "cjs.js",
                &format!(
                    "{R}const names = ['uuid', 'base64', 'hex', 'url', 'escape', 'digest', 'xml', 'alphanumeric'];\n\
                     const out = {{}};\n\
                     for (const n of names) {{\n\
                       const forms = ['utils/' + n, 'utils/v3/' + n, 'utils/v4/' + n, 'sdk/utils/' + n, '@dirigible/utils/' + n, '@aerokit/sdk/utils/' + n];\n\
                       const first = require(forms[0]);\n\
                       out[n] = forms.every(f => require(f) === first) && Object.getOwnPropertyNames(first).length > 2;\n\
                     }}\n\
                     const barrel = require('@aerokit/sdk/utils');\n\
                     out.barrel = barrel.Base64 === require('utils/base64') && barrel.UUID === barrel.uuid && barrel.XML === require('utils/v4/xml');\n\
                     response.json(out);"
                ),
            ),
            (
                "esm.mjs",
                "import { uuid, UUID, base64, hex, url, URL, escape, Escape, digest, Digest, xml, XML, alphanumeric, Alphanumeric } from 'sdk/utils';\n\
                 import { Base64 } from '@aerokit/sdk/utils/base64';\n\
                 import { Hex } from 'sdk/utils/hex';\n\
                 import { base64 as b64 } from '@dirigible/utils';\n\
                 import { response } from '@aerokit/sdk/http';\n\
                 import Default, { encode } from 'utils/base64';\n\
                 import Alpha, { alphanumeric as alpha2, isNumeric } from 'utils/alphanumeric';\n\
                 response.json({\n\
                   base64: Base64 === base64 && b64 === base64 && Default === base64 && encode('a') === 'YQ==',\n\
                   uuid: UUID === uuid, hex: Hex === hex, url: URL === url, escape: Escape === escape,\n\
                   digest: Digest === digest, xml: XML === xml,\n\
                   alphanumeric: Alphanumeric === alphanumeric && Alpha === alphanumeric && alpha2 === alphanumeric && isNumeric('1'),\n\
                 });",
            ),
        ],
        &[],
    );
    let expected = serde_json::json!({"uuid": true, "base64": true, "hex": true, "url": true,
        "escape": true, "digest": true, "xml": true, "alphanumeric": true, "barrel": true});
    assert_eq!(json_of(&blimp, "/cjs"), expected);
    let expected = serde_json::json!({"base64": true, "uuid": true, "hex": true, "url": true,
        "escape": true, "digest": true, "xml": true, "alphanumeric": true});
    assert_eq!(json_of(&blimp, "/esm"), expected);
}

#[test]
fn the_documented_examples_give_dirigibles_results() {
    let blimp = Blimp::start(
        &[
            // utils-uuid.md (both pages)
            (
                "uuid.mjs",
                "import { uuid, UUID } from '@aerokit/sdk/utils';\nimport { response } from 'sdk/http';\n\
                 const r = uuid.random();\n\
                 response.json({ random: r, valid: UUID.validate(r), doc: uuid.validate('14a3ddce-f86d-4f51-a2e0-6e497b94bbe5'),\n\
                   short: UUID.validate('1-2-3-4-5'), bad: UUID.validate('not-a-uuid'), none: UUID.validate(undefined), fresh: UUID.random() !== r });",
            ),
            // utils-base64.md
            (
                "base64.js",
                &format!(
                    "{R}const base64 = require('utils/base64');\n\
                     const text = (bytes) => String.fromCharCode.apply(String, bytes);\n\
                     response.json({{ encode: base64.encode('admin:admin'), decode: text(base64.decode('YWRtaW46YWRtaW4=')),\n\
                       hello: base64.encode('Hello, World!'), helloBytes: base64.decode('SGVsbG8sIFdvcmxkIQ=='),\n\
                       asBytes: base64.encodeAsBytes('a'), fromBytes: base64.encode([-61, -87]), utf8: base64.encode('é'),\n\
                       nativeBytes: base64.decodeAsNativeBytes(base64.encodeAsNativeBytes([1, 2, 255])),\n\
                       isArray: Array.isArray(base64.decode('YQ==')), nothing: base64.decode(null), urlSafe: base64.decode('-_8') }});"
                ),
            ),
            // utils-hex.md
            (
                "hex.js",
                &format!(
                    "{R}const hex = require('utils/v4/hex');\n\
                     const text = (bytes) => String.fromCharCode.apply(String, bytes);\n\
                     response.json({{ encode: hex.encode('Hex Encoded'), decode: text(hex.decode('48657820456e636f646564')),\n\
                       hello: hex.encode('Hello, World!'), helloBytes: hex.decode('48656c6c6f2c20576f726c6421'),\n\
                       upper: hex.decode('FF7f'), bytes: hex.encode([255, -1, 0]), asBytes: hex.encodeAsBytes('A') }});"
                ),
            ),
            // utils-url.md
            (
                "url.js",
                &format!(
                    "{R}const url = require('utils/v3/url');\n\
                     response.json({{\n\
                       encode: url.encode('<![CDATA[<meta http-equiv=\"refresh\" content=\"0;url=javascript:document.vulnerable=true;\">]]>', 'UTF8'),\n\
                       decode: url.decode('%3C%21%5BCDATA%5B%3Cmeta+http-equiv%3D%22refresh%22+content%3D%220%3Burl%3Djavascript%3Adocument.vulnerable%3Dtrue%3B%22%3E%5D%5D%3E', 'UTF8'),\n\
                       hello: url.encode('Hello World!'), helloBack: url.decode('Hello%20World%21'),\n\
                       escapePath: url.escapePath('my folder/file.txt'), escapeForm: url.escapeForm('name=John Doe&age=30'),\n\
                       escape: url.escape('Hello World!/a?b#c'), latin1: url.encode('é', 'ISO-8859-1'), utf8: url.encode('é') }});"
                ),
            ),
            // utils-escape.md
            (
                "escape.mjs",
                "import { escape, Escape } from 'sdk/utils';\nimport { response } from 'sdk/http';\n\
                 const input = \"<script type='text/javascript'>alert('evil script')</script>\";\n\
                 const htmlSafe = Escape.escapeHtml4(\"<script>alert('XSS');</script>\");\n\
                 response.json({ javascript: escape.escapeJavascript(input), back: escape.unescapeJavascript(escape.escapeJavascript(input)),\n\
                   html4: htmlSafe, html4Back: Escape.unescapeHtml4(htmlSafe), html3: escape.escapeHtml3('é€'), html4Euro: escape.escapeHtml4('é€'),\n\
                   java: escape.escapeJava('say \"hi\"\\té😀'), javaBack: escape.unescapeJava('\\\\u00e9\\\\n\\\\101'),\n\
                   json: escape.escapeJson('a/b\"c'), xml: escape.escapeXml(\"<a b='c'>&</a>\"), xmlBack: escape.unescapeXml('&lt;&apos;&#233;&gt;'),\n\
                   csv: escape.escapeCsv('a,\"b\"'), csvBack: escape.unescapeCsv('\"a,\"\"b\"\"\"'), csvPlain: escape.escapeCsv('plain'),\n\
                   nothing: escape.escapeJava(null) });",
            ),
            // utils-digest.md
            (
                "digest.js",
                &format!(
                    "{R}const digest = require('utils/digest');\n\
                     const hexOf = (bytes) => bytes.map(b => (b & 255).toString(16).padStart(2, '0')).join('');\n\
                     response.json({{ sha256: hexOf(digest.sha256('admin:admin')), printed: ('' + digest.sha256('admin:admin')).split(',').slice(0, 4),\n\
                       sha512: hexOf(digest.sha512('YWRtaW46YWRtaW4=')).slice(0, 32), md5Hex: digest.md5Hex('Hello, World!'),\n\
                       md5: hexOf(digest.md5('Hello, World!')), sha1Hex: digest.sha1Hex('Hello, World!'), sha1: digest.sha1('x').length,\n\
                       sha384: hexOf(digest.sha384AsNativeBytes('abc')).slice(0, 16),\n\
                       helloBytes: digest.sha256([72, 101, 108, 108, 111]).slice(0, 8).map(b => b & 255) }});"
                ),
            ),
            // utils-xml.md
            (
                "xml.js",
                &format!(
                    "{R}const xml = require('utils/xml');\n\
                     const jsonInput = {{ firstName: 'John', lastName: 'Doe', bio: {{ age: 24, sex: 'male' }} }};\n\
                     const xmlInput = '<person><firstName>John</firstName><lastName>Doe</lastName><bio><age>24</age><sex>male</sex></bio></person>';\n\
                     response.println(xml.fromJson(JSON.stringify(jsonInput)));\n\
                     response.println(xml.toJson(xmlInput));\n\
                     response.println(xml.fromJson({{ name: 'John', age: 30 }}));\n\
                     response.print(xml.toJson('<a id=\"7\"><b>1</b><b>2</b><c><![CDATA[x]]></c></a>'));"
                ),
            ),
            // utils-alphanumeric.md
            (
                "alphanumeric.mjs",
                "import { alphanumeric, Alphanumeric } from 'sdk/utils';\nimport { response } from 'sdk/http';\n\
                 response.json({ doc: alphanumeric.toAlphanumeric('@mystring123!#='), hello: Alphanumeric.toAlphanumeric('Hello, World! 123'),\n\
                   random: /^[a-z0-9]{8}$/.test(Alphanumeric.alphanumeric(8, true)), alpha: /^[a-zA-Z]{5}$/.test(Alphanumeric.alpha(5)),\n\
                   numeric: /^[0-9]{4}$/.test(Alphanumeric.numeric(0)), custom: Alphanumeric.randomString(3, 'x'),\n\
                   isNumeric: Alphanumeric.isNumeric('12345'), notNumeric: Alphanumeric.isNumeric('12a'),\n\
                   isAlphanumeric: Alphanumeric.isAlphanumeric('abc123'), notAlphanumeric: Alphanumeric.isAlphanumeric('a_b') });",
            ),
        ],
        &[],
    );

    let uuid = json_of(&blimp, "/uuid");
    let random = uuid["random"].as_str().unwrap();
    assert!(
        random.len() == 36 && random.as_bytes()[14] == b'4' && random == random.to_lowercase(),
        "a version 4 UUID: {random}"
    );
    assert_eq!(uuid["valid"], true);
    assert_eq!(uuid["doc"], true);
    assert_eq!(uuid["short"], true, "java.util.UUID takes short fields");
    assert_eq!(uuid["bad"], false);
    assert_eq!(uuid["none"], false);
    assert_eq!(uuid["fresh"], true);

    let hello = serde_json::json!([72, 101, 108, 108, 111, 44, 32, 87, 111, 114, 108, 100, 33]);
    let base64 = json_of(&blimp, "/base64");
    assert_eq!(base64["encode"], "YWRtaW46YWRtaW4=");
    assert_eq!(base64["decode"], "admin:admin");
    assert_eq!(base64["hello"], "SGVsbG8sIFdvcmxkIQ==");
    assert_eq!(base64["helloBytes"], hello);
    assert_eq!(base64["asBytes"], serde_json::json!([89, 81, 61, 61]));
    assert_eq!(base64["fromBytes"], "w6k=", "signed bytes in");
    assert_eq!(base64["utf8"], "w6k=", "strings as UTF-8");
    assert_eq!(
        base64["nativeBytes"],
        serde_json::json!([1, 2, -1]),
        "signed bytes out"
    );
    assert_eq!(base64["isArray"], true);
    assert_eq!(base64["nothing"], serde_json::Value::Null);
    assert_eq!(base64["urlSafe"], serde_json::json!([-5, -1]));

    let hex = json_of(&blimp, "/hex");
    assert_eq!(hex["encode"], "48657820456e636f646564");
    assert_eq!(hex["decode"], "Hex Encoded");
    assert_eq!(hex["hello"], "48656c6c6f2c20576f726c6421");
    assert_eq!(hex["helloBytes"], hello);
    assert_eq!(hex["upper"], serde_json::json!([-1, 127]));
    assert_eq!(hex["bytes"], "ffff00");
    assert_eq!(hex["asBytes"], serde_json::json!([52, 49]));

    let url = json_of(&blimp, "/url");
    assert_eq!(url["encode"], "%3C%21%5BCDATA%5B%3Cmeta+http-equiv%3D%22refresh%22+content%3D%220%3Burl%3Djavascript%3Adocument.vulnerable%3Dtrue%3B%22%3E%5D%5D%3E");
    assert_eq!(url["decode"], "<![CDATA[<meta http-equiv=\"refresh\" content=\"0;url=javascript:document.vulnerable=true;\">]]>");
    // The VitePress page's comment says Hello%20World%21; Dirigible's
    // URLEncoder writes a space as `+`, and so does blimp.
    assert_eq!(url["hello"], "Hello+World%21");
    assert_eq!(url["helloBack"], "Hello World!");
    assert_eq!(url["escapePath"], "my%20folder%2Ffile.txt");
    assert_eq!(url["escapeForm"], "name%3DJohn+Doe%26age%3D30");
    assert_eq!(url["escape"], "Hello%20World!/a?b%23c");
    assert_eq!(url["latin1"], "%E9");
    assert_eq!(url["utf8"], "%C3%A9");

    let escape = json_of(&blimp, "/escape");
    assert_eq!(
        escape["javascript"],
        r"<script type=\'text\/javascript\'>alert(\'evil script\')<\/script>"
    );
    assert_eq!(
        escape["back"],
        "<script type='text/javascript'>alert('evil script')</script>"
    );
    assert_eq!(
        escape["html4"],
        "&lt;script&gt;alert('XSS');&lt;/script&gt;"
    );
    assert_eq!(escape["html4Back"], "<script>alert('XSS');</script>");
    assert_eq!(escape["html3"], "&eacute;€");
    assert_eq!(escape["html4Euro"], "&eacute;&euro;");
    assert_eq!(escape["java"], r#"say \"hi\"\t\u00E9\uD83D\uDE00"#);
    assert_eq!(escape["javaBack"], "é\nA");
    assert_eq!(escape["json"], r#"a\/b\"c"#);
    assert_eq!(escape["xml"], "&lt;a b=&apos;c&apos;&gt;&amp;&lt;/a&gt;");
    assert_eq!(escape["xmlBack"], "<'é>");
    assert_eq!(escape["csv"], "\"a,\"\"b\"\"\"");
    assert_eq!(escape["csvBack"], "a,\"b\"");
    assert_eq!(escape["csvPlain"], "plain");
    assert_eq!(escape["nothing"], serde_json::Value::Null);

    let digest = json_of(&blimp, "/digest");
    assert_eq!(
        digest["sha256"],
        "8da193366e1554c08b2870c50f737b9587c3372b656151c4a96028af26f51334"
    );
    assert_eq!(
        digest["printed"],
        serde_json::json!(["-115", "-95", "-109", "54"]),
        "Java's signed bytes, as Dirigible prints them"
    );
    assert_eq!(digest["sha512"], "c2c8b22e6749772fb890b5b46f216a9f");
    assert_eq!(digest["md5Hex"], "65a8e27d8879283831b664bd8b7f0ad4");
    assert_eq!(digest["md5"], "65a8e27d8879283831b664bd8b7f0ad4");
    assert_eq!(
        digest["sha1Hex"],
        "0a0a9f2a6772942557ab5355d76af442f8f65e01"
    );
    assert_eq!(digest["sha1"], 20);
    assert_eq!(digest["sha384"], "cb00753f45a35e8b");
    // The VitePress page's example input ("Hello" as bytes), its digest
    // read unsigned. The page's comment shows [185, 105, 241, 149, …],
    // which is not SHA-256 of "Hello" (185f8db3…, read as decimals, it seems).
    assert_eq!(
        digest["helloBytes"],
        serde_json::json!([0x18, 0x5f, 0x8d, 0xb3, 0x22, 0x71, 0xfe, 0x25])
    );

    let (status, xml) = get(&plain(), &blimp.url("/xml"));
    assert_eq!(status, 200, "{xml}");
    let lines: Vec<&str> = xml.splitn(3, '\n').collect();
    assert_eq!(
        lines[0],
        "<firstName>John</firstName><lastName>Doe</lastName><bio><age>24</age><sex>male</sex></bio>"
    );
    let rest = lines[1..].join("\n");
    let (person, rest) = rest.split_once("\n}\n").unwrap();
    assert_eq!(
        format!("{person}\n}}"),
        "{\n  \"person\": {\n    \"firstName\": \"John\",\n    \"lastName\": \"Doe\",\n    \"bio\": {\n      \"age\": \"24\",\n      \"sex\": \"male\"\n    }\n  }\n}"
    );
    let (name_age, repeated) = rest.split_once('\n').unwrap();
    assert_eq!(name_age, "<name>John</name><age>30</age>");
    assert_eq!(
        json(repeated),
        serde_json::json!({"a": {"-id": "7", "b": ["1", "2"], "c": {"#cdata-section": "eA=="}}})
    );

    let alphanumeric = json_of(&blimp, "/alphanumeric");
    assert_eq!(
        alphanumeric,
        serde_json::json!({"doc": "mystring123", "hello": "HelloWorld123", "random": true, "alpha": true,
            "numeric": true, "custom": "xxx", "isNumeric": true, "notNumeric": false,
            "isAlphanumeric": true, "notAlphanumeric": false})
    );
}

#[test]
fn bad_input_is_a_clear_error_and_the_server_keeps_serving() {
    let cases = [
        ("base64.decode('YW!t')", "Base64.decode: not Base64 text"),
        (
            "base64.encode(42)",
            "Base64.encode: expected a string or an array of bytes, not a number",
        ),
        ("base64.encode([1, 300])", "element 1 is not a byte value"),
        ("hex.decode('abc')", "Hex.decode: Odd number of characters."),
        (
            "hex.decode('zz')",
            "Hex.decode: Illegal hexadecimal character z at index 0",
        ),
        (
            "digest.md5(undefined)",
            "Digest.md5: expected a string or an array of bytes, not undefined",
        ),
        (
            "url.decode('100%')",
            "URL.decode: URLDecoder: Incomplete trailing escape (%) pattern",
        ),
        (
            "url.decode('%zz')",
            "URL.decode: URLDecoder: Illegal hex characters",
        ),
        (
            "url.encode('x', 'EBCDIC')",
            "URL.encode: unsupported charset \"EBCDIC\"",
        ),
        (
            "url.encode()",
            "URL.encode: expected a string, not undefined",
        ),
        (
            "escape.unescapeJava('\\\\u12')",
            "Less than 4 hex digits in unicode value",
        ),
        (
            "xml.toJson('<a><b></a>')",
            "XML.toJson: not well-formed XML",
        ),
        ("xml.toJson('<a>&nope;</a>')", "unknown entity &nope;"),
        (
            "xml.fromJson('[1, 2]')",
            "XML.fromJson: expected a JSON object",
        ),
        ("xml.fromJson('{nope')", "XML.fromJson: not JSON"),
        (
            "xml.fromJson({'a b': 1})",
            "XML.fromJson: \"a b\" cannot be an XML name",
        ),
        (
            "alphanumeric.toAlphanumeric(7)",
            "Alphanumeric.toAlphanumeric: expected a string, not number",
        ),
    ];
    let script = crate::error_messages_script(
        &format!(
            "{R}const base64 = require('utils/base64'), hex = require('utils/hex'), digest = require('utils/digest'),\n\
         url = require('utils/url'), escape = require('utils/escape'), xml = require('utils/xml'), alphanumeric = require('utils/alphanumeric');\n"
        ),
        &cases,
    );
    let blimp = Blimp::start(
        &[
            ("bad.js", &script),
            ("uncaught.js", "require('utils/xml').toJson('<unclosed>');"),
            (
                "ok.js",
                &format!("{R}response.print(require('utils/hex').encode('ok'));"),
            ),
        ],
        &[],
    );
    crate::assert_messages(&cases, &json_of(&blimp, "/bad"));
    let (status, body) = get(&plain(), &blimp.url("/uncaught"));
    assert_eq!(status, 500);
    assert!(body.contains("XML.toJson: not well-formed XML"), "{body}");
    assert_eq!(get(&plain(), &blimp.url("/ok")), (200, "6f6b".to_string()));
}
