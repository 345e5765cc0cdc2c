//! The S3 backend on aws-sdk-s3, configured from s3cmd's configuration file: endpoint, path
//! or host_bucket addressing, region, and checksum settings that non-AWS stores accept.

use super::s3cfg::S3Config;
use super::{Backend, Listing, ObjectInfo, Precondition, Version};
use crate::error::{Error, Result};
use crate::fsutil;
use crate::knobs::env_u64;
use aws_sdk_s3::config::{
    Credentials, Region, RequestChecksumCalculation, ResponseChecksumValidation,
};
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;
use aws_smithy_types::retry::RetryConfig;
use aws_smithy_types::timeout::TimeoutConfig;
use std::io::Write;
use std::path::Path;
use std::time::Duration;

pub struct S3Store {
    client: aws_sdk_s3::Client,
    rt: tokio::runtime::Runtime,
    bucket: String,
    endpoint: String,
    attempts: u32,
}

/// The innermost cause of an error, which is the readable part ("Connection refused").
fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cur = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}

/// The S3 error code of a failed call, if the service answered.
fn code<E: ProvideErrorMetadata>(e: &SdkError<E>) -> Option<String> {
    match e {
        SdkError::ServiceError(se) => se.err().code().map(str::to_string),
        _ => None,
    }
}

fn status<E>(e: &SdkError<E>) -> Option<u16> {
    match e {
        SdkError::ServiceError(se) => Some(se.raw().status().as_u16()),
        SdkError::ResponseError(re) => Some(re.raw().status().as_u16()),
        _ => None,
    }
}

impl S3Store {
    pub fn new(cfg: &S3Config, bucket: &str) -> Result<S3Store> {
        if cfg.signature_v2 {
            log::debug!("s3cfg asks for signature_v2; signing with SigV4, which S3-compatible stores accept");
        }
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Error::Store(format!("cannot start I/O runtime: {e}")))?;
        let http = if cfg.use_https {
            aws_smithy_http_client::Builder::new()
                .tls_provider(aws_smithy_http_client::tls::Provider::Rustls(
                    aws_smithy_http_client::tls::rustls_provider::CryptoMode::Ring,
                ))
                .build_https()
        } else {
            aws_smithy_http_client::Builder::new().build_http()
        };
        let creds = Credentials::new(
            cfg.access_key.clone(),
            cfg.secret_key.clone(),
            cfg.session_token.clone(),
            None,
            "s3cfg",
        );
        let attempts = env_u64("ADT_S3_ATTEMPTS", 4).clamp(1, 10) as u32;
        let conf = aws_sdk_s3::Config::builder()
            .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
            .region(Region::new(cfg.region.clone()))
            .endpoint_url(cfg.endpoint_url())
            .force_path_style(!cfg.virtual_hosted())
            .credentials_provider(creds)
            .http_client(http)
            .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
            .response_checksum_validation(ResponseChecksumValidation::WhenRequired)
            .retry_config(
                RetryConfig::standard()
                    .with_max_attempts(attempts)
                    .with_initial_backoff(Duration::from_millis(env_u64("ADT_S3_BACKOFF_MS", 200)))
                    .with_max_backoff(Duration::from_secs(5)),
            )
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(Duration::from_secs(env_u64("ADT_S3_CONNECT_TIMEOUT", 5)))
                    .read_timeout(Duration::from_secs(env_u64("ADT_S3_READ_TIMEOUT", 30)))
                    .build(),
            )
            .build();
        Ok(S3Store {
            client: aws_sdk_s3::Client::from_conf(conf),
            rt,
            bucket: bucket.to_string(),
            endpoint: cfg.endpoint_url(),
            attempts,
        })
    }

    fn fail<E>(&self, what: &str, key: &str, e: SdkError<E>) -> Error
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        let c = code(&e);
        let st = status(&e);
        match (c.as_deref(), st) {
            (Some("NoSuchBucket"), _) => Error::NoBucket(format!("s3://{}", self.bucket)),
            (Some("NoSuchKey"), _) | (Some("NotFound"), _) | (_, Some(404)) => {
                Error::NotFound(format!("s3://{}/{key}", self.bucket))
            }
            (Some("PreconditionFailed"), _)
            | (_, Some(412))
            | (Some("ConditionalRequestConflict"), _)
            | (_, Some(409)) => Error::Conflict(format!("s3://{}/{key} changed", self.bucket)),
            _ => {
                let why = match &e {
                    SdkError::DispatchFailure(d) if d.is_timeout() => {
                        format!("cannot reach {}: timed out", self.endpoint)
                    }
                    SdkError::DispatchFailure(d) => match d.as_connector_error() {
                        Some(c) => format!("cannot reach {}: {}", self.endpoint, root_cause(c)),
                        None => format!("cannot reach {}", self.endpoint),
                    },
                    SdkError::TimeoutError(_) => format!("{} timed out", self.endpoint),
                    SdkError::ServiceError(se) => {
                        let msg = se.err().message().filter(|m| !m.is_empty());
                        format!(
                            "{} {}{}",
                            se.raw().status().as_u16(),
                            se.err().code().unwrap_or("error"),
                            msg.map(|m| format!(": {m}")).unwrap_or_default()
                        )
                    }
                    other => format!("{}", DisplayErrorContext(other)),
                };
                let transient =
                    matches!(e, SdkError::DispatchFailure(_) | SdkError::TimeoutError(_));
                let tries = if self.attempts > 1 && transient {
                    format!(" (after {} attempts)", self.attempts)
                } else {
                    String::new()
                };
                Error::Store(format!("{what} s3://{}/{key}: {why}{tries}", self.bucket))
            }
        }
    }

    /// A 404 on an object could mean the bucket is missing; tell the two apart.
    fn refine_not_found(&self, e: Error) -> Error {
        match e {
            Error::NotFound(k) => match self.bucket_exists() {
                Ok(false) => Error::NoBucket(format!("s3://{}", self.bucket)),
                _ => Error::NotFound(k),
            },
            e => e,
        }
    }

    async fn download(&self, key: &str, dest: &Path) -> Result<u64> {
        let resp = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| self.fail("get", key, e))?;
        let expected = resp.content_length().map(|n| n as u64);
        let mut t = fsutil::TempFile::new(dest, None)?;
        let mut body = resp.body;
        let mut n: u64 = 0;
        while let Some(chunk) = body.try_next().await.map_err(|e| {
            Error::Store(format!(
                "get s3://{}/{key}: transfer broke: {e}",
                self.bucket
            ))
        })? {
            t.file()
                .write_all(&chunk)
                .map_err(|e| Error::io(dest.display(), e))?;
            n += chunk.len() as u64;
        }
        if let Some(exp) = expected {
            if exp != n {
                return Err(Error::Store(format!(
                    "get s3://{}/{key}: got {n} of {exp} bytes",
                    self.bucket
                )));
            }
        }
        t.commit()?;
        Ok(n)
    }
}

