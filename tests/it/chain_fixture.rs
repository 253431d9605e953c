//! CloudTrail digest chains written into the emulator's S3 as CloudTrail writes them (the
//! user guide's "CloudTrail digest file structure"): gzip log files, hourly gzip digests
//! listing their SHA-256, signed with a key made here (RSA 2048, SHA256withRSA) over the
//! documented data-signing string, the signature in the object's `x-amz-meta-signature`.
//! The tests and `benches/digest_verify.rs` build their chains with it; the proxy answers
//! `ListPublicKeys` with [`SigningKey::list_public_keys_reply`].

use std::io::Write;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{KeyPair, RSA_PKCS1_SHA256, RsaKeyPair};
use aws_sdk_s3::primitives::ByteStream;
use base64::Engine;
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

/// The key CloudTrail would hold.
pub struct SigningKey {
    pair: RsaKeyPair,
    /// What digests name as `digestPublicKeyFingerprint`.
    pub fingerprint: String,
}

impl SigningKey {
    pub fn generate() -> Self {
        let pair = RsaKeyPair::generate(KeySize::Rsa2048).expect("RSA key");
        let fingerprint = hex::encode(&Sha256::digest(pair.public_key().as_ref())[..16]);
        Self { pair, fingerprint }
    }

    /// The public key as `ListPublicKeys` returns it: base64 of the DER PKCS#1 RSAPublicKey.
    pub fn public_der_base64(&self) -> String {
        base64::engine::general_purpose::STANDARD.encode(self.pair.public_key().as_ref())
    }

    /// Signs `message` (RSA PKCS#1 v1.5, SHA-256), hex.
    pub fn sign_hex(&self, message: &str) -> String {
        let mut sig = vec![0; self.pair.public_modulus_len()];
        self.pair.sign(&RSA_PKCS1_SHA256, &SystemRandom::new(), message.as_bytes(), &mut sig).expect("sign");
        hex::encode(sig)
    }
}

/// One trail's chain for one account and region.
pub struct Chain {
    pub s3: aws_sdk_s3::Client,
    pub bucket: String,
    pub account: String,
    pub region: String,
    /// The trail's home region (digest file names carry it after the trail's name).
    pub home_region: String,
    pub trail: String,
    /// `[prefix/]AWSLogs/[o-id/]account/`.
    pub logs_root: String,
}

/// A digest as written.
#[derive(Debug, Clone)]
pub struct Written {
    pub key: String,
    pub signature: String,
    pub sha256: String,
    pub end: DateTime<Utc>,
    pub log_keys: Vec<String>,
}

/// How to write the next digest (the faults a test wants).
#[derive(Debug, Clone, Default)]
pub struct HourSpec {
    pub log_files: usize,
    pub log_bytes: usize,
    /// Name this digest as previous instead of the actual one.
    pub previous_override: Option<Written>,
}

pub fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(data).unwrap();
    enc.finish().unwrap()
}

/// About `size` bytes of CloudTrail-looking JSON, different for every `seed`.
pub fn log_content(seed: &str, size: usize) -> Vec<u8> {
    let mut out = String::from("{\"Records\":[");
    let mut i = 0u64;
    while out.len() < size {
        if i > 0 {
            out.push(',');
        }
        let id = hex::encode(Sha256::digest(format!("{seed}/{i}").as_bytes()));
        out.push_str(&format!(
            "{{\"eventVersion\":\"1.11\",\"eventSource\":\"bedrock.amazonaws.com\",\"eventName\":\"InvokeModel\",\
             \"eventID\":\"{id}\",\"requestID\":\"{}\",\"awsRegion\":\"us-east-1\"}}",
            &id[..32]
        ));
        i += 1;
    }
    out.push_str("]}");
    out.into_bytes()
}

impl Chain {
    pub fn digest_prefix(&self) -> String {
        format!("{}CloudTrail-Digest/{}/", self.logs_root, self.region)
    }

