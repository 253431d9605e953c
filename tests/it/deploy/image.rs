//! The `Dockerfile`: hadolint accepts it, and it builds what the manifests run. (No image is
//! built in the suite: this sandbox reaches no container registry for the base images. The
//! note of issue 15 says so.)

use super::{repo, run_tool, yaml_documents};

fn dockerfile() -> String {
    std::fs::read_to_string(repo("Dockerfile")).unwrap()
}

#[test]
fn hadolint_accepts_the_dockerfile() {
    run_tool("hadolint", &["--failure-threshold", "info", "Dockerfile"]);
}

#[test]
fn the_image_is_built_from_what_the_build_needs_and_exposes_the_manifests_ports() {
    let text = dockerfile();
    // The toolchain is at least the crate's rust-version.
    let manifest = std::fs::read_to_string(repo("Cargo.toml")).unwrap();
    let needed = manifest.lines().find_map(|l| l.strip_prefix("rust-version = ")).unwrap().trim_matches('"');
    let given = text.lines().find_map(|l| l.strip_prefix("ARG RUST_VERSION=")).expect("ARG RUST_VERSION");
    let version = |v: &str| v.split('.').map(|n| n.parse::<u32>().unwrap()).collect::<Vec<_>>();
    assert!(version(given) >= version(needed), "Dockerfile's Rust {given} is older than rust-version {needed}");
    // Offline query checks, a locked build of the service's binary.
    assert!(text.contains("SQLX_OFFLINE=true"));
    assert!(text.contains("cargo build --release --locked --package bedrock-sweeper --bin bedrock-sweeper"));

    // The build context keeps every input of the build.
    let ignore = std::fs::read_to_string(repo(".dockerignore")).unwrap();
    let patterns: Vec<&str> = ignore.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')).collect();
    for needed in
        ["src", "crates", "findings", "migrations", ".sqlx", "build.rs", "Cargo.toml", "Cargo.lock", "benches"]
    {
        assert!(repo(needed).exists(), "{needed} moved: update this test and the Dockerfile");
        assert!(
            patterns.iter().all(|p| !p.trim_end_matches('/').trim_start_matches("**/").starts_with(needed)),
            ".dockerignore drops {needed}"
        );
    }

    // The ports it declares are the Deployment's.
    let deployment = yaml_documents("deploy/kubernetes/deployment.yaml").remove(0);
    let container = &deployment["spec"]["template"]["spec"]["containers"][0];
    let mut declared: Vec<u64> =
        container["ports"].as_array().unwrap().iter().map(|p| p["containerPort"].as_u64().unwrap()).collect();
    declared.sort_unstable();
    let mut exposed: Vec<u64> = text
        .lines()
        .filter_map(|l| l.strip_prefix("EXPOSE "))
        .flat_map(|l| l.split_whitespace().map(|p| p.parse::<u64>().unwrap()))
        .collect();
    exposed.sort_unstable();
    assert_eq!(exposed, declared);
    assert!(text.contains(r#"ENTRYPOINT ["/usr/local/bin/bedrock-sweeper"]"#));
}