impl Backend for S3Store {
    fn describe(&self) -> String {
        format!("s3://{}", self.bucket)
    }

    fn identity(&self) -> String {
        format!("s3://{} at {}", self.bucket, self.endpoint)
    }

    fn bucket_name(&self) -> &str {
        &self.bucket
    }

    fn bucket_exists(&self) -> Result<bool> {
        let r = self
            .rt
            .block_on(self.client.head_bucket().bucket(&self.bucket).send());
        match r {
            Ok(_) => Ok(true),
            Err(e) if status(&e) == Some(404) => Ok(false),
            Err(e) => Err(self.fail("head", "", e)),
        }
    }

    fn create_bucket(&self) -> Result<()> {
        self.rt
            .block_on(self.client.create_bucket().bucket(&self.bucket).send())
            .map(|_| ())
            .map_err(|e| self.fail("create bucket", "", e))
    }

    fn put_bytes(&self, key: &str, data: &[u8]) -> Result<()> {
        super::validate_key(key)?;
        self.rt
            .block_on(
                self.client
                    .put_object()
                    .bucket(&self.bucket)
                    .key(key)
                    .body(ByteStream::from(data.to_vec()))
                    .send(),
            )
            .map(|_| ())
            .map_err(|e| self.fail("put", key, e))
    }

