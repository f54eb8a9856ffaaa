//! Extension points from `*.extensionpoint` / `*.extension` files: the
//! v4 `require` loop, the current SDK's `loadExtensionModules`, every
//! name of the module, and files added and removed while the server runs.

use crate::common::*;

const R: &str = "const response = require('http/v4/response');\n";

#[test]
fn extension_points_from_the_project_files_kept_current() {
    let blimp = Blimp::start(
        &[
            ("crm/extensionpoints/menu.extensionpoint", r#"{"name": "crm-menu", "description": "Menus"}"#),
            ("crm/extensions/customers.extension", r#"{"extensionPoint": "crm-menu", "module": "crm/menus/customers", "description": "Customers"}"#),
            ("crm/extensions/orders.extension", r#"{"extensionPoint": "crm-menu", "module": "crm/menus/orders.mjs"}"#),
            ("crm/extensions/broken.extension", "{ not json"),
            ("crm/menus/customers.js", "exports.getMenu = () => ({ name: 'Customers', order: 2 });"),
            ("crm/menus/orders.mjs", "export function getMenu() { return { name: 'Orders', order: 1 }; }"),
            ("crm/menus/empty.js", "// exports nothing"),
            ("crm/menus/partial.js", "exports.other = () => 1;"),
            // core-extensions.md's v4 example, as written (with a project path).
            (
                "v4.js",
                "var extensions = require(\"core/v4/extensions\");\nvar response = require(\"http/v4/response\");\n\
                 var mainmenu = [];\nvar menuExtensions = extensions.getExtensions(\"crm-menu\");\n\
                 for (var i = 0; i < menuExtensions.length; i++) {\n\
                   var module = menuExtensions[i];\n\
                   if (module.endsWith('.mjs')) continue; // an ES module: import it\n\
                   menuExtension = require(module);\n\
                   var menu = menuExtension.getMenu();\n\
                   mainmenu.push(menu);\n\
                 }\n\
                 response.println(JSON.stringify(mainmenu));",
            ),
            (
                "list.js",
                &format!(
                    "{R}const extensions = require('extensions/extensions');\n\
                     const same = ['core/extensions', 'core/v3/extensions', 'core/v4/extensions', 'sdk/extensions/extensions', '@aerokit/sdk/extensions/extensions']\n\
                       .every(n => require(n) === extensions) && require('sdk/extensions').Extensions === extensions;\n\
                     response.json({{ same, points: extensions.getExtensionPoints(), menu: extensions.getExtensions('crm-menu'),\n\
                       none: extensions.getExtensions('no-such-point'), other: extensions.getExtensions('crm-other') }});"
                ),
            ),
            (
                "load.mjs",
                "import { extensions } from 'sdk/extensions';\nimport { Extensions } from '@aerokit/sdk/extensions';\nimport { response } from 'sdk/http';\n\
                 const loaded = await extensions.loadExtensionModules('crm-menu', ['getMenu']);\n\
                 const viaLoad = await Extensions.load('crm-menu');\n\
                 const names = loaded.map(m => m.getMenu()).sort((a, b) => a.order - b.order).map(m => m.name);\n\
                 response.json({ names, count: viaLoad.length });",
            ),
            (
                "strict.mjs",
                "import { Extensions } from '@aerokit/sdk/extensions';\nimport { response } from 'sdk/http';\n\
                 const lenient = await Extensions.loadExtensionModules('crm-checked', ['getMenu']);\n\
                 let strict;\n\
                 try { await Extensions.loadExtensionModules('crm-checked', ['getMenu'], true); strict = 'no error'; } catch (e) { strict = e.message; }\n\
                 response.json({ lenient: lenient.length, strict });",
            ),
            ("crm/extensions/empty.extension", r#"{"extensionPoint": "crm-checked", "module": "crm/menus/empty"}"#),
            ("crm/extensions/partial.extension", r#"{"extensionPoint": "crm-checked", "module": "crm/menus/partial"}"#),
            ("crm/extensions/missing.extension", r#"{"extensionPoint": "crm-checked", "module": "crm/menus/missing"}"#),
        ],
        &[],
    );
    let list = |blimp: &Blimp| {
        let (status, body) = get(&plain(), &blimp.url("/list"));
        assert_eq!(status, 200, "{body}\n{}", blimp.log());
        json(&body)
    };
    assert_eq!(
        list(&blimp),
        serde_json::json!({"same": true, "points": ["crm-menu"],
            "menu": ["crm/menus/customers", "crm/menus/orders.mjs"], "none": [], "other": []})
    );
    assert!(
        blimp.wait_for_log("crm/extensions/broken.extension: not JSON"),
        "{}",
        blimp.log()
    );
    assert_eq!(
        get(&plain(), &blimp.url("/v4")),
        (200, "[{\"name\":\"Customers\",\"order\":2}]\n".to_string())
    );
    let (status, body) = get(&plain(), &blimp.url("/load"));
    assert_eq!(status, 200, "{body}\n{}", blimp.log());
    assert_eq!(
        json(&body),
        serde_json::json!({"names": ["Orders", "Customers"], "count": 2}),
        "CommonJS modules are required, ES modules imported"
    );
    let (status, body) = get(&plain(), &blimp.url("/strict"));
    assert_eq!(status, 200, "{body}\n{}", blimp.log());
    assert_eq!(
        json(&body),
        serde_json::json!({"lenient": 0, "strict": "Error occurred while importing extension 'crm/menus/empty' for extension point 'crm-checked'."}),
    );
    assert!(
        blimp.wait_for_log("Extension 'crm/menus/partial' for extension point 'crm-checked', doesn't provide the following required function(s)"),
        "{}",
        blimp.log()
    );
    assert!(blimp.wait_for_log("Extension 'crm/menus/empty' for extension point 'crm-checked' doesn't provide any function(s)"));
    assert!(blimp.wait_for_log("Error occurred while importing extension 'crm/menus/missing'"));

    // Added while the server runs: the next requests see it (each of the
    // two workers, on new connections).
    write(
        &blimp.scripts,
        "sales/extensions/leads.extension",
        r#"{"extensionPoint": "crm-menu", "module": "sales/menus/leads"}"#,
    );
    write(
        &blimp.scripts,
        "sales/extensionpoints/other.extensionpoint",
        r#"{"name": "crm-other"}"#,
    );
    write(
        &blimp.scripts,
        "sales/menus/leads.js",
        "exports.getMenu = () => ({ name: 'Leads', order: 3 });",
    );
    for _ in 0..6 {
        let found = list(&blimp);
        assert_eq!(
            found["menu"],
            serde_json::json!([
                "crm/menus/customers",
                "crm/menus/orders.mjs",
                "sales/menus/leads"
            ])
        );
        assert_eq!(
            found["points"],
            serde_json::json!(["crm-menu", "crm-other"])
        );
    }
    let (_, body) = get(&plain(), &blimp.url("/load"));
    assert_eq!(
        json(&body)["names"],
        serde_json::json!(["Orders", "Customers", "Leads"])
    );

    // Removed and changed: gone from the next request on.
    std::fs::remove_file(blimp.scripts.join("crm/extensions/customers.extension")).unwrap();
    write(
        &blimp.scripts,
        "crm/extensions/orders.extension",
        r#"{"extensionPoint": "crm-elsewhere", "module": "crm/menus/orders.mjs"}"#,
    );
    for _ in 0..6 {
        assert_eq!(
            list(&blimp)["menu"],
            serde_json::json!(["sales/menus/leads"])
        );
    }
}
