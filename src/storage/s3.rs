//! Backups in S3 and S3-compatible stores (MinIO, Cloudflare R2, Backblaze B2, moto…).
//!
//! Credentials come from the SDK's default chain (environment, profile files, SSO, container
//! and instance roles). Large objects go up as multipart uploads: parts of 8 MiB (doubling
//! every 2,000 parts, up to 64 MiB, so a single object can reach ~370 GB within S3's 10,000-part
//! limit), at most two in flight, each retried with backoff; a failed or abandoned upload is
//! aborted so no partial object is left behind. Memory is bounded by the parts in flight.

use std::io::Write;
use std::time::Duration;

use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use bytes::Bytes;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::{join_key, Location, StorageError, MANIFEST};

/// How to reach the store.
#[derive(Debug, Clone, Default)]
pub struct S3Options {
    /// A custom endpoint (`http://127.0.0.1:9000`, `https://<account>.r2.cloudflarestorage.com`).
    pub endpoint: Option<String>,
    /// The region [default: from the environment or profile, else us-east-1].
    pub region: Option<String>,
    /// Address buckets as `endpoint/bucket/key` instead of `bucket.endpoint/key`.
    pub path_style: bool,
    /// Send and check checksums only when an operation requires them (stores such as R2
    /// reject the SDK's default CRC checksums on uploads).
    pub checksums_when_required: bool,
}

const FIRST_PART: usize = 8 << 20;
const MAX_PART: usize = 64 << 20;
const PART_ATTEMPTS: u32 = 4;

/// The size of part `n` (0-based).
fn part_size(n: usize) -> usize {
    (FIRST_PART << (n / 2000).min(3)).min(MAX_PART)
}

pub struct S3Store {
    client: aws_sdk_s3::Client,
    bucket: String,
    prefix: String,
}

impl S3Store {
    pub async fn open(
        bucket: &str,
        prefix: &str,
        opts: &S3Options,
    ) -> Result<S3Store, StorageError> {
        use aws_smithy_http_client::tls;
        // rustls with ring: the one crypto provider of the binary (no aws-lc build).
        let http = aws_smithy_http_client::Builder::new()
            .tls_provider(tls::Provider::Rustls(
                tls::rustls_provider::CryptoMode::Ring,
            ))
            .build_https();
        let mut loader =
            aws_config::defaults(aws_config::BehaviorVersion::latest()).http_client(http);
        if let Some(region) = &opts.region {
            loader = loader.region(aws_sdk_s3::config::Region::new(region.clone()));
        }
        let shared = loader.load().await;
        let mut builder = aws_sdk_s3::config::Builder::from(&shared);
        if shared.region().is_none() {
            builder = builder.region(aws_sdk_s3::config::Region::new("us-east-1"));
        }
        if let Some(endpoint) = &opts.endpoint {
            builder = builder.endpoint_url(endpoint);
        }
        builder = builder.force_path_style(opts.path_style);
        if opts.checksums_when_required {
            builder = builder
                .request_checksum_calculation(
                    aws_sdk_s3::config::RequestChecksumCalculation::WhenRequired,
                )
                .response_checksum_validation(
                    aws_sdk_s3::config::ResponseChecksumValidation::WhenRequired,
                );
        }
        Ok(S3Store {
            client: aws_sdk_s3::Client::from_conf(builder.build()),
            bucket: bucket.to_string(),
            prefix: prefix.to_string(),
        })
    }

    pub fn location(&self) -> Location {
        Location::S3 {
            bucket: self.bucket.clone(),
            prefix: self.prefix.clone(),
        }
    }

    fn key(&self, id: &str, name: &str) -> String {
        join_key(&join_key(&self.prefix, id), name)
    }

    fn url(&self, key: &str) -> String {
        format!("s3://{}/{key}", self.bucket)
    }

    pub fn create(&self, id: &str, name: &str) -> S3Writer {
        let key = self.key(id, name);
        let (tx, rx) = mpsc::channel::<Msg>(1);
        let uploader = Uploader {
            client: self.client.clone(),
            bucket: self.bucket.clone(),
            key: key.clone(),
            location: self.url(&key),
        };
        let task = tokio::spawn(uploader.run(rx));
        S3Writer {
            tx: Some(tx),
            buf: Vec::with_capacity(FIRST_PART),
            parts: 0,
            task: Some(task),
            rt: tokio::runtime::Handle::current(),
            location: self.url(&key),
            error: None,
        }
    }

    pub async fn put(&self, id: &str, name: &str, bytes: Vec<u8>) -> Result<(), StorageError> {
        let key = self.key(id, name);
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(&key)
            .body(ByteStream::from(bytes))
            .send()
            .await
            .map_err(|e| s3_err("PutObject", self.url(&key), e))?;
        Ok(())
    }

