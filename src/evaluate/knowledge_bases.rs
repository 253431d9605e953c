//! The `knowledge-bases` family: BR.KB.1, every data source of every knowledge base
//! encrypts its transient ingestion data with a customer-managed key (the AWS-native
//! Security Hub control Bedrock.1 asks the same), and a knowledge base whose vector store
//! Bedrock manages encrypts that store with one. Where the account brings its own vector
//! store, the evidence names it: Bedrock does not report that store's encryption.

use super::{AccountInput, Evaluation};
use super::{Control, Input, Judge, Proof, Regions, reads};
use crate::domain::{ResourceKind, Status};
use crate::evaluate::ids;
use crate::snapshot::{AccountSnapshot, KnowledgeBase};

/// Where the knowledge base keeps its vectors, for the detail.
fn store_words(kb: &KnowledgeBase) -> String {
    match (&kb.vector_store, kb.kind.as_deref()) {
        (_, Some("MANAGED")) => match &kb.managed_store_key {
            Some(key) => format!(" Its Bedrock-managed vector store is encrypted with {key}."),
            None => String::new(),
        },
        (Some(store), _) => {
            let at = store.location.as_deref().map(|l| format!(" ({l})")).unwrap_or_default();
            if store.is_outside_aws() {
                format!(
                    " Its vectors are kept outside AWS, in {}{at}: that service's own encryption applies, which Bedrock does not report.",
                    store.kind
                )
            } else {
                format!(
                    " Its vectors are kept in {}{at}, encrypted by that store's own setting, which Bedrock does not report.",
                    store.kind
                )
            }
        }
        (None, _) => String::new(),
    }
}

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
            let managed = kb.kind.as_deref() == Some("MANAGED");
            let mut wrong = Vec::new();
            let unencrypted: Vec<&str> =
                kb.data_sources.iter().filter(|d| d.kms_key_arn.is_none()).map(|d| d.name.as_str()).collect();
            if !unencrypted.is_empty() {
                wrong.push(format!(
                    "data source(s) {} encrypt their ingestion data with an AWS-owned key",
                    unencrypted.join(", ")
                ));
            }
            if managed && kb.managed_store_key.is_none() {
                wrong.push("its Bedrock-managed vector store is encrypted with an AWS-owned key".to_owned());
            }
            let store = store_words(kb);
            let (status, detail) = if !wrong.is_empty() {
                (Status::Fail, format!("Knowledge base {}: {}.{store}", kb.name, wrong.join("; ")))
            } else if kb.data_sources.is_empty() && !managed {
                (Status::NotApplicable, format!("Knowledge base {} has no data source.{store}", kb.name))
            } else {
                let sources = if kb.data_sources.is_empty() {
                    "It has no data source.".to_owned()
                } else {
                    format!(
                        "Every data source of it ({}) is encrypted with a customer-managed key.",
                        kb.data_sources.len()
                    )
                };
                (Status::Pass, format!("Knowledge base {}: {sources}{store}", kb.name))
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
    use crate::snapshot::{Collected, DataSource, KnowledgeBase, VectorStore};

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
        let kb = |sources| KnowledgeBase { data_sources: sources, ..knowledge_base(None) };
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

    fn knowledge_base(store: Option<VectorStore>) -> KnowledgeBase {
        KnowledgeBase {
            id: "KB1".into(),
            name: "docs".into(),
            data_sources: vec![source("wiki", Some("arn:aws:kms:eu-west-1:111122223333:key/k"))],
            kind: Some("VECTOR".into()),
            managed_store_key: None,
            vector_store: store,
            embedding_model: None,
        }
    }

    #[test]
    fn a_managed_store_needs_its_own_key_and_a_brought_store_is_named() {
        let mut managed = knowledge_base(None);
        managed.kind = Some("MANAGED".into());
        managed.data_sources.clear();
        let out = judge(Ok(vec![managed.clone()]));
        assert_eq!(statuses(&out), vec![Status::Fail]);
        assert!(
            out[0].detail.contains("Bedrock-managed vector store is encrypted with an AWS-owned key"),
            "{}",
            out[0].detail
        );
        managed.managed_store_key = Some("arn:aws:kms:eu-west-1:111122223333:key/store".into());
        let out = judge(Ok(vec![managed]));
        assert_eq!(statuses(&out), vec![Status::Pass], "{out:?}");
        assert!(out[0].detail.contains("key/store"), "{}", out[0].detail);

        let aoss = VectorStore {
            kind: "OPENSEARCH_SERVERLESS".into(),
            location: Some("arn:aws:aoss:eu-west-1:111122223333:collection/abc".into()),
        };
        let out = judge(Ok(vec![knowledge_base(Some(aoss))]));
        assert_eq!(statuses(&out), vec![Status::Pass]);
        assert!(out[0].detail.contains("OPENSEARCH_SERVERLESS (arn:aws:aoss:eu-west-1:111122223333:collection/abc)"));
        let pinecone = VectorStore { kind: "PINECONE".into(), location: Some("https://docs.svc.pinecone.io".into()) };
        let out = judge(Ok(vec![knowledge_base(Some(pinecone))]));
        assert!(out[0].detail.contains("outside AWS, in PINECONE"), "{}", out[0].detail);
    }
}