    /// Writes the log files of the hour ending at `end` and the digest that lists them,
    /// linked to `previous`.
    pub async fn write_hour(
        &self,
        key: &SigningKey,
        end: DateTime<Utc>,
        previous: Option<&Written>,
        spec: &HourSpec,
    ) -> Written {
        let stamp = end.format("%Y%m%dT%H%M%SZ").to_string();
        let day = end.format("%Y/%m/%d").to_string();
        let mut log_entries = Vec::new();
        let mut log_keys = Vec::new();
        for i in 0..spec.log_files {
            let log_key = format!(
                "{}CloudTrail/{}/{day}/{}_CloudTrail_{}_{stamp}_{i:04}.json.gz",
                self.logs_root, self.region, self.account, self.region
            );
            let content = log_content(&log_key, spec.log_bytes);
            let sha = hex::encode(Sha256::digest(&content));
            self.put(&log_key, gzip(&content), None).await;
            log_entries.push(serde_json::json!({
                "s3Bucket": self.bucket, "s3Object": log_key, "hashValue": sha, "hashAlgorithm": "SHA-256",
                "newestEventTime": end.to_rfc3339(), "oldestEventTime": end.to_rfc3339(),
            }));
            log_keys.push(log_key);
        }
        let digest_key = format!(
            "{}{day}/{}_CloudTrail-Digest_{}_{}_{}_{stamp}.json.gz",
            self.digest_prefix(),
            self.account,
            self.region,
            self.trail,
            self.home_region
        );
        let named = spec.previous_override.as_ref().or(previous);
        let end_text = end.format("%Y-%m-%dT%H:%M:%SZ").to_string();
        let start_text = (end - chrono::Duration::hours(1)).format("%Y-%m-%dT%H:%M:%SZ").to_string();
        let digest = serde_json::json!({
            "awsAccountId": self.account,
            "digestStartTime": start_text,
            "digestEndTime": end_text,
            "digestS3Bucket": self.bucket,
            "digestS3Object": digest_key,
            "digestPublicKeyFingerprint": key.fingerprint,
            "digestSignatureAlgorithm": "SHA256withRSA",
            "newestEventTime": end_text,
            "oldestEventTime": start_text,
            "previousDigestS3Bucket": named.map(|_| self.bucket.clone()),
            "previousDigestS3Object": named.map(|p| p.key.clone()),
            "previousDigestHashValue": named.map(|p| p.sha256.clone()),
            "previousDigestHashAlgorithm": named.map(|_| "SHA-256"),
            "previousDigestSignature": named.map(|p| p.signature.clone()),
            "logFiles": log_entries,
        });
        let content = serde_json::to_vec(&digest).unwrap();
        let sha256 = hex::encode(Sha256::digest(&content));
        let previous_signature = named.map_or("null", |p| p.signature.as_str());
        let signature =
            key.sign_hex(&format!("{end_text}\n{}/{digest_key}\n{sha256}\n{previous_signature}", self.bucket));
        self.put(&digest_key, gzip(&content), Some(&signature)).await;
        Written { key: digest_key, signature, sha256, end, log_keys }
    }

    /// Writes `n` hours ending at `last_end`, chained after `previous`.
    pub async fn write_hours(
        &self,
        key: &SigningKey,
        last_end: DateTime<Utc>,
        n: usize,
        previous: Option<Written>,
        spec: &HourSpec,
    ) -> Vec<Written> {
        let mut out: Vec<Written> = Vec::new();
        let mut prev = previous;
        for i in (0..n).rev() {
            let end = last_end - chrono::Duration::hours(i64::try_from(i).unwrap());
            let w = self.write_hour(key, end, prev.as_ref(), spec).await;
            prev = Some(w.clone());
            out.push(w);
        }
        out
    }

    pub async fn put(&self, key: &str, body: Vec<u8>, signature: Option<&str>) {
        let mut req = self.s3.put_object().bucket(&self.bucket).key(key).body(ByteStream::from(body));
        if let Some(sig) = signature {
            req = req.metadata("signature", sig).metadata("signature-algorithm", "SHA256withRSA");
        }
        req.send().await.unwrap();
    }

    pub async fn delete(&self, key: &str) {
        self.s3.delete_object().bucket(&self.bucket).key(key).send().await.unwrap();
    }
}
