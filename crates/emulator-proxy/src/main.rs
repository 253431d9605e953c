//! `emulator-proxy --upstream <moto port> [--demo <file>] [--record <file>] [--deny-member-role]`:
//! the proxy in front of a running moto server. With `--demo`, it answers the demo
//! organization's calls moto lacks ([`emulator_proxy::demo`]); `<file>` is the JSON
//! `scripts/demo_seed.py` writes (`good`, `good_key`, `bad`). With `--record`, it writes every
//! request it forwards to moto to `<file>`. With `--deny-member-role`, assuming the sweeper's
//! member role (`BedrockSweeperReadOnly`) is AccessDenied, as where the role is missing: a
//! sweep then does discovery and the organization-policy controls only (the benchmark's
//! memory run). Prints its endpoint on the first line of stdout, then serves until killed.
//!
//! `emulator-proxy --replay <file> --upstream <moto port> --concurrency <n>`: sends a
//! recording to moto again, `n` requests at a time, and prints what it measured as JSON (the
//! sweep benchmark's emulator ceiling, [`emulator_proxy::replay`]).

use emulator_proxy::demo::{self, DemoOrg};
use emulator_proxy::{Proxy, Reply};

fn usage() -> ! {
    eprintln!(
        "usage: emulator-proxy --upstream <moto port> [--demo <seeded organization JSON>] [--record <file>] [--deny-member-role]\n       emulator-proxy --replay <file> --upstream <moto port> --concurrency <n>"
    );
    std::process::exit(2)
}

fn fail(message: String) -> ! {
    eprintln!("emulator-proxy: {message}");
    std::process::exit(1)
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let value = |flag: &str| args.iter().position(|a| a == flag).and_then(|i| args.get(i + 1)).cloned();
    let Some(upstream) = value("--upstream").and_then(|p| p.parse::<u16>().ok()) else { usage() };
    if let Some(file) = value("--replay") {
        let Some(concurrency) = value("--concurrency").and_then(|n| n.parse::<usize>().ok()) else { usage() };
        let mut input = std::fs::File::open(&file).unwrap_or_else(|e| fail(format!("cannot read {file}: {e}")));
        let requests = emulator_proxy::replay::read(&mut std::io::BufReader::new(&mut input))
            .unwrap_or_else(|e| fail(format!("{file} is not a whole recording: {e}")));
        let replayed = emulator_proxy::replay::replay(requests, upstream, concurrency).await;
        let statuses: serde_json::Map<String, serde_json::Value> =
            replayed.statuses.iter().map(|(s, n)| (s.to_string(), (*n).into())).collect();
        println!(
            "{}",
            serde_json::json!({"requests": replayed.requests, "failed": replayed.failed, "seconds": replayed.seconds,
                               "requests_per_second": replayed.rate(), "concurrency": concurrency, "statuses": statuses})
        );
        return;
    }

    let proxy = Proxy::start(upstream).await;
    if let Some(file) = value("--demo") {
        let text = std::fs::read_to_string(&file).unwrap_or_else(|e| fail(format!("cannot read {file}: {e}")));
        let seeded: serde_json::Value =
            serde_json::from_str(&text).unwrap_or_else(|e| fail(format!("{file} is not JSON: {e}")));
        let field = |name: &str| {
            seeded[name].as_str().map(str::to_owned).unwrap_or_else(|| fail(format!("{file} has no `{name}`")))
        };
        let trail_key = (
            seeded["trail_key"]["value"]
                .as_str()
                .map(str::to_owned)
                .unwrap_or_else(|| fail(format!("{file} has no `trail_key`"))),
            seeded["trail_key"]["fingerprint"]
                .as_str()
                .map(str::to_owned)
                .unwrap_or_else(|| fail(format!("{file} has no `trail_key`"))),
        );
        let org = DemoOrg { good: field("good"), good_key: field("good_key"), bad: field("bad"), trail_key };
        proxy.rule(move |req| demo::answer(&org, req));
    }
    if args.iter().any(|a| a == "--deny-member-role") {
        proxy.rule(|req| {
            (req.action().as_deref() == Some("AssumeRole") && req.body_text().contains("BedrockSweeperReadOnly")).then(
                || {
                    Reply::xml_error(
                        403,
                        "AccessDenied",
                        "not authorized to perform: sts:AssumeRole (emulator-proxy --deny-member-role)",
                    )
                },
            )
        });
    }
    if let Some(file) = value("--record") {
        proxy.record_to(std::path::Path::new(&file)).unwrap_or_else(|e| fail(format!("cannot write {file}: {e}")));
    }
    println!("{}", proxy.endpoint());
    // Stop on Ctrl-C or SIGTERM (the scripts' `kill`).
    match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
        }
        Err(_) => {
            let _stopped = tokio::signal::ctrl_c().await;
        }
    }
    proxy.flush_recording().unwrap_or_else(|e| fail(format!("cannot write the recording: {e}")));
}
