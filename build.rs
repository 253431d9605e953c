//! Embeds the control catalog (`findings/**/*.toml`) into the binary, so a released
//! binary carries the catalog it was validated with.

use std::fmt::Write as _;
use std::path::Path;

fn collect(dir: &Path, out: &mut Vec<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    let mut entries: Vec<_> = entries.flatten().map(|e| e.path()).collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            collect(&path, out);
        } else if path.extension().is_some_and(|e| e == "toml") {
            out.push(path.to_string_lossy().into_owned());
        }
    }
}

fn main() {
    let root = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let findings = Path::new(&root).join("findings");
    println!("cargo:rerun-if-changed=findings");
    let mut files = Vec::new();
    collect(&findings, &mut files);
    let mut code = String::from(
        "/// Every `findings/**/*.toml` file: (path relative to `findings/`, contents).\npub static CATALOG_FILES: &[(&str, &str)] = &[\n",
    );
    for f in &files {
        println!("cargo:rerun-if-changed={f}");
        let rel =
            Path::new(f).strip_prefix(&findings).expect("file is below findings/").to_string_lossy().replace('\\', "/");
        writeln!(code, "    ({rel:?}, include_str!({f:?})),").expect("writing to a String cannot fail");
    }
    code.push_str("];\n");
    let out = Path::new(&std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("catalog_files.rs");
    std::fs::write(out, code).expect("OUT_DIR is writable");
}
