//! The S3 backend on aws-sdk-s3, configured from s3cmd's configuration file: endpoint, path
//! or host_bucket addressing, region, and checksum settings that non-AWS stores accept.
//!
//! Every call is bounded and honest about what it tried:
//!
//! - **One deadline per command** (`ADT_S3_DEADLINE`, default 45 s, so a cron job's call never
//!   outlives its minute) covers connecting, every retry and the transfer of all the calls of
//!   a wrapper command (PutToConfigDatastore's marker check and write share it): the command
//!   sets it with [`Backend::bound_command`]. Long-running commands (the autoscaler's) do not,
//!   and each of their calls gets the same deadline of its own. Once a transfer's size is
//!   known (Content-Length, or the file being uploaded) the deadline grows by 1 s per MB. A call
//!   that runs out says so: "gave up after N s".
//! - **One attempt budget per call** (`ADT_S3_ATTEMPTS`, default 4). The SDK retries what it
//!   can see (no connection, timeouts, 5xx and throttling); our own loop retries only what it
//!   cannot, a body that breaks mid-transfer, and only with the attempts the SDK left. The
//!   attempts are counted as they are sent (an interceptor), and messages give that count.
//! - Per attempt, `ADT_S3_CONNECT_TIMEOUT` (5 s) and `ADT_S3_READ_TIMEOUT` (30 s) still apply.
//!
//! Differences from legacy: s3cmd had no overall deadline (a store that accepted and never
//! answered held a call for minutes; one that trickled held it for ever) and retried with its
//! own counts. See the README's fault table for the figures.

use super::s3cfg::S3Config;
use super::{show_key, Backend, Listing, ObjectInfo, Precondition, Version};
use crate::error::{Error, Result};
use crate::knobs::{env_secs_f64, env_u64};
use aws_sdk_s3::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_s3::config::{
    ConfigBag, Credentials, Intercept, Region, RequestChecksumCalculation,
    ResponseChecksumValidation, RuntimeComponents,
};
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;
use aws_smithy_types::retry::RetryConfig;
use aws_smithy_types::timeout::TimeoutConfig;
use std::future::Future;
use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A call's deadline when `ADT_S3_DEADLINE` does not say.
const DEFAULT_DEADLINE_SECS: f64 = 45.0;

/// How much longer a call may take per MB (10^6 bytes) it transfers.
const SECS_PER_MB: f64 = 1.0;

/// The extra time a transfer of `bytes` gets.
fn grace_for(bytes: u64) -> Duration {
    Duration::from_secs_f64(bytes as f64 / 1e6 * SECS_PER_MB)
}

/// Counts the attempts the SDK sends (each retry included).
#[derive(Debug)]
struct CountAttempts(Arc<AtomicU32>);

