//! The app's files and their versions: every file is named by a hash of its content
//! (`/app.js?v=…`), so a versioned URL never changes meaning and may be cached for a year.
//! Modules import each other by plain paths (`../dom.js`); the import map that the page
//! carries turns each into its versioned URL, so the modules themselves need no build step.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, OnceLock};

use base64::Engine;
use rust_embed::RustEmbed;
use sha2::{Digest, Sha256};

#[derive(RustEmbed)]
#[folder = "web/"]
pub struct Assets;

/// The versions of the app's files and the static imports between its modules.
#[derive(Debug, Default)]
pub struct AssetTable {
    /// `"js/dom.js"` → its version (16 hex digits of its SHA-256).
    versions: HashMap<String, String>,
    /// `"js/views/home.js"` → the modules it imports statically (paths without the slash).
    imports: HashMap<String, Vec<String>>,
    /// `<script type="importmap">…</script>`, ready to insert.
    pub import_map: String,
    /// The CSP source that allows that inline script (`'sha256-…'`).
    pub import_map_hash: String,
}

/// The table of the embedded files. A release binary's files never change, so it is made once;
/// a debug build reads `web/` from disk, so it is made again for each page and an edit shows
/// on reload.
pub fn table() -> Arc<AssetTable> {
    if cfg!(debug_assertions) {
        return Arc::new(AssetTable::build());
    }
    static TABLE: OnceLock<Arc<AssetTable>> = OnceLock::new();
    TABLE.get_or_init(|| Arc::new(AssetTable::build())).clone()
}

/// 16 hex digits of a SHA-256: the version of a file and, with a suffix, its ETag.
pub fn short_hash(hash: &[u8; 32]) -> String {
    hex::encode(&hash[..8])
}

impl AssetTable {
    fn build() -> AssetTable {
        let mut versions = HashMap::new();
        let mut imports = HashMap::new();
        for path in Assets::iter() {
            let Some(file) = Assets::get(&path) else {
                continue;
            };
            versions.insert(path.to_string(), short_hash(&file.metadata.sha256_hash()));
            if path.ends_with(".js") {
                let source = String::from_utf8_lossy(&file.data);
                imports.insert(path.to_string(), static_imports(&path, &source));
            }
        }
        let modules: BTreeMap<String, String> = versions
            .iter()
            .filter(|(path, _)| path.ends_with(".js") && *path != "sw.js")
            .map(|(path, version)| (format!("/{path}"), format!("/{path}?v={version}")))
            .collect();
        let json = serde_json::json!({ "imports": modules }).to_string();
        let import_map_hash = format!(
            "'sha256-{}'",
            base64::engine::general_purpose::STANDARD.encode(Sha256::digest(json.as_bytes()))
        );
        AssetTable {
            versions,
            imports,
            import_map: format!("<script type=\"importmap\">{json}</script>"),
            import_map_hash,
        }
    }

    /// The version of a file (`"style.css"`), if the app has it.
    pub fn version(&self, path: &str) -> Option<&str> {
        self.versions.get(path).map(String::as_str)
    }

    /// `/style.css` → `/style.css?v=…`; other URLs stay as they are.
    pub fn versioned(&self, url: &str) -> String {
        match self.version(url.trim_start_matches('/')) {
            Some(v) if url.starts_with('/') && !url.contains('?') => format!("{url}?v={v}"),
            _ => url.to_owned(),
        }
    }

    /// `roots` and every module they import, directly or not, in a stable order (roots first).
    pub fn closure(&self, roots: &[&str]) -> Vec<String> {
        let mut seen = BTreeSet::new();
        let mut order = Vec::new();
        let mut stack: Vec<String> = roots.iter().rev().map(|r| (*r).to_owned()).collect();
        while let Some(path) = stack.pop() {
            if !self.versions.contains_key(&path) || !seen.insert(path.clone()) {
                continue;
            }
            if let Some(next) = self.imports.get(&path) {
                stack.extend(next.iter().rev().cloned());
            }
            order.push(path);
        }
        order
    }
}

/// The modules a module imports statically (`import … from '…'`, `import '…'`), resolved
/// against its own path. Dynamic `import()` is left out: those load on demand.
fn static_imports(path: &str, source: &str) -> Vec<String> {
    let dir = path.rsplit_once('/').map_or("", |(dir, _)| dir);
    let mut found = Vec::new();
    let mut in_import = false;
    for line in source.lines() {
        let line = line.trim_start();
        if line.starts_with("import ") || line.starts_with("import{") {
            in_import = true;
        }
        if !in_import {
            continue;
        }
        let Some(spec) = quoted_specifier(line) else {
            continue;
        };
        in_import = false;
        if let Some(resolved) = resolve(dir, spec) {
            found.push(resolved);
        }
    }
    found
}

/// The `'…'` after `from` (or right after `import`) on a line of an import statement.
fn quoted_specifier(line: &str) -> Option<&str> {
    let rest = if let Some((_, after)) = line.rsplit_once(" from ") {
        after
    } else {
        line.strip_prefix("import ")?
    }
    .trim_start();
    let quote = rest.chars().next().filter(|c| *c == '\'' || *c == '"')?;
    let body = &rest[1..];
    body.find(quote).map(|end| &body[..end])
}

/// `("js/views", "../dom.js")` → `js/dom.js`; `("", "/js/api.js")` → `js/api.js`.
fn resolve(dir: &str, spec: &str) -> Option<String> {
    let mut parts: Vec<&str> = if spec.starts_with('/') {
        Vec::new()
    } else if spec.starts_with("./") || spec.starts_with("../") {
        dir.split('/').filter(|p| !p.is_empty()).collect()
    } else {
        return None;
    };
    for part in spec.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            p => parts.push(p),
        }
    }
    Some(parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn imports_are_found_and_resolved() {
        let source = "// a comment with import in it\n\
            import { h, replace } from '../dom.js';\n\
            import {\n  get,\n  put,\n} from \"../api.js\";\n\
            import './side.js';\n\
            const later = () => import('./admin.js');\n";
        assert_eq!(
            static_imports("js/views/home.js", source),
            ["js/dom.js", "js/api.js", "js/views/side.js"]
        );
        assert_eq!(
            static_imports("app.js", "import { t } from '/js/i18n.js';"),
            ["js/i18n.js"]
        );
        assert_eq!(resolve("js", "../../x.js"), None);
        assert_eq!(resolve("js", "lodash"), None);
    }

    #[test]
    fn the_embedded_app_has_versions_and_a_closed_import_graph() {
        let table = AssetTable::build();
        let app = table.closure(&["app.js"]);
        assert_eq!(app.first().map(String::as_str), Some("app.js"));
        assert!(app.iter().any(|m| m == "js/dom.js"), "{app:?}");
        assert!(
            !app.iter().any(|m| m == "js/views/admin.js"),
            "the admin screens load on demand: {app:?}"
        );
        let v = table.version("style.css").expect("style.css is embedded");
        assert_eq!(table.versioned("/style.css"), format!("/style.css?v={v}"));
        assert_eq!(table.versioned("/nothing.css"), "/nothing.css");
        assert!(table.import_map.contains("\"/js/dom.js\":\"/js/dom.js?v="));
    }
}