    fn put_file(&self, key: &str, path: &Path) -> Result<()> {
        super::validate_key(key)?;
        self.rt.block_on(async {
            let body = ByteStream::from_path(path)
                .await
                .map_err(|e| Error::Io(format!("{}: {e}", path.display())))?;
            self.client
                .put_object()
                .bucket(&self.bucket)
                .key(key)
                .body(body)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| self.fail("put", key, e))
        })
    }

    fn get_to_file(&self, key: &str, dest: &Path) -> Result<u64> {
        super::validate_key(key)?;
        // The SDK retries the request; a body that breaks mid-transfer is retried here.
        let mut last = None;
        for attempt in 0..self.attempts {
            match self.rt.block_on(self.download(key, dest)) {
                Ok(n) => return Ok(n),
                Err(e @ Error::Store(_)) => {
                    log::debug!("attempt {} failed: {e}", attempt + 1);
                    last = Some(e);
                    std::thread::sleep(Duration::from_millis(200 << attempt.min(4)));
                }
                Err(e) => return Err(self.refine_not_found(e)),
            }
        }
        Err(last.unwrap_or_else(|| Error::Store("get failed".into())))
    }

    fn get_bytes(&self, key: &str) -> Result<Vec<u8>> {
        Ok(self
            .get_versioned(key)?
            .ok_or_else(|| {
                self.refine_not_found(Error::NotFound(format!("s3://{}/{key}", self.bucket)))
            })?
            .0)
    }

    fn get_versioned(&self, key: &str) -> Result<Option<(Vec<u8>, Version)>> {
        super::validate_key(key)?;
        self.rt.block_on(async {
            let resp = match self
                .client
                .get_object()
                .bucket(&self.bucket)
                .key(key)
                .send()
                .await
            {
                Ok(r) => r,
                Err(e) => {
                    return match self.fail("get", key, e) {
                        Error::NotFound(_) => Ok(None),
                        e => Err(e),
                    }
                }
            };
            let etag = Version(resp.e_tag().unwrap_or_default().to_string());
            let data = resp
                .body
                .collect()
                .await
                .map_err(|e| Error::Store(format!("get s3://{}/{key}: {e}", self.bucket)))?
                .into_bytes()
                .to_vec();
            Ok(Some((data, etag)))
        })
    }

    fn put_conditional(&self, key: &str, data: &[u8], cond: &Precondition) -> Result<bool> {
        super::validate_key(key)?;
        let mut req = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .body(ByteStream::from(data.to_vec()));
        req = match cond {
            Precondition::IfMatch(v) => req.if_match(&v.0),
            Precondition::IfAbsent => req.if_none_match("*"),
        };
        match self.rt.block_on(req.send()) {
            Ok(_) => Ok(true),
            Err(e)
                if matches!(code(&e).as_deref(), Some("NotImplemented"))
                    || status(&e) == Some(501) =>
            {
                Ok(false)
            }
            // An If-Match on an object that no longer exists did not hold: AWS and moto answer
            // 404 NoSuchKey there, s3s-fs 412; both are a conflict, not a missing object.
            Err(e) => match self.fail("conditional put", key, e) {
                Error::NotFound(m) if matches!(cond, Precondition::IfMatch(_)) => {
                    Err(Error::Conflict(format!("{m} is gone")))
                }
                e => Err(e),
            },
        }
    }

    fn list(&self, prefix: &str, delimited: bool) -> Result<Listing> {
        self.rt.block_on(async {
            let mut listing = Listing::default();
            let mut token: Option<String> = None;
            loop {
                let mut req = self
                    .client
                    .list_objects_v2()
                    .bucket(&self.bucket)
                    .prefix(prefix);
                if delimited {
                    req = req.delimiter("/");
                }
                if let Some(t) = &token {
                    req = req.continuation_token(t);
                }
                let resp = req.send().await.map_err(|e| self.fail("list", prefix, e))?;
                for o in resp.contents() {
                    listing.objects.push(ObjectInfo {
                        key: o.key().unwrap_or_default().to_string(),
                        size: o.size().unwrap_or(0).max(0) as u64,
                        modified: o
                            .last_modified()
                            .and_then(|d| std::time::SystemTime::try_from(*d).ok()),
                    });
                }
                for p in resp.common_prefixes() {
                    if let Some(p) = p.prefix() {
                        listing.prefixes.push(p.to_string());
                    }
                }
                match (resp.is_truncated(), resp.next_continuation_token()) {
                    (Some(true), Some(t)) => token = Some(t.to_string()),
                    _ => break,
                }
            }
            Ok(listing)
        })
    }

    fn any_with_prefix(&self, prefix: &str) -> Result<bool> {
        let resp = self
            .rt
            .block_on(
                self.client
                    .list_objects_v2()
                    .bucket(&self.bucket)
                    .prefix(prefix)
                    .max_keys(1)
                    .send(),
            )
            .map_err(|e| self.fail("list", prefix, e))?;
        Ok(resp.key_count().unwrap_or(0) > 0 || !resp.contents().is_empty())
    }

    fn delete(&self, key: &str) -> Result<()> {
        super::validate_key(key)?;
        match self.rt.block_on(
            self.client
                .delete_object()
                .bucket(&self.bucket)
                .key(key)
                .send(),
        ) {
            Ok(_) => Ok(()),
            Err(e) => match self.fail("delete", key, e) {
                Error::NotFound(_) => Ok(()),
                e => Err(e),
            },
        }
    }
}
