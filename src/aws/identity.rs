//! Who the service's own credentials are (STS GetCallerIdentity), and what that allows.
//!
//! The caller identity is read once per [`AwsContext`](super::AwsContext) and gives two
//! things: the partition every ARN is built in (from the caller's ARN), and the account,
//! which decides whether `management_account_access = "own-credentials"` may be honoured.
//! GetCallerIdentity needs no permission: it works even when an SCP or policy denies all.

use std::fmt;

use super::errors::{Failure, FailureKind};
use crate::config::ManagementAccess;
use crate::domain::{AccountId, Partition};

/// The identity of the service's own credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallerIdentity {
    /// The account the credentials belong to.
    pub account: AccountId,
    /// The caller's ARN (a user, a role session, ...).
    pub arn: String,
    /// The partition of that ARN: where every ARN we build lives.
    pub partition: Partition,
}

impl CallerIdentity {
    /// Reads the identity from GetCallerIdentity's `Account` and `Arn`; both must be present
    /// and well formed, or the answer is refused (we would otherwise build wrong ARNs).
    pub fn from_answer(account: Option<&str>, arn: Option<&str>) -> Result<Self, Failure> {
        let malformed = |what: String| Failure {
            kind: FailureKind::BadResponse,
            code: "MalformedCallerIdentity".into(),
            message: format!("GetCallerIdentity answered {what}"),
        };
        let account = account.ok_or_else(|| malformed("without an account".into()))?;
        let account = AccountId::parse(account).map_err(|e| malformed(e.to_string()))?;
        let arn = arn.ok_or_else(|| malformed("without an ARN".into()))?;
        let partition = Partition::of_arn(arn).map_err(|e| malformed(e.to_string()))?;
        Ok(Self { account, arn: arn.to_owned(), partition })
    }
}

/// `own-credentials` was configured, but the credentials are not the management account's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ManagementAccessRefused {
    /// The account of the service's credentials (a delegated administrator, say).
    pub caller: AccountId,
    /// The organization's management account.
    pub management: AccountId,
}

impl fmt::Display for ManagementAccessRefused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Self { caller, management } = self;
        write!(
            f,
            "invalid configuration key `aws.management_account_access`: it is `own-credentials`, but the \
             service's credentials belong to account {caller}, not to the organization's management account \
             {management} (a delegated administrator cannot read the management account with its own \
             credentials); set aws.management_account_access = \"role\" to read account {management} through \
             the member role, or run the service with credentials of account {management}"
        )
    }
}

/// Whether the configured management-account access can be honoured by `caller` in an
/// organization whose management account is `management`.
///
/// `own-credentials` means "our credentials are the management account's"; when they are
/// not, using them would assess the caller's account under the management account's name,
/// so the sweep is refused rather than silently reading the wrong account.
pub fn check_management_access(
    mode: ManagementAccess,
    caller: &CallerIdentity,
    management: &AccountId,
) -> Result<(), ManagementAccessRefused> {
    match mode {
        ManagementAccess::Role => Ok(()),
        ManagementAccess::OwnCredentials if caller.account == *management => Ok(()),
        ManagementAccess::OwnCredentials => {
            Err(ManagementAccessRefused { caller: caller.account.clone(), management: management.clone() })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str) -> AccountId {
        AccountId::parse(s).unwrap()
    }

    #[test]
    fn the_identity_carries_the_partition_of_its_arn() {
        let gov = CallerIdentity::from_answer(
            Some("111122223333"),
            Some("arn:aws-us-gov:sts::111122223333:assumed-role/Sweeper/s"),
        )
        .unwrap();
        assert_eq!(gov.partition.as_str(), "aws-us-gov");
        let cn =
            CallerIdentity::from_answer(Some("111122223333"), Some("arn:aws-cn:iam::111122223333:user/u")).unwrap();
        assert_eq!(cn.partition.as_str(), "aws-cn");
        for (account, arn) in [
            (None, Some("arn:aws:iam::111122223333:user/u")),
            (Some("111122223333"), None),
            (Some("1111"), Some("arn:aws:iam::1111:user/u")),
            (Some("111122223333"), Some("not-an-arn")),
        ] {
            let err = CallerIdentity::from_answer(account, arn).unwrap_err();
            assert_eq!(err.kind, FailureKind::BadResponse, "{account:?} {arn:?}");
        }
    }

    #[test]
    fn own_credentials_are_refused_to_anyone_but_the_management_account() {
        let caller = |a: &str| CallerIdentity {
            account: id(a),
            arn: format!("arn:aws:iam::{a}:user/u"),
            partition: Partition::aws(),
        };
        let management = id("111111111111");
        let delegated = caller("222222222222");
        assert!(
            check_management_access(ManagementAccess::OwnCredentials, &caller("111111111111"), &management).is_ok()
        );
        assert!(check_management_access(ManagementAccess::Role, &delegated, &management).is_ok());
        let refused = check_management_access(ManagementAccess::OwnCredentials, &delegated, &management).unwrap_err();
        let text = refused.to_string();
        assert!(text.contains("222222222222") && text.contains("111111111111"), "{text}");
        assert!(text.contains("aws.management_account_access") && text.contains("\"role\""), "{text}");
    }
}
