//! Embeds the control catalog (`findings/**/*.toml`) into the binary, so a released
//! binary carries the catalog it was validated with, and writes a constant for every control
//! id the catalog holds (`evaluate::ids`), so an evaluator names its control by a constant
//! that exists only if the control's file does.

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
    let out_dir = std::env::var("OUT_DIR").expect("cargo sets OUT_DIR");
    std::fs::write(Path::new(&out_dir).join("catalog_files.rs"), code).expect("OUT_DIR is writable");

    // `findings/<family>/BR.<FAMILY>.<n>.toml` gives `pub const <FAMILY>_<n>`; the name is
    // checked by `KnownControl::new` when the crate compiles, the file's contents at start-up.
    let mut ids = String::new();
    for f in &files {
        let Some(stem) = Path::new(f).file_stem().and_then(|s| s.to_str()) else { continue };
        let Some(rest) = stem.strip_prefix("BR.") else { continue };
        let name = rest.replace('.', "_");
        writeln!(ids, "/// `{stem}`.\npub const {name}: KnownControl = KnownControl::new({stem:?});")
            .expect("writing to a String cannot fail");
    }
    std::fs::write(Path::new(&out_dir).join("control_ids.rs"), ids).expect("OUT_DIR is writable");
}
