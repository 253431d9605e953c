//! `emulator-proxy --upstream <moto port> --demo <file>`: the proxy in front of a running
//! moto server, answering the demo organization's calls moto lacks ([`emulator_proxy::demo`]).
//! `<file>` is the JSON `scripts/demo_seed.py` writes (`good`, `good_key`, `bad`). Prints its
//! endpoint on the first line of stdout, then serves until killed.

use emulator_proxy::Proxy;
use emulator_proxy::demo::{self, DemoOrg};

fn usage() -> ! {
    eprintln!("usage: emulator-proxy --upstream <moto port> --demo <seeded organization JSON>");
    std::process::exit(2)
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let value = |flag: &str| args.iter().position(|a| a == flag).and_then(|i| args.get(i + 1)).cloned();
    let Some(upstream) = value("--upstream").and_then(|p| p.parse::<u16>().ok()) else { usage() };
    let Some(file) = value("--demo") else { usage() };
    let text = std::fs::read_to_string(&file).unwrap_or_else(|e| {
        eprintln!("emulator-proxy: cannot read {file}: {e}");
        std::process::exit(1)
    });
    let seeded: serde_json::Value = serde_json::from_str(&text).unwrap_or_else(|e| {
        eprintln!("emulator-proxy: {file} is not JSON: {e}");
        std::process::exit(1)
    });
    let field = |name: &str| {
        seeded[name].as_str().map(str::to_owned).unwrap_or_else(|| {
            eprintln!("emulator-proxy: {file} has no `{name}`");
            std::process::exit(1)
        })
    };
    let org = DemoOrg { good: field("good"), good_key: field("good_key"), bad: field("bad") };
    let proxy = Proxy::start(upstream).await;
    proxy.rule(move |req| demo::answer(&org, req));
    println!("{}", proxy.endpoint());
    // Stop on Ctrl-C or SIGTERM (the demo script's `kill`).
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
}
