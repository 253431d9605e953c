//! The AWS partition (`aws`, `aws-us-gov`, `aws-cn`, ...) and the ARNs built in it.
//!
//! Every ARN the program builds goes through [`Partition`], so a deployment in GovCloud or
//! China names its own roles, products and policies. The partition is read from the caller
//! identity's ARN (STS GetCallerIdentity), never assumed.
//! See <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference-arns.html>.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Why a partition (or an ARN it was read from) was rejected.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PartitionError {
    /// The text is not an ARN (`arn:<partition>:<service>:<region>:<account>:<resource>`).
    #[error("`{0}` is not an ARN")]
    NotAnArn(String),
    /// The partition is not `aws` or `aws-` followed by lowercase words.
    #[error("`{0}` is not an AWS partition (like aws, aws-us-gov, aws-cn)")]
    Partition(String),
}

/// An AWS partition: `aws`, `aws-us-gov`, `aws-cn`, or another `aws-…` one (the isolated
/// partitions are spelt the same way).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Partition(String);

impl Partition {
    /// The commercial partition.
    pub fn aws() -> Self {
        Self("aws".to_owned())
    }

    /// Parses a partition name: `aws`, or `aws-` and dash-separated lowercase words or digits.
    pub fn parse(s: &str) -> Result<Self, PartitionError> {
        let well_formed = s.len() <= 32
            && match s.strip_prefix("aws") {
                Some("") => true,
                Some(rest) => rest.strip_prefix('-').is_some_and(|words| {
                    words
                        .split('-')
                        .all(|w| !w.is_empty() && w.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()))
                }),
                None => false,
            };
        if well_formed { Ok(Self(s.to_owned())) } else { Err(PartitionError::Partition(s.to_owned())) }
    }

    /// The partition an ARN belongs to, e.g. `aws-us-gov` for
    /// `arn:aws-us-gov:sts::123456789012:assumed-role/x/y`.
    pub fn of_arn(arn: &str) -> Result<Self, PartitionError> {
        let mut parts = arn.splitn(6, ':');
        let (Some("arn"), Some(partition), Some(_service), Some(_region), Some(_account), Some(_resource)) =
            (parts.next(), parts.next(), parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(PartitionError::NotAnArn(arn.to_owned()));
        };
        Self::parse(partition)
    }

    /// The name, e.g. `aws-cn`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// An ARN in this partition: `arn:<partition>:<service>:<region>:<account>:<resource>`.
    /// Global services (IAM) leave `region` empty; AWS-owned resources use `aws` as account.
    pub fn arn(&self, service: &str, region: &str, account: &str, resource: &str) -> String {
        format!("arn:{}:{service}:{region}:{account}:{resource}", self.0)
    }

    /// The ARN of the IAM role `name` at `path` (which starts and ends with `/`) in `account`.
    pub fn iam_role_arn(&self, account: &str, path: &str, name: &str) -> String {
        self.arn("iam", "", account, &format!("role{path}{name}"))
    }

    /// The ARN of an account's own default Security Hub product in `region`: where a custom
    /// integration imports its findings, and how BatchUpdateFindings names them.
    pub fn security_hub_default_product_arn(&self, region: &str, account: &str) -> String {
        self.arn("securityhub", region, account, &format!("product/{account}/default"))
    }
}

/// The name of an AWS-managed IAM policy at the root path (`AdministratorAccess` for
/// `arn:<any partition>:iam::aws:policy/AdministratorAccess`); `None` for any other ARN.
///
/// AWS-managed policies exist in every partition under the same name, so they are judged by
/// name whatever partition the account is in.
pub fn aws_managed_policy_name(arn: &str) -> Option<&str> {
    let mut parts = arn.splitn(6, ':');
    match (parts.next(), parts.next(), parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some("arn"), Some(p), Some("iam"), Some(""), Some("aws"), Some(resource)) if Partition::parse(p).is_ok() => {
            resource.strip_prefix("policy/").filter(|name| !name.is_empty() && !name.contains('/'))
        }
        _ => None,
    }
}