    pub async fn get(&self, id: &str, name: &str) -> Result<Vec<u8>, StorageError> {
        let mut out = Vec::new();
        self.download(id, name, &mut out).await?;
        Ok(out)
    }

    pub async fn download(
        &self,
        id: &str,
        name: &str,
        out: &mut (dyn Write + Send),
    ) -> Result<u64, StorageError> {
        let key = self.key(id, name);
        let resp = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(&key)
            .send()
            .await
            .map_err(|e| s3_err("GetObject", self.url(&key), e))?;
        let mut body = resp.body;
        let mut total = 0u64;
        while let Some(chunk) = body.try_next().await.map_err(|e| StorageError::S3 {
            operation: "GetObject",
            location: self.url(&key),
            message: e.to_string(),
            code: None,
        })? {
            out.write_all(&chunk).map_err(|e| StorageError::Io {
                action: "write the download of",
                path: self.url(&key),
                source: e,
            })?;
            total += chunk.len() as u64;
        }
        Ok(total)
    }

    /// Every key under `<prefix>/<id>/`.
    pub async fn keys_under(&self, id: &str) -> Result<Vec<String>, StorageError> {
        self.keys(&format!("{}/", join_key(&self.prefix, id))).await
    }

    async fn keys(&self, prefix: &str) -> Result<Vec<String>, StorageError> {
        let mut keys = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let resp = self
                .client
                .list_objects_v2()
                .bucket(&self.bucket)
                .prefix(prefix)
                .set_continuation_token(token.take())
                .send()
                .await
                .map_err(|e| s3_err("ListObjectsV2", self.url(prefix), e))?;
            keys.extend(
                resp.contents()
                    .iter()
                    .filter_map(|o| o.key().map(str::to_string)),
            );
            match resp.next_continuation_token() {
                Some(t) if resp.is_truncated() == Some(true) => token = Some(t.to_string()),
                _ => break,
            }
        }
        Ok(keys)
    }

    pub async fn list(&self) -> Result<Vec<String>, StorageError> {
        let root = if self.prefix.is_empty() {
            String::new()
        } else {
            format!("{}/", self.prefix)
        };
        let suffix = format!("/{MANIFEST}");
        Ok(self
            .keys(&root)
            .await?
            .into_iter()
            .filter_map(|k| {
                let rest = k.strip_prefix(&root)?.strip_suffix(&suffix)?;
                (!rest.contains('/')).then(|| rest.to_string())
            })
            .collect())
    }

    pub async fn delete(&self, id: &str) -> Result<(), StorageError> {
        let manifest = self.key(id, MANIFEST);
        self.delete_key(&manifest).await?;
        for key in self.keys_under(id).await? {
            self.delete_key(&key).await?;
        }
        Ok(())
    }

    async fn delete_key(&self, key: &str) -> Result<(), StorageError> {
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| s3_err("DeleteObject", self.url(key), e))?;
        Ok(())
    }
}

type Response = aws_sdk_s3::config::http::HttpResponse;

fn s3_err<E>(operation: &'static str, location: String, e: SdkError<E, Response>) -> StorageError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let code = e.code().map(str::to_string);
    let message = match (&e, e.message()) {
        (SdkError::ServiceError(_), Some(m)) if !m.is_empty() => m.to_string(),
        (SdkError::ServiceError(_), None) if code.is_some() => code.clone().unwrap_or_default(),
        _ => {
            // The whole chain (it can carry the raw response): enough to diagnose, bounded.
            let full = aws_sdk_s3::error::DisplayErrorContext(&e).to_string();
            full.chars().take(600).collect()
        }
    };
    let code = code.or_else(|| {
        // A 404 on HEAD/GET without a body still means "not there".
        (e.raw_response().map(|r| r.status().as_u16()) == Some(404))
            .then(|| "NoSuchKey".to_string())
    });
    if code.as_deref() == Some("NoSuchKey") {
        return StorageError::NotFound { location };
    }
    StorageError::S3 {
        operation,
        location,
        message: crate::secret::scrub(&message),
        code,
    }
}

enum Msg {
    Part(Bytes),
    Finish,
}

struct Uploader {
    client: aws_sdk_s3::Client,
    bucket: String,
    key: String,
    location: String,
}