impl Intercept for CountAttempts {
    fn name(&self) -> &'static str {
        "CountAttempts"
    }

    fn read_before_attempt(
        &self,
        _: &BeforeTransmitInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> std::result::Result<(), aws_smithy_runtime_api::box_error::BoxError> {
        self.0.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

pub struct S3Store {
    client: aws_sdk_s3::Client,
    rt: tokio::runtime::Runtime,
    bucket: String,
    endpoint: String,
    /// Attempts per call, every retry included (`ADT_S3_ATTEMPTS`).
    attempts: u32,
    backoff: Duration,
    /// Each call's deadline before it grows with a transfer's size (`ADT_S3_DEADLINE`).
    deadline: Duration,
    /// The end of the command's budget, when the command set one ([`Backend::bound_command`]).
    command_end: std::sync::Mutex<Option<Instant>>,
    /// Attempts sent by the call in progress (calls on one store run one at a time).
    sent: Arc<AtomicU32>,
}

fn plural(n: u32) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
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
        let backoff = Duration::from_millis(env_u64("ADT_S3_BACKOFF_MS", 200));
        let sent = Arc::new(AtomicU32::new(0));
        let conf = aws_sdk_s3::Config::builder()
            .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
            .region(Region::new(cfg.region.clone()))
            .endpoint_url(cfg.endpoint_url())
            .force_path_style(!cfg.virtual_hosted())
            .credentials_provider(creds)
            .http_client(http)
            .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
            .response_checksum_validation(ResponseChecksumValidation::WhenRequired)
            .retry_config(retry_config(attempts, backoff))
            .interceptor(CountAttempts(sent.clone()))
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
            backoff,
            deadline: Duration::from_secs_f64(env_secs_f64(
                "ADT_S3_DEADLINE",
                DEFAULT_DEADLINE_SECS,
            )),
            command_end: std::sync::Mutex::new(None),
            sent,
        })
    }

    /// `s3://bucket/key` for messages (a long key cut).
    fn uri(&self, key: &str) -> String {
        format!("s3://{}/{}", self.bucket, show_key(key))
    }

    /// Attempts sent so far by the call in progress.
    fn sent(&self) -> u32 {
        self.sent.load(Ordering::SeqCst)
    }

    /// ` (after N attempts)` when there was more than one.
    fn tries(&self) -> String {
        match self.sent() {
            n if n > 1 => format!(" (after {n} attempts)"),
            _ => String::new(),
        }
    }

    /// The error of a call that ran out of time.
    fn gave_up(&self, what: &str, key: &str, started: Instant, grown: Duration) -> Error {
        let n = self.sent();
        let limit = if grown < Duration::from_millis(50) {
            format!("ADT_S3_DEADLINE={}s", self.deadline.as_secs_f64())
        } else {
            format!(
                "ADT_S3_DEADLINE={}s + {:.1}s for the transfer's size",
                self.deadline.as_secs_f64(),
                grown.as_secs_f64()
            )
        };
        Error::Store(format!(
            "{what} {}: gave up after {:.1} s without a complete answer from {} ({limit}; {n} attempt{})",
            self.uri(key),
            started.elapsed().as_secs_f64(),
            self.endpoint,
            plural(n),
        ))
    }

    /// A call's deadline from now: its own, or what is left of the command's budget when that
    /// is less.
    fn call_deadline(&self) -> Duration {
        let end = *self.command_end.lock().unwrap_or_else(|e| e.into_inner());
        call_deadline(self.deadline, end, Instant::now())
    }

    /// Run one call under its deadline (grown by `grace`), counting its attempts from zero.
    fn run<T>(
        &self,
        what: &str,
        key: &str,
        grace: Duration,
        call: impl Future<Output = Result<T>>,
    ) -> Result<T> {
        self.sent.store(0, Ordering::SeqCst);
        let started = Instant::now();
        self.rt.block_on(async {
            match tokio::time::timeout(self.call_deadline() + grace, call).await {
                Ok(r) => r,
                Err(_) => Err(self.gave_up(what, key, started, grace)),
            }
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
                Error::NotFound(self.uri(key))
            }
            (Some("PreconditionFailed"), _)
            | (_, Some(412))
            | (Some("ConditionalRequestConflict"), _)
            | (_, Some(409)) => Error::Conflict(format!("{} changed", self.uri(key))),
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
                Error::Store(format!("{what} {}: {why}{}", self.uri(key), self.tries()))
            }
        }
    }

    /// One DeleteObject for a key as the store lists it (no check of ours: it may hold keys we
    /// would not write); deleting an absent object succeeds.
    fn delete_unchecked(&self, key: &str) -> Result<()> {
        self.run("delete", key, Duration::ZERO, async {
            match self
                .client
                .delete_object()
                .bucket(&self.bucket)
                .key(key)
                .send()
                .await
            {
                Ok(_) => Ok(()),
                Err(e) => match self.fail("delete", key, e) {
                    Error::NotFound(_) => Ok(()),
                    e => Err(e),
                },
            }
        })
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

    /// GET `key` into `dest` through a temporary file, within one deadline and one attempt
    /// budget: the SDK retries the request; a body that breaks mid-transfer is retried here
    /// with the attempts left.
    async fn download(&self, key: &str, dest: &Path, started: Instant) -> Result<u64> {
        let mut deadline = tokio::time::Instant::now() + self.call_deadline();
        let mut grown = Duration::ZERO;
        loop {
            let left = self.attempts.saturating_sub(self.sent()).max(1);
            let send = self
                .client
                .get_object()
                .bucket(&self.bucket)
                .key(key)
                .customize()
                .config_override(
                    aws_sdk_s3::Config::builder().retry_config(retry_config(left, self.backoff)),
                )
                .send();
            let resp = match tokio::time::timeout_at(deadline, send).await {
                Err(_) => return Err(self.gave_up("get", key, started, grown)),
                Ok(r) => r.map_err(|e| self.fail("get", key, e))?,
            };
            let expected = resp.content_length().map(|n| n.max(0) as u64);
            if grown.is_zero() {
                grown = grace_for(expected.unwrap_or(0));
                deadline += grown;
            }
            let mut t = super::download_temp(key, dest)?;
            let mut body = resp.body;
            let transfer = async {
                let mut n: u64 = 0;
                loop {
                    match body.try_next().await {
                        Ok(Some(chunk)) => {
                            t.file()
                                .write_all(&chunk)
                                .map_err(|e| Error::io(dest.display(), e))?;
                            n += chunk.len() as u64;
                        }
                        Ok(None) => break,
                        Err(e) => {
                            return Ok(Err(format!(
                                "transfer broke after {n} bytes: {}",
                                root_cause(&e)
                            )))
                        }
                    }
                }
                Ok(match expected {
                    Some(exp) if exp != n => Err(format!("got {n} of {exp} bytes")),
                    _ => Ok(n),
                })
            };
            let broken = match tokio::time::timeout_at(deadline, transfer).await {
                Err(_) => return Err(self.gave_up("get", key, started, grown)),
                Ok(r) => match r? {
                    Ok(n) => {
                        t.commit()?;
                        return Ok(n);
                    }
                    Err(broken) => broken,
                },
            };
            drop(t);
            let sent = self.sent();
            if sent >= self.attempts {
                return Err(Error::Store(format!(
                    "get {}: {broken}{}",
                    self.uri(key),
                    self.tries()
                )));
            }
            log::debug!("attempt {sent} of {}: {broken}", self.attempts);
            let pause = (self.backoff * 2u32.pow(sent.saturating_sub(1).min(5)))
                .min(Duration::from_secs(5));
            if tokio::time::timeout_at(deadline, tokio::time::sleep(pause))
                .await
                .is_err()
            {
                return Err(self.gave_up("get", key, started, grown));
            }
        }
    }
}

