//! The emulator's own ceiling: the requests a sweep sent through the proxy, sent again to
//! moto by a client that does nothing else, at a given concurrency. The sweep benchmark
//! divides the sweep's request rate by this one.
//!
//! A recording is a sequence of requests, each as an 8-byte little-endian length and the
//! request's bytes exactly as they were forwarded (moto does not check signatures, so a
//! request replays as it was sent; an assumed role's keys stay valid in moto's state).

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Appends one request to a recording.
pub fn write(out: &mut impl Write, request: &[u8]) -> std::io::Result<()> {
    out.write_all(&(request.len() as u64).to_le_bytes())?;
    out.write_all(request)
}

/// Every request of a recording, in the order they were forwarded.
pub fn read(input: &mut impl Read) -> std::io::Result<Vec<Vec<u8>>> {
    let mut requests = Vec::new();
    let mut len = [0u8; 8];
    loop {
        match input.read_exact(&mut len) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(requests),
            Err(e) => return Err(e),
        }
        let mut request = vec![0u8; usize::try_from(u64::from_le_bytes(len)).unwrap()];
        input.read_exact(&mut request)?;
        requests.push(request);
    }
}

/// What a replay measured.
#[derive(Debug)]
pub struct Replayed {
    /// Requests answered (any status).
    pub requests: usize,
    /// Requests that could not be sent or got no answer.
    pub failed: usize,
    /// Wall time of the whole replay.
    pub seconds: f64,
    /// Answers by HTTP status.
    pub statuses: BTreeMap<u16, usize>,
}

impl Replayed {
    /// Answered requests per second.
    pub fn rate(&self) -> f64 {
        self.requests as f64 / self.seconds
    }
}

/// Sends `requests` to moto on `upstream_port`, `concurrency` at a time, each on its own
/// connection as the proxy does, reading each answer to its end.
pub async fn replay(requests: Vec<Vec<u8>>, upstream_port: u16, concurrency: usize) -> Replayed {
    let requests = Arc::new(requests);
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..concurrency.max(1) {
        let (requests, next) = (Arc::clone(&requests), Arc::clone(&next));
        workers.push(tokio::spawn(async move {
            let mut statuses: BTreeMap<u16, usize> = BTreeMap::new();
            let mut failed = 0;
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(request) = requests.get(i) else { break };
                match send(request, upstream_port).await {
                    Ok(status) => *statuses.entry(status).or_default() += 1,
                    Err(_) => failed += 1,
                }
            }
            (statuses, failed)
        }));
    }
    let mut statuses = BTreeMap::new();
    let mut failed = 0;
    for worker in workers {
        let (s, f) = worker.await.unwrap();
        failed += f;
        for (status, n) in s {
            *statuses.entry(status).or_default() += n;
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    Replayed { requests: statuses.values().sum(), failed, seconds, statuses }
}

async fn send(request: &[u8], upstream_port: u16) -> std::io::Result<u16> {
    let mut upstream = TcpStream::connect(("127.0.0.1", upstream_port)).await?;
    upstream.write_all(request).await?;
    let mut answer = Vec::new();
    upstream.read_to_end(&mut answer).await?;
    // "HTTP/1.1 200 OK": the status is the second word.
    let status = answer.split(|b| *b == b' ').nth(1).and_then(|s| std::str::from_utf8(s).ok()?.parse().ok());
    status.ok_or_else(|| std::io::Error::other("no HTTP status in the answer"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_recording_reads_back_as_written() {
        let mut out = Vec::new();
        write(&mut out, b"GET / HTTP/1.1\r\n\r\n").unwrap();
        write(&mut out, b"").unwrap();
        write(&mut out, b"POST / HTTP/1.1\r\ncontent-length: 2\r\n\r\nab").unwrap();
        let back = read(&mut out.as_slice()).unwrap();
        assert_eq!(
            back,
            [
                b"GET / HTTP/1.1\r\n\r\n".to_vec(),
                Vec::new(),
                b"POST / HTTP/1.1\r\ncontent-length: 2\r\n\r\nab".to_vec()
            ]
        );
    }

    #[test]
    fn a_truncated_recording_is_an_error() {
        let mut out = Vec::new();
        write(&mut out, b"GET / HTTP/1.1\r\n\r\n").unwrap();
        out.truncate(out.len() - 3);
        assert!(read(&mut out.as_slice()).is_err());
    }
}