impl Uploader {
    /// Receives parts; uploads them; completes on `Finish`, aborts when the sender goes away
    /// (the pipeline failed or was dropped) or a part cannot be uploaded.
    async fn run(self, mut rx: mpsc::Receiver<Msg>) -> Result<(), StorageError> {
        let mut upload_id: Option<String> = None;
        let mut pending: Option<Bytes> = None;
        let mut in_flight: tokio::task::JoinSet<Result<CompletedPart, StorageError>> =
            tokio::task::JoinSet::new();
        let mut done: Vec<CompletedPart> = Vec::new();
        let mut next_number = 1i32;
        let result: Result<bool, StorageError> = async {
            loop {
                let msg = tokio::select! {
                    msg = rx.recv() => msg,
                    Some(joined) = in_flight.join_next(), if !in_flight.is_empty() => {
                        done.push(joined.map_err(|e| self.err("UploadPart", e.to_string()))??);
                        continue;
                    }
                };
                match msg {
                    Some(Msg::Part(bytes)) => {
                        // Hold one part back: if it turns out to be the only one, a single
                        // PutObject is cheaper than a multipart upload.
                        let Some(previous) = pending.replace(bytes) else {
                            continue;
                        };
                        if upload_id.is_none() {
                            upload_id = Some(self.create_upload().await?);
                        }
                        let id = upload_id.clone().unwrap_or_default();
                        while in_flight.len() >= 2 {
                            if let Some(joined) = in_flight.join_next().await {
                                done.push(
                                    joined.map_err(|e| self.err("UploadPart", e.to_string()))??,
                                );
                            }
                        }
                        in_flight.spawn(self.part_task(id, next_number, previous));
                        next_number += 1;
                    }
                    Some(Msg::Finish) => break,
                    None => return Ok(false),
                }
            }
            let last = pending.take().unwrap_or_default();
            let Some(id) = upload_id.clone() else {
                self.client
                    .put_object()
                    .bucket(&self.bucket)
                    .key(&self.key)
                    .body(ByteStream::from(last))
                    .send()
                    .await
                    .map_err(|e| s3_err("PutObject", self.location.clone(), e))?;
                return Ok(true);
            };
            in_flight.spawn(self.part_task(id.clone(), next_number, last));
            while let Some(joined) = in_flight.join_next().await {
                done.push(joined.map_err(|e| self.err("UploadPart", e.to_string()))??);
            }
            done.sort_by_key(|p| p.part_number());
            self.client
                .complete_multipart_upload()
                .bucket(&self.bucket)
                .key(&self.key)
                .upload_id(&id)
                .multipart_upload(
                    CompletedMultipartUpload::builder()
                        .set_parts(Some(std::mem::take(&mut done)))
                        .build(),
                )
                .send()
                .await
                .map_err(|e| s3_err("CompleteMultipartUpload", self.location.clone(), e))?;
            Ok(true)
        }
        .await;
        match result {
            Ok(true) => Ok(()),
            Ok(false) => {
                in_flight.abort_all();
                self.abort(upload_id.as_deref()).await;
                Err(StorageError::Abandoned {
                    location: self.location.clone(),
                })
            }
            Err(e) => {
                in_flight.abort_all();
                self.abort(upload_id.as_deref()).await;
                Err(e)
            }
        }
    }

    fn err(&self, operation: &'static str, message: String) -> StorageError {
        StorageError::S3 {
            operation,
            location: self.location.clone(),
            message,
            code: None,
        }
    }

    async fn create_upload(&self) -> Result<String, StorageError> {
        let resp = self
            .client
            .create_multipart_upload()
            .bucket(&self.bucket)
            .key(&self.key)
            .send()
            .await
            .map_err(|e| s3_err("CreateMultipartUpload", self.location.clone(), e))?;
        resp.upload_id()
            .map(str::to_string)
            .ok_or_else(|| self.err("CreateMultipartUpload", "no upload id in the answer".into()))
    }

    fn part_task(
        &self,
        upload_id: String,
        number: i32,
        bytes: Bytes,
    ) -> impl std::future::Future<Output = Result<CompletedPart, StorageError>> + Send + 'static
    {
        let client = self.client.clone();
        let bucket = self.bucket.clone();
        let key = self.key.clone();
        let location = self.location.clone();
        async move {
            let mut attempt = 0;
            loop {
                attempt += 1;
                let result = client
                    .upload_part()
                    .bucket(&bucket)
                    .key(&key)
                    .upload_id(&upload_id)
                    .part_number(number)
                    .body(ByteStream::from(bytes.clone()))
                    .send()
                    .await;
                match result {
                    Ok(resp) => {
                        return Ok(CompletedPart::builder()
                            .part_number(number)
                            .set_e_tag(resp.e_tag().map(str::to_string))
                            .set_checksum_crc32(resp.checksum_crc32().map(str::to_string))
                            .set_checksum_crc32_c(resp.checksum_crc32_c().map(str::to_string))
                            .set_checksum_crc64_nvme(resp.checksum_crc64_nvme().map(str::to_string))
                            .set_checksum_sha1(resp.checksum_sha1().map(str::to_string))
                            .set_checksum_sha256(resp.checksum_sha256().map(str::to_string))
                            .build())
                    }
                    Err(e) if attempt < PART_ATTEMPTS && retryable(&e) => {
                        tracing::warn!(
                            "upload of part {number} of {location} failed (attempt {attempt}), retrying: {}",
                            crate::secret::scrub(&aws_sdk_s3::error::DisplayErrorContext(&e).to_string())
                        );
                        tokio::time::sleep(Duration::from_millis(500 << (attempt - 1))).await;
                    }
                    Err(e) => return Err(s3_err("UploadPart", location, e)),
                }
            }
        }
    }

