//! Integration tests: the whole sweep against the AWS emulator (moto, server mode) and a
//! real PostgreSQL, plus the command line's behaviour on bad input.

#![expect(clippy::unwrap_used, reason = "harness set-up steps should fail the test loudly")]

mod cli;
mod faults;
mod helpers;
mod proxy;
mod seed;
mod sweep_e2e;
