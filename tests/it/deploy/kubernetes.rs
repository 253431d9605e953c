//! `deploy/kubernetes/`: the manifests validate against the Kubernetes schemas
//! (kubernetes-validate, strict), and what they give the binary is what the binary reads: the
//! environment parses as the service's settings, the ports are the ones it listens on, the
//! probes are its health routes, secrets come from the Secret only, and the pods run as the
//! image's non-root user on a read-only root filesystem.

use std::collections::BTreeMap;

use bedrock_sweeper::config::Settings;
use serde_json::Value;

use super::{repo, run_tool, yaml_documents};

const DIR: &str = "deploy/kubernetes";

/// Every manifest of the directory, by file.
fn manifests() -> BTreeMap<String, Vec<Value>> {
    let mut files = BTreeMap::new();
    for entry in std::fs::read_dir(repo(DIR)).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        if name.ends_with(".yaml") {
            files.insert(name.clone(), yaml_documents(&format!("{DIR}/{name}")));
        }
    }
    files
}

fn of_kind<'a>(all: &'a BTreeMap<String, Vec<Value>>, kind: &str) -> Vec<&'a Value> {
    all.values().flatten().filter(|d| d["kind"] == kind).collect()
}

/// A container's environment as the kubelet builds it: `envFrom` ConfigMaps and Secrets, then
/// `env` (values and references), with the Secret's values taken from the example.
fn environment(container: &Value, config: &Value, secret: &Value) -> Vec<(String, String)> {
    let mut env = BTreeMap::new();
    for source in container["envFrom"].as_array().into_iter().flatten() {
        assert!(source.get("secretRef").is_none(), "name each secret key explicitly: {source}");
        assert_eq!(source["configMapRef"]["name"], config["metadata"]["name"], "{source}");
        for (k, v) in config["data"].as_object().unwrap() {
            env.insert(k.clone(), v.as_str().unwrap().to_owned());
        }
    }
    for var in container["env"].as_array().into_iter().flatten() {
        let name = var["name"].as_str().unwrap().to_owned();
        let value = if let Some(value) = var["value"].as_str() {
            value.to_owned()
        } else if let Some(key) = var["valueFrom"]["secretKeyRef"].as_object() {
            assert_eq!(key["name"], secret["metadata"]["name"], "{var}");
            let k = key["key"].as_str().unwrap();
            secret["stringData"][k].as_str().unwrap_or_else(|| panic!("the example Secret lacks {k}")).to_owned()
        } else {
            panic!("unexpected env source {var}")
        };
        env.insert(name, value);
    }
    env.into_iter().collect()
}

fn port(container: &Value, name: &str) -> u64 {
    let ports = container["ports"].as_array().unwrap();
    let found = ports.iter().find(|p| p["name"] == name).unwrap_or_else(|| panic!("no container port {name}"));
    found["containerPort"].as_u64().unwrap()
}

#[test]
fn the_manifests_validate_against_the_kubernetes_schemas() {
    let files: Vec<String> = manifests().into_keys().map(|f| format!("{DIR}/{f}")).collect();
    let args: Vec<&str> = ["--strict", "--quiet"].into_iter().chain(files.iter().map(String::as_str)).collect();
    run_tool("kubernetes-validate", &args);
    // Everything but the example Secret is applied by the kustomization.
    let all = manifests();
    let kustomization = &all["kustomization.yaml"][0];
    let mut listed: Vec<&str> =
        kustomization["resources"].as_array().unwrap().iter().map(|r| r.as_str().unwrap()).collect();
    listed.sort_unstable();
    let expected: Vec<&str> =
        all.keys().map(String::as_str).filter(|f| !["kustomization.yaml", "secret.example.yaml"].contains(f)).collect();
    assert_eq!(listed, expected);
}

