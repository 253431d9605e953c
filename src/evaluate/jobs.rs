//! The `jobs` family: BR.JOB.1, every model customization and batch inference job of the
//! last `sweep.job_window_days` encrypts its output with a customer-managed key and runs in
//! the account's VPC. The window is applied when the jobs are listed: an older job is not in
//! the snapshot.

use super::{AccountInput, Evaluation};
use super::{Control, Input, Judge, Proof, Regions, reads};
use crate::domain::{ResourceKind, Status};
use crate::evaluate::ids;
use crate::snapshot::{AccountSnapshot, BedrockJob, JobKind};

/// What one job lacks.
fn shortfalls(job: &BedrockJob) -> Vec<String> {
    let mut out = Vec::new();
    let output = match job.kind {
        JobKind::Customization => "its custom model",
        JobKind::BatchInference => "its output in S3",
    };
    match job.output_key.as_deref() {
        None => out.push(format!("{output} is encrypted with an AWS-owned key")),
        // An alias of an AWS-managed key (`alias/aws/s3`) is no customer-managed key.
        Some(k) if k.contains("alias/aws/") => out.push(format!("{output} is encrypted with AWS-managed key {k}")),
        Some(_) => {}
    }
    if job.vpc_subnets.is_empty() {
        let data = match job.kind {
            JobKind::Customization => "training data",
            JobKind::BatchInference => "input",
        };
        out.push(format!("it has no VPC configuration, so its {data} in S3 is not read through the account's VPC"));
    }
    out
}

/// BR.JOB.1.
pub fn jobs_private_and_encrypted(input: &AccountInput<'_>, snap: &AccountSnapshot) -> Vec<Evaluation> {
    let mut out = Vec::new();
    for rs in &snap.per_region {
        let jobs = match &rs.jobs {
            Ok(j) => j,
            Err(gap) => {
                out.push(input.listing_failed(
                    ids::JOB_1,
                    &rs.region,
                    "model customization and batch inference jobs",
                    gap,
                ));
                continue;
            }
        };
        for job in jobs {
            let what = match job.kind {
                JobKind::Customization => "Model customization job",
                JobKind::BatchInference => "Batch inference job",
            };
            let missing = shortfalls(job);
            let when = format!("{}, created {}", job.status, job.created.format("%Y-%m-%d"));
            let (status, detail) = if missing.is_empty() {
                (
                    Status::Pass,
                    format!(
                        "{what} {} ({when}) encrypts its output with {} and runs in the account's VPC.",
                        job.name,
                        job.output_key.as_deref().unwrap_or_default()
                    ),
                )
            } else {
                (Status::Fail, format!("{what} {} ({when}): {}.", job.name, missing.join("; ")))
            };
            out.push(input.verdict(ids::JOB_1, Some(&rs.region), (&job.arn, ResourceKind::BedrockJob), status, detail));
        }
    }
    if out.is_empty() {
        out.push(input.account_verdict(
            ids::JOB_1,
            Status::NotApplicable,
            "No model customization or batch inference job was created in the window swept.".into(),
        ));
    }
    out
}

/// This family's controls in the registry (`super::FAMILIES`): what each reads and its evaluator.
pub(super) const CONTROLS: &[Control] = &[Control {
    id: ids::JOB_1,
    reads: reads(&[Input::Jobs], Proof::Exhaustive, Regions::Swept),
    judge: Judge::Account(jobs_private_and_encrypted),
}];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evaluate::fixtures::*;

    fn job(kind: JobKind, key: Option<&str>, subnets: &[&str]) -> BedrockJob {
        BedrockJob {
            kind,
            arn: format!("arn:aws:bedrock:eu-west-1:{MEMBER}:job/{}", key.unwrap_or("none").len() + subnets.len()),
            name: "nightly".into(),
            status: "Completed".into(),
            created: now(),
            output_key: key.map(str::to_owned),
            vpc_subnets: subnets.iter().map(|s| (*s).to_owned()).collect(),
            model: Some("amazon.titan-text-express-v1".into()),
        }
    }

    fn judge(jobs: crate::snapshot::Collected<Vec<BedrockJob>>) -> Vec<Evaluation> {
        let mut snap = account_snapshot();
        snap.per_region[0].jobs = jobs;
        with_input(&snap, |i| jobs_private_and_encrypted(i, &snap))
    }

    #[test]
    fn each_job_needs_a_customer_managed_key_and_a_vpc() {
        let key = "arn:aws:kms:eu-west-1:111122223333:key/k";
        let out = judge(Ok(vec![job(JobKind::BatchInference, Some(key), &["subnet-1"])]));
        assert_eq!(statuses(&out), vec![Status::Pass], "{out:?}");
        assert_eq!(out[0].resource_kind, ResourceKind::BedrockJob);

        let out = judge(Ok(vec![job(JobKind::Customization, None, &[])]));
        assert_eq!(statuses(&out), vec![Status::Fail]);
        let d = &out[0].detail;
        assert!(d.contains("custom model is encrypted with an AWS-owned key") && d.contains("training data"), "{d}");

        let out = judge(Ok(vec![job(JobKind::BatchInference, Some("alias/aws/s3"), &["subnet-1"])]));
        assert_eq!(statuses(&out), vec![Status::Fail]);
        assert!(out[0].detail.contains("AWS-managed key alias/aws/s3"), "{}", out[0].detail);

        assert_eq!(statuses(&judge(Ok(vec![]))), vec![Status::NotApplicable]);
        assert_eq!(statuses(&judge(Err(gap("bedrock", "ListModelInvocationJobs")))), vec![Status::Error]);
    }
}
