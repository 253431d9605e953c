//! The `knowledge-bases` family: BR.KB.1, every data source of every knowledge base
//! encrypts its transient ingestion data with a customer-managed key (the AWS-native
//! Security Hub control Bedrock.1 asks the same).

use super::{AccountInput, Evaluation};
use super::{Control, Input, Judge, Proof, Regions, reads};
use crate::domain::{ResourceKind, Status};
use crate::evaluate::ids;
use crate::snapshot::AccountSnapshot;

/// BR.KB.1.
pub fn data_sources_encrypted(input: &AccountInput<'_>, snap: &AccountSnapshot) -> Vec<Evaluation> {
    let p = input.org.partition.as_str();
    let mut out = Vec::new();
    for rs in &snap.per_region {
        let kbs = match &rs.knowledge_bases {
            Ok(k) => k,
            Err(gap) => {
                out.push(input.listing_failed(ids::KB_1, &rs.region, "knowledge bases", gap));
                continue;
            }
        };
        for kb in kbs {
            let arn = format!("arn:{p}:bedrock:{}:{}:knowledge-base/{}", rs.region, input.account.id, kb.id);
            let unencrypted: Vec<&str> =
                kb.data_sources.iter().filter(|d| d.kms_key_arn.is_none()).map(|d| d.name.as_str()).collect();
            let (status, detail) = if kb.data_sources.is_empty() {
                (Status::NotApplicable, format!("Knowledge base {} has no data source.", kb.name))
            } else if unencrypted.is_empty() {
                (
                    Status::Pass,
                    format!(
                        "Every data source of knowledge base {} ({}) is encrypted with a customer-managed key.",
                        kb.name,
                        kb.data_sources.len()
                    ),
                )
            } else {
                (
                    Status::Fail,
                    format!(
                        "Knowledge base {}: data source(s) {} encrypt their ingestion data with an AWS-owned key.",
                        kb.name,
                        unencrypted.join(", ")
                    ),
                )
            };
            out.push(input.verdict(ids::KB_1, Some(&rs.region), (&arn, ResourceKind::KnowledgeBase), status, detail));
        }
    }
    if out.is_empty() {
        out.push(input.account_verdict(ids::KB_1, Status::NotApplicable, "The account has no knowledge bases.".into()));
    }
    out
}

/// This family's controls in the registry (`super::FAMILIES`): what each reads and its evaluator.
pub(super) const CONTROLS: &[Control] = &[Control {
    id: ids::KB_1,
    reads: reads(&[Input::KnowledgeBases], Proof::Exhaustive, Regions::Swept),
    judge: Judge::Account(data_sources_encrypted),
}];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evaluate::fixtures::*;
    use crate::snapshot::{Collected, DataSource, KnowledgeBase};

    fn source(name: &str, key: Option<&str>) -> DataSource {
        DataSource { id: name.into(), name: name.into(), kms_key_arn: key.map(str::to_owned) }
    }

    fn judge(kbs: Collected<Vec<KnowledgeBase>>) -> Vec<Evaluation> {
        let mut snap = account_snapshot();
        snap.per_region[0].knowledge_bases = kbs;
        with_input(&snap, |i| data_sources_encrypted(i, &snap))
    }

    #[test]
    fn every_data_source_needs_a_customer_managed_key() {
        let key = Some("arn:aws:kms:eu-west-1:111122223333:key/k");
        let kb = |sources| KnowledgeBase { id: "KB1".into(), name: "docs".into(), data_sources: sources };
        let out = judge(Ok(vec![kb(vec![source("wiki", key), source("tickets", key)])]));
        assert_eq!(statuses(&out), vec![Status::Pass]);
        assert_eq!(out[0].resource_id, format!("arn:aws:bedrock:eu-west-1:{MEMBER}:knowledge-base/KB1"));
        let out = judge(Ok(vec![kb(vec![source("wiki", key), source("tickets", None)])]));
        assert_eq!(statuses(&out), vec![Status::Fail]);
        assert!(out[0].detail.contains("tickets") && !out[0].detail.contains("wiki"), "{}", out[0].detail);
        assert_eq!(statuses(&judge(Ok(vec![kb(vec![])]))), vec![Status::NotApplicable]);
        assert_eq!(statuses(&judge(Ok(vec![]))), vec![Status::NotApplicable]);
        assert_eq!(statuses(&judge(Err(gap("bedrock", "ListKnowledgeBases")))), vec![Status::Error]);
    }
}