#[test]
fn the_deployment_gives_the_binary_what_it_reads() {
    let all = manifests();
    let [deployment] = of_kind(&all, "Deployment")[..] else { panic!("one Deployment") };
    let [config] = of_kind(&all, "ConfigMap")[..] else { panic!("one ConfigMap") };
    let [secret] = of_kind(&all, "Secret")[..] else { panic!("one (example) Secret") };
    let [service] = of_kind(&all, "Service")[..] else { panic!("one Service") };
    let [account] = of_kind(&all, "ServiceAccount")[..] else { panic!("one ServiceAccount") };

    let spec = &deployment["spec"];
    assert_eq!(spec["replicas"], 2, "two replicas share the sweeps");
    let pod = &spec["template"]["spec"];
    assert_eq!(pod["serviceAccountName"], account["metadata"]["name"]);
    assert!(account["metadata"]["annotations"]["eks.amazonaws.com/role-arn"].is_string(), "IRSA annotation");

    let init = pod["initContainers"].as_array().unwrap();
    assert_eq!(init.len(), 1);
    assert_eq!(init[0]["args"], serde_json::json!(["migrate"]), "migrations are applied before serving");
    let [server] = &pod["containers"].as_array().unwrap()[..] else { panic!("one container") };
    assert_eq!(server["args"], serde_json::json!(["serve"]));
    assert_eq!(init[0]["image"], server["image"], "the migrations of the version that serves");

    for container in [server, &init[0]] {
        let env = environment(container, config, secret);
        // The secrets come from the Secret, never from the ConfigMap.
        for key in [
            "SWEEPER_DATABASE__URL",
            "SWEEPER_API__TOKENS",
            "SWEEPER_AWS__EXTERNAL_ID",
            "SWEEPER_API__FINGERPRINT_SECRET",
        ] {
            assert!(config["data"].get(key).is_none(), "{key} is a secret");
            assert!(env.iter().any(|(k, _)| k == key), "{} lacks {key}", container["name"]);
        }
        let settings = Settings::from_sources("", env.clone())
            .unwrap_or_else(|e| panic!("{}: the environment is not valid settings: {e}", container["name"]));
        assert!(!settings.api.tokens.is_empty());
        let security = &container["securityContext"];
        assert_eq!(security["readOnlyRootFilesystem"], true);
        assert_eq!(security["allowPrivilegeEscalation"], false);
        assert_eq!(security["capabilities"]["drop"], serde_json::json!(["ALL"]));
    }

    let settings = Settings::from_sources("", environment(server, config, secret)).unwrap();
    assert!(!settings.api.listen.ip().is_loopback(), "the Service cannot reach a loopback address");
    assert_eq!(u64::from(settings.api.listen.port()), port(server, "http"));
    let metrics = settings.api.metrics_listen.expect("metrics on their own port, outside the token");
    assert_eq!(u64::from(metrics.port()), port(server, "metrics"));
    for p in service["spec"]["ports"].as_array().unwrap() {
        port(server, p["targetPort"].as_str().unwrap());
    }
    assert_eq!(service["spec"]["selector"], spec["selector"]["matchLabels"]);

    // The probes are the health routes, which need no token.
    let document = bedrock_sweeper::api::openapi();
    for (probe, path) in [("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")] {
        assert_eq!(server[probe]["httpGet"]["path"], path);
        assert_eq!(server[probe]["httpGet"]["port"], "http");
        let operation = &document["paths"][path]["get"];
        assert!(operation.is_object(), "the service serves {path}");
        assert!(operation.get("security").is_none(), "{path} must answer without a token");
    }

    // The pods run as the image's user, never root.
    let security = &pod["securityContext"];
    assert_eq!(security["runAsNonRoot"], true);
    assert_eq!(security["seccompProfile"]["type"], "RuntimeDefault");
    let dockerfile = std::fs::read_to_string(repo("Dockerfile")).unwrap();
    let user = dockerfile.lines().filter_map(|l| l.strip_prefix("USER ")).next_back().expect("the image sets its user");
    assert_eq!(user.trim(), format!("{}:{}", security["runAsUser"], security["runAsGroup"]));
}
