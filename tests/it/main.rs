//! Integration tests: the whole sweep against the AWS emulator (moto, server mode) and a
//! real PostgreSQL, plus the command line's behaviour on bad input.

#![expect(clippy::unwrap_used, reason = "harness set-up steps should fail the test loudly")]

mod api;
mod chain_fixture;
mod cli;
mod dashboard;
mod deploy;
mod digest_chain;
mod exceptions_hub;
mod faults;
mod helpers;
mod honesty;
mod identity;
mod leases;
mod migrations;
mod org_policies_e2e;
mod proxy;
mod replicas;
mod resilience;
mod scp_e2e;
mod security_hub;
mod seed;
mod sweep_e2e;
