//! A multi-file project that requires its own files by project path.

use crate::common::*;

const P: &str = "const response = require('http/v4/response');\n";

#[test]
fn a_project_requires_and_imports_its_files_by_project_path() {
    let blimp = Blimp::start(
        &[
            (
                "crm/api/customers.js",
                &format!("{P}const http = require('crm/api/http');\nconst store = require('crm/data/store');\nconst util = require('crm/util');\nresponse.json({{ sent: http.send('ok'), count: store.count(), again: require('crm/data/store.js') === store, util: util.name }});"),
            ),
            ("crm/api/http.js", "exports.send = (s) => 'sent ' + s;"),
            ("crm/data/store.js", "let n = 0; exports.count = () => ++n;"),
            ("crm/util/index.js", "exports.name = 'index';"),
            (
                "orders/gen/view.mjs",
                "import { response } from '@aerokit/sdk/http';\nimport { total } from 'orders/gen/_model/total';\nimport helper from 'orders/lib/helper.mjs';\nresponse.print(total([1, 2, 3]) + ' ' + helper());",
            ),
            ("orders/gen/_model/total.js", "export function total(list) { return list.reduce((a, b) => a + b, 0); }"),
            ("orders/lib/helper.mjs", "export default () => 'helped';"),
            // A project file that a native module's name hides.
            ("http/request.js", "exports.mine = true;"),
            (
                "hidden.js",
                &format!("{P}response.print(String(require('http/request').mine) + ' ' + typeof require('http/request').getMethod);"),
            ),
            (
                "outside.js",
                &format!("{P}try {{ require('nope/thing') }} catch (e) {{ response.print(e.message) }}"),
            ),
        ],
        &[],
    );
    for _ in 0..2 {
        let body = json(&get(&plain(), &blimp.url("/crm/api/customers")).1);
        assert_eq!(
            body,
            serde_json::json!({"sent": "sent ok", "count": 1, "again": true, "util": "index"}),
            "project paths resolve from the scripts folder, once per request"
        );
    }
    assert_eq!(get(&plain(), &blimp.url("/orders/gen/view")).1, "6 helped");
    assert_eq!(
        get(&plain(), &blimp.url("/hidden")).1,
        "undefined function",
        "native names win over project files"
    );
    assert!(
        blimp.wait_for_log("http/request.js is hidden by the native module http/request"),
        "{}",
        blimp.log()
    );
    get(&plain(), &blimp.url("/hidden"));
    assert_eq!(
        blimp
            .log()
            .matches("is hidden by the native module")
            .count(),
        1,
        "named once"
    );
    let (status, body) = get(&plain(), &blimp.url("/outside"));
    assert_eq!(status, 200);
    assert!(body.contains("Cannot find module 'nope/thing'"), "{body}");
}