    async fn abort(&self, upload_id: Option<&str>) {
        let Some(id) = upload_id else { return };
        if let Err(e) = self
            .client
            .abort_multipart_upload()
            .bucket(&self.bucket)
            .key(&self.key)
            .upload_id(id)
            .send()
            .await
        {
            tracing::warn!(
                "could not abort the multipart upload of {} (the bucket's lifecycle rule for incomplete uploads will remove it): {}",
                self.location,
                crate::secret::scrub(&aws_sdk_s3::error::DisplayErrorContext(&e).to_string())
            );
        }
    }
}

/// Authentication and request errors do not get better by retrying; everything else may.
fn retryable<E: ProvideErrorMetadata, R>(e: &SdkError<E, R>) -> bool {
    !matches!(
        e.code(),
        Some(
            "AccessDenied"
                | "InvalidAccessKeyId"
                | "SignatureDoesNotMatch"
                | "NoSuchBucket"
                | "NoSuchUpload"
        )
    )
}

/// The blocking side of an upload: buffers one part and hands it over when full.
pub struct S3Writer {
    tx: Option<mpsc::Sender<Msg>>,
    buf: Vec<u8>,
    parts: usize,
    task: Option<JoinHandle<Result<(), StorageError>>>,
    rt: tokio::runtime::Handle,
    location: String,
    error: Option<StorageError>,
}

impl S3Writer {
    fn send(&mut self, msg: Msg) -> std::io::Result<()> {
        let sent = match &self.tx {
            Some(tx) => tx.blocking_send(msg).is_ok(),
            None => false,
        };
        if sent {
            return Ok(());
        }
        // The uploader stopped: its error says why.
        self.tx = None;
        let error = self.join().err().unwrap_or(StorageError::Abandoned {
            location: self.location.clone(),
        });
        let text = error.to_string();
        self.error = Some(error);
        Err(std::io::Error::other(text))
    }

    fn join(&mut self) -> Result<(), StorageError> {
        match self.task.take() {
            Some(task) => self.rt.block_on(task).unwrap_or_else(|e| {
                Err(StorageError::S3 {
                    operation: "upload",
                    location: self.location.clone(),
                    message: e.to_string(),
                    code: None,
                })
            }),
            None => Ok(()),
        }
    }

    pub fn finish(mut self) -> Result<(), StorageError> {
        let last = Bytes::from(std::mem::take(&mut self.buf));
        if self.send(Msg::Part(last)).is_err() || self.send(Msg::Finish).is_err() {
            return Err(self.error.take().unwrap_or(StorageError::Abandoned {
                location: self.location.clone(),
            }));
        }
        self.tx = None;
        self.join()
    }

    pub fn take_error(&mut self) -> Option<StorageError> {
        self.error.take()
    }
}

impl Write for S3Writer {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        let target = part_size(self.parts);
        let room = target - self.buf.len();
        let n = room.min(data.len());
        self.buf.extend_from_slice(&data[..n]);
        if self.buf.len() >= target {
            self.parts += 1;
            let next = std::mem::replace(&mut self.buf, Vec::with_capacity(part_size(self.parts)));
            self.send(Msg::Part(Bytes::from(next)))?;
        }
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for S3Writer {
    fn drop(&mut self) {
        // Dropping the sender without `Finish` makes the uploader abort the upload; wait for
        // it so the abort is sent before the process moves on (or exits).
        if self.tx.take().is_some() {
            let _ = self.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_grow_to_fit_large_objects() {
        assert_eq!(part_size(0), 8 << 20);
        assert_eq!(part_size(1999), 8 << 20);
        assert_eq!(part_size(2000), 16 << 20);
        assert_eq!(part_size(6000), 64 << 20);
        assert_eq!(part_size(9999), 64 << 20);
        let total: u64 = (0..10_000).map(|n| part_size(n) as u64).sum();
        assert!(total > 350_000_000_000, "{total}");
    }
}
