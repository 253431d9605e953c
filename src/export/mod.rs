//! Export of findings to AWS Security Hub (CSPM): `asff` is the pure mapping,
//! `security_hub` drains the outbox that `store::outbox` fills (BatchImportFindings), and
//! `workflow` sends exceptions as suppressions (BatchUpdateFindings, `store::workflow`);
//! `sender` is what the two deliveries share (the sender, batch limit, pacing).

pub mod asff;
pub mod security_hub;
pub mod sender;
pub mod workflow;
