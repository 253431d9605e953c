//! The emulator proxy (`crates/emulator-proxy`): the tests' fault injection and the answers
//! for what moto lacks; the demo runs behind the same proxy (its `emulator-proxy` binary).

pub use emulator_proxy::*;
