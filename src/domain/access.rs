//! Who may call the API: a token's role, and a configured token as its role and SHA-256
//! (`"<role>:<sha256 hex>"`; the token itself is never configured). Shared by the
//! configuration, which parses them, and the API, which checks requests against them.

use serde::{Deserialize, Serialize};

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Read-only: `GET`.
    Viewer,
    /// Read and act: `GET`, `POST`, `DELETE`.
    Operator,
}

impl Role {
    /// The lowercase name used in the configuration and in logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Operator => "operator",
        }
    }
}

/// One configured token: its role and the SHA-256 of the token.
#[derive(Clone, PartialEq, Eq)]
pub struct TokenHash {
    /// What the token may do.
    pub role: Role,
    /// SHA-256 of the token.
    pub sha256: [u8; 32],
}

impl std::fmt::Debug for TokenHash {
    // Even the hash stays out of logs: a hash of a weak token can be brute-forced.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TokenHash({}, …)", self.role.as_str())
    }
}

impl std::str::FromStr for TokenHash {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let (role, hash) = s.split_once(':').ok_or("expected `<role>:<sha256 hex>`")?;
        let role = match role.trim() {
            "viewer" => Role::Viewer,
            "operator" => Role::Operator,
            other => return Err(format!("unknown role `{other}` (viewer or operator)")),
        };
        let bytes = hex::decode(hash.trim()).map_err(|_| "the hash is not hexadecimal".to_owned())?;
        let sha256: [u8; 32] = bytes
            .try_into()
            .map_err(|_| "the hash is not a SHA-256 (64 hex digits); configure the hash, not the token")?;
        Ok(Self { role, sha256 })
    }
}

impl<'de> Deserialize<'de> for TokenHash {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

impl Serialize for TokenHash {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("{}:{}", self.role.as_str(), hex::encode(self.sha256)))
    }
}
