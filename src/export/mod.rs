//! Export of findings to AWS Security Hub (CSPM): `asff` is the pure mapping,
//! `security_hub` drains the outbox that `store::outbox` fills.

pub mod asff;
pub mod security_hub;
