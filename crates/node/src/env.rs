//! Time and randomness, injected.

use comity_crypto::Sha256Digest;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

/// The current time.
pub trait Clock: Send + Sync {
    fn now(&self) -> jiff::Timestamp;
}

/// Fresh random bytes for ids, item keys and HPKE.
pub trait Entropy: Send + Sync {
    fn fill(&self, buf: &mut [u8]);
}

/// A clock that moves only when told (tests, replays).
#[derive(Debug)]
pub struct ManualClock(AtomicI64);

impl ManualClock {
    pub fn at(t: jiff::Timestamp) -> Self {
        Self(AtomicI64::new(t.as_millisecond()))
    }

    pub fn set(&self, t: jiff::Timestamp) {
        self.0.store(t.as_millisecond(), Ordering::SeqCst);
    }

    pub fn advance(&self, span: jiff::SignedDuration) {
        self.0.fetch_add(
            i64::try_from(span.as_millis()).unwrap_or(i64::MAX),
            Ordering::SeqCst,
        );
    }
}

impl Clock for ManualClock {
    fn now(&self) -> jiff::Timestamp {
        jiff::Timestamp::from_millisecond(self.0.load(Ordering::SeqCst))
            .unwrap_or(jiff::Timestamp::UNIX_EPOCH)
    }
}

/// Deterministic bytes from a seed: SHA-256 of (seed, counter). For tests and reproducible
/// demos only; a real node draws from the operating system.
#[derive(Debug)]
pub struct SeededEntropy {
    seed: [u8; 32],
    counter: AtomicU64,
    lock: Mutex<()>,
}

impl SeededEntropy {
    pub fn new(seed: [u8; 32]) -> Self {
        Self {
            seed,
            counter: AtomicU64::new(0),
            lock: Mutex::new(()),
        }
    }
}

impl Entropy for SeededEntropy {
    fn fill(&self, buf: &mut [u8]) {
        let _guard = self.lock.lock();
        for chunk in buf.chunks_mut(32) {
            let n = self.counter.fetch_add(1, Ordering::SeqCst);
            let block = Sha256Digest::of_parts(&[&self.seed, &n.to_be_bytes()]);
            for (slot, b) in chunk.iter_mut().zip(block.as_bytes()) {
                *slot = *b;
            }
        }
    }
}

impl<T: Clock + ?Sized> Clock for std::sync::Arc<T> {
    fn now(&self) -> jiff::Timestamp {
        (**self).now()
    }
}

impl<T: Entropy + ?Sized> Entropy for std::sync::Arc<T> {
    fn fill(&self, buf: &mut [u8]) {
        (**self).fill(buf);
    }
}