impl TryFrom<String> for Partition {
    type Error = PartitionError;
    fn try_from(s: String) -> Result<Self, PartitionError> {
        Self::parse(&s)
    }
}

impl From<Partition> for String {
    fn from(p: Partition) -> Self {
        p.0
    }
}

impl fmt::Display for Partition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_partition_comes_from_the_caller_arn() {
        let cases = [
            ("arn:aws:iam::111122223333:user/alice", "aws"),
            ("arn:aws-us-gov:sts::111122223333:assumed-role/Sweeper/session", "aws-us-gov"),
            ("arn:aws-cn:sts::111122223333:assumed-role/Sweeper/session", "aws-cn"),
            ("arn:aws-iso-b:iam::111122223333:root", "aws-iso-b"),
        ];
        for (arn, want) in cases {
            assert_eq!(Partition::of_arn(arn).map(|p| p.to_string()), Ok(want.to_owned()), "{arn}");
        }
        for bad in
            ["", "arn", "arn:aws", "arn:aws:iam::1", "urn:aws:iam::1:root", "arn::iam::1:root", "arn:AWS:iam::1:x"]
        {
            assert!(Partition::of_arn(bad).is_err(), "{bad} accepted");
        }
        for bad in ["", "aws-", "aws--cn", "awscn", "gov", "aws-US", "aws-cn-"] {
            assert!(Partition::parse(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn arns_are_built_in_the_callers_partition() {
        let gov = Partition::of_arn("arn:aws-us-gov:sts::111122223333:assumed-role/Sweeper/s").unwrap();
        let cn = Partition::parse("aws-cn").unwrap();
        assert_eq!(
            gov.iam_role_arn("444455556666", "/security/", "BedrockSweeperReadOnly"),
            "arn:aws-us-gov:iam::444455556666:role/security/BedrockSweeperReadOnly"
        );
        assert_eq!(cn.iam_role_arn("444455556666", "/", "R"), "arn:aws-cn:iam::444455556666:role/R");
        assert_eq!(
            gov.security_hub_default_product_arn("us-gov-west-1", "444455556666"),
            "arn:aws-us-gov:securityhub:us-gov-west-1:444455556666:product/444455556666/default"
        );
        assert_eq!(
            cn.security_hub_default_product_arn("cn-north-1", "444455556666"),
            "arn:aws-cn:securityhub:cn-north-1:444455556666:product/444455556666/default"
        );
        assert_eq!(
            Partition::aws().security_hub_default_product_arn("eu-west-1", "1"),
            "arn:aws:securityhub:eu-west-1:1:product/1/default"
        );
    }

    #[test]
    fn aws_managed_policies_are_recognised_in_every_partition() {
        for arn in [
            "arn:aws:iam::aws:policy/AmazonBedrockFullAccess",
            "arn:aws-us-gov:iam::aws:policy/AmazonBedrockFullAccess",
            "arn:aws-cn:iam::aws:policy/AmazonBedrockFullAccess",
        ] {
            assert_eq!(aws_managed_policy_name(arn), Some("AmazonBedrockFullAccess"), "{arn}");
        }
        for not_managed in [
            "arn:aws:iam::111122223333:policy/AmazonBedrockFullAccess",
            "arn:aws:iam::aws:policy/service-role/AmazonBedrockFullAccess",
            "arn:aws:iam::aws:role/AmazonBedrockFullAccess",
            "arn:aws:s3::aws:policy/AmazonBedrockFullAccess",
            "arn:evil:iam::aws:policy/AmazonBedrockFullAccess",
            "AmazonBedrockFullAccess",
        ] {
            assert_eq!(aws_managed_policy_name(not_managed), None, "{not_managed}");
        }
    }

    #[test]
    fn serde_rejects_a_malformed_partition() {
        assert!(serde_json::from_str::<Partition>("\"aws-us-gov\"").is_ok());
        assert!(serde_json::from_str::<Partition>("\"AWS\"").is_err());
    }
}