/// The SDK's retries: `attempts` in all, exponential backoff from `backoff`, at most 5 s.
fn retry_config(attempts: u32, backoff: Duration) -> RetryConfig {
    RetryConfig::standard()
        .with_max_attempts(attempts)
        .with_initial_backoff(backoff)
        .with_max_backoff(Duration::from_secs(5))
}

/// A call's deadline at `now`: its own (`own`), or what is left of the command's budget (ending
/// at `end`) when that is less.
fn call_deadline(own: Duration, end: Option<Instant>, now: Instant) -> Duration {
    match end {
        Some(end) => own.min(end.saturating_duration_since(now)),
        None => own,
    }
}

impl Backend for S3Store {
    fn bound_command(&self) {
        *self.command_end.lock().unwrap_or_else(|e| e.into_inner()) =
            Some(Instant::now() + self.deadline);
    }

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
        self.run("head", "", Duration::ZERO, async {
            match self.client.head_bucket().bucket(&self.bucket).send().await {
                Ok(_) => Ok(true),
                Err(e) if status(&e) == Some(404) => Ok(false),
                Err(e) => Err(self.fail("head", "", e)),
            }
        })
    }

    fn create_bucket(&self) -> Result<()> {
        self.run("create bucket", "", Duration::ZERO, async {
            self.client
                .create_bucket()
                .bucket(&self.bucket)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| self.fail("create bucket", "", e))
        })
    }

    fn put_bytes(&self, key: &str, data: &[u8]) -> Result<()> {
        super::validate_object_key(key)?;
        let grace = grace_for(data.len() as u64);
        self.run("put", key, grace, async {
            self.client
                .put_object()
                .bucket(&self.bucket)
                .key(key)
                .body(ByteStream::from(data.to_vec()))
                .send()
                .await
                .map(|_| ())
                .map_err(|e| self.fail("put", key, e))
        })
    }

    fn put_file(&self, key: &str, path: &Path) -> Result<()> {
        super::validate_object_key(key)?;
        // The SDK opens the file only when it sends it, and would report a file it cannot read
        // as a store it cannot reach: open it first, so the message names the file.
        let size = std::fs::File::open(path)
            .and_then(|f| f.metadata())
            .map_err(|e| Error::io(format!("cannot read {}", path.display()), e))?
            .len();
        self.run("put", key, grace_for(size), async {
            let body = ByteStream::from_path(path)
                .await
                .map_err(|e| Error::Io(format!("cannot read {}: {e}", path.display())))?;
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
        super::validate_object_key(key)?;
        super::prepare_download(dest)?;
        self.sent.store(0, Ordering::SeqCst);
        let started = Instant::now();
        self.rt
            .block_on(self.download(key, dest, started))
            .map_err(|e| self.refine_not_found(e))
    }

    fn get_bytes(&self, key: &str) -> Result<Vec<u8>> {
        Ok(self
            .get_versioned(key)?
            .ok_or_else(|| self.refine_not_found(Error::NotFound(self.uri(key))))?
            .0)
    }

    fn get_versioned(&self, key: &str) -> Result<Option<(Vec<u8>, Version)>> {
        super::validate_object_key(key)?;
        self.run("get", key, Duration::ZERO, async {
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
                .map_err(|e| Error::Store(format!("get {}: {e}", self.uri(key))))?
                .into_bytes()
                .to_vec();
            Ok(Some((data, etag)))
        })
    }

    fn put_conditional(&self, key: &str, data: &[u8], cond: &Precondition) -> Result<bool> {
        super::validate_object_key(key)?;
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
        self.run("conditional put", key, Duration::ZERO, async {
            match req.send().await {
                Ok(_) => Ok(true),
                Err(e)
                    if matches!(code(&e).as_deref(), Some("NotImplemented"))
                        || status(&e) == Some(501) =>
                {
                    Ok(false)
                }
                // An If-Match on an object that no longer exists did not hold: AWS and moto
                // answer 404 NoSuchKey there, s3s-fs 412; both are a conflict, not a missing
                // object.
                Err(e) => match self.fail("conditional put", key, e) {
                    Error::NotFound(m) if matches!(cond, Precondition::IfMatch(_)) => {
                        Err(Error::Conflict(format!("{m} is gone")))
                    }
                    e => Err(e),
                },
            }
        })
    }

    fn list(&self, prefix: &str, delimited: bool) -> Result<Listing> {
        self.run("list", prefix, Duration::ZERO, async {
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
        self.run("list", prefix, Duration::ZERO, async {
            let resp = self
                .client
                .list_objects_v2()
                .bucket(&self.bucket)
                .prefix(prefix)
                .max_keys(1)
                .send()
                .await
                .map_err(|e| self.fail("list", prefix, e))?;
            Ok(resp.key_count().unwrap_or(0) > 0 || !resp.contents().is_empty())
        })
    }

    fn head(&self, key: &str) -> Result<Option<(u64, Version)>> {
        super::validate_object_key(key)?;
        self.run("head", key, Duration::ZERO, async {
            match self
                .client
                .head_object()
                .bucket(&self.bucket)
                .key(key)
                .send()
                .await
            {
                Ok(r) => Ok(Some((
                    r.content_length().unwrap_or(0).max(0) as u64,
                    Version(r.e_tag().unwrap_or_default().to_string()),
                ))),
                Err(e) => match self.fail("head", key, e) {
                    Error::NotFound(_) => Ok(None),
                    e => Err(e),
                },
            }
        })
    }

    fn copy(&self, from: &str, to: &str) -> Result<()> {
        super::validate_object_key(from)?;
        super::validate_object_key(to)?;
        let size = self.head(from)?.map(|(n, _)| n).unwrap_or(0);
        // The source as CopyObject wants it: bucket/key, the key URL-encoded.
        let source = format!("{}/{}", self.bucket, encode_copy_source(from));
        self.run("copy", to, grace_for(size), async {
            self.client
                .copy_object()
                .bucket(&self.bucket)
                .key(to)
                .copy_source(source)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| self.fail("copy", from, e))
        })
    }

    /// One multipart upload, a part per piece: a piece that names a range of an object in this
    /// bucket is copied server-side (UploadPartCopy, only while that object is still at the
    /// version named), the others are sent. Every part's ETag must be the MD5 of the piece's
    /// bytes as read here, or the upload is aborted; a single piece is an ordinary put.
    fn put_pieces(&self, key: &str, pieces: &[super::Piece]) -> Result<()> {
        use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
        use md5::{Digest, Md5};
        super::validate_object_key(key)?;
        if pieces.len() < 2 || pieces.len() > 10_000 {
            return super::put_pieces_staged(self, key, pieces);
        }
        let id = self.run("put", key, Duration::ZERO, async {
            self.client
                .create_multipart_upload()
                .bucket(&self.bucket)
                .key(key)
                .send()
                .await
                .map_err(|e| self.fail("put", key, e))
                .and_then(|r| {
                    r.upload_id()
                        .map(str::to_string)
                        .ok_or_else(|| Error::Store(format!("{}: no upload id", self.uri(key))))
                })
        })?;
        let abort = |e: Error| {
            let _ = self.run("put", key, Duration::ZERO, async {
                self.client
                    .abort_multipart_upload()
                    .bucket(&self.bucket)
                    .key(key)
                    .upload_id(&id)
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| self.fail("abort", key, e))
            });
            e
        };
        let mut done = Vec::new();
        let mut copied = 0u64;
        for (i, piece) in pieces.iter().enumerate() {
            let n = i as i32 + 1;
            let mut bytes = Vec::with_capacity(if piece.copy_of.is_some() {
                0
            } else {
                piece.len() as usize
            });
            // The piece's MD5, from the local bytes (kept only when they are sent).
            let md5 = if piece.copy_of.is_some() {
                let mut h = Md5Writer(Md5::new());
                piece.write_to(&mut h).map_err(&abort)?;
                h.0.finalize()
            } else {
                piece.write_to(&mut bytes).map_err(&abort)?;
                Md5::digest(&bytes)
            };
            let want: String = md5.iter().map(|b| format!("{b:02x}")).collect();
            let etag = match &piece.copy_of {
                Some((from, version, start)) => {
                    copied += piece.len();
                    let source = format!("{}/{}", self.bucket, encode_copy_source(from));
                    let range = format!("bytes={start}-{}", start + piece.len() - 1);
                    self.run("copy", key, grace_for(piece.len()), async {
                        self.client
                            .upload_part_copy()
                            .bucket(&self.bucket)
                            .key(key)
                            .upload_id(&id)
                            .part_number(n)
                            .copy_source(source)
                            .copy_source_range(range)
                            .copy_source_if_match(&version.0)
                            .send()
                            .await
                            .map_err(|e| self.fail("copy", from, e))
                            .map(|r| {
                                r.copy_part_result()
                                    .and_then(|c| c.e_tag())
                                    .unwrap_or_default()
                                    .to_string()
                            })
                    })
                }
                None => {
                    let len = bytes.len() as u64;
                    self.run("put", key, grace_for(len), async {
                        self.client
                            .upload_part()
                            .bucket(&self.bucket)
                            .key(key)
                            .upload_id(&id)
                            .part_number(n)
                            .body(ByteStream::from(bytes))
                            .send()
                            .await
                            .map_err(|e| self.fail("put", key, e))
                            .map(|r| r.e_tag().unwrap_or_default().to_string())
                    })
                }
            }
            .map_err(&abort)?;
            if etag.trim_matches('"').to_ascii_lowercase() != want {
                return Err(abort(Error::Store(format!(
                    "{}: part {n} is not the bytes meant ({} bytes{}): ETag {etag}, MD5 {want}",
                    self.uri(key),
                    piece.len(),
                    if piece.copy_of.is_some() {
                        ", copied"
                    } else {
                        ""
                    }
                ))));
            }
            done.push(CompletedPart::builder().e_tag(etag).part_number(n).build());
        }
        log::debug!(
            "{}: {} parts, {copied} bytes copied in the store",
            self.uri(key),
            pieces.len()
        );
        let upload = CompletedMultipartUpload::builder()
            .set_parts(Some(done))
            .build();
        self.run("put", key, Duration::ZERO, async {
            self.client
                .complete_multipart_upload()
                .bucket(&self.bucket)
                .key(key)
                .upload_id(&id)
                .multipart_upload(upload)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| self.fail("put", key, e))
        })
        .map_err(abort)
    }

    fn delete(&self, key: &str) -> Result<()> {
        super::validate_key(key)?;
        self.delete_unchecked(key)
    }

    fn delete_many(&self, keys: &[String]) -> Result<usize> {
        use aws_sdk_s3::types::{Delete, ObjectIdentifier};
        // The keys come from a listing: any key the store holds may go, white space included
        // (which `validate_key` refuses for keys we write); only an empty key is refused.
        if keys.iter().any(|k| k.is_empty()) {
            return Err(Error::Usage("an empty key cannot be deleted".into()));
        }
        for batch in keys.chunks(super::DELETE_BATCH) {
            let first = batch.first().map(String::as_str).unwrap_or("");
            let objects = batch
                .iter()
                .map(|k| ObjectIdentifier::builder().key(k).build())
                .collect::<std::result::Result<Vec<_>, _>>()
                .map_err(|e| Error::Usage(format!("delete {}: {e}", self.uri(first))))?;
            let delete = Delete::builder()
                .set_objects(Some(objects))
                .quiet(true)
                .build()
                .map_err(|e| Error::Usage(format!("delete {}: {e}", self.uri(first))))?;
            let batched = self.run("delete", first, Duration::ZERO, async {
                let resp = match self
                    .client
                    .delete_objects()
                    .bucket(&self.bucket)
                    .delete(delete)
                    .send()
                    .await
                {
                    Ok(r) => r,
                    // A store without DeleteObjects: one request per key instead.
                    Err(e)
                        if matches!(code(&e).as_deref(), Some("NotImplemented"))
                            || status(&e) == Some(501) =>
                    {
                        return Ok(false)
                    }
                    Err(e) => return Err(self.fail("delete", first, e)),
                };
                match resp.errors().first() {
                    None => Ok(true),
                    Some(err) => Err(Error::Store(format!(
                        "delete {}: {} {} ({} of {} keys refused)",
                        self.uri(err.key().unwrap_or_default()),
                        err.code().unwrap_or("error"),
                        err.message().unwrap_or_default(),
                        resp.errors().len(),
                        batch.len()
                    ))),
                }
            })?;
            if !batched {
                for k in batch {
                    self.delete_unchecked(k)?;
                }
            }
        }
        Ok(keys.len())
    }

    fn list_buckets(&self) -> Result<Vec<String>> {
        self.run("list buckets", "", Duration::ZERO, async {
            let resp = self
                .client
                .list_buckets()
                .send()
                .await
                .map_err(|e| self.fail("list buckets", "", e))?;
            Ok(resp
                .buckets()
                .iter()
                .filter_map(|b| b.name().map(str::to_string))
                .collect())
        })
    }
}

/// A key for CopyObject's `x-amz-copy-source` (percent-encoded, `/` kept).
/// An MD5 as a writer.
struct Md5Writer(md5::Md5);

impl Write for Md5Writer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        md5::Digest::update(&mut self.0, buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn encode_copy_source(key: &str) -> String {
    key.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    #[test]
    fn a_commands_calls_share_one_deadline() {
        let own = Duration::from_secs(45);
        let now = Instant::now();
        assert_eq!(super::call_deadline(own, None, now), own);
        // The second call of a command that set 45 s and spent 40 gets what is left.
        let end = now + Duration::from_secs(5);
        assert_eq!(
            super::call_deadline(own, Some(end), now),
            Duration::from_secs(5)
        );
        assert_eq!(
            super::call_deadline(own, Some(end), now + Duration::from_secs(9)),
            Duration::ZERO
        );
        // A budget longer than a call's own deadline does not lengthen the call.
        assert_eq!(
            super::call_deadline(own, Some(now + Duration::from_secs(600)), now),
            own
        );
    }
}
