#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! Benchmarks of the transparency log: batched appends (goal: at least 50,000 leaves/s),
//! proofs and tiles from stored hashes, and a full audit of a 1,000,000-entry log from memory
//! and from a directory (goal: at most 1 s on 2 cores).
//!
//! Run: `cargo bench -p comity-tlog --bench tlog`. With `COMITY_TLOG_EXPORT=DIR` the
//! 1,000,000-entry log is also written to `DIR` in C2SP layout and kept, for timing Go's
//! `tilecheck DIR VKEY` beside it (the vkey is printed).

use std::collections::BTreeMap;
use std::hint::black_box;
use std::path::{Path, PathBuf};

use comity_tlog::memory::MemoryLog;
use comity_tlog::merkle::verify_inclusion;
use comity_tlog::{
    AuditOptions, Checkpoint, KeyType, SignerKey, SourceError, TilePath, TileSource, hash_leaf,
    store,
};
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};

const BIG: u64 = 1_000_000;

/// A log entry the size of an event commitment (about 100 bytes).
fn entry(i: u64) -> Vec<u8> {
    format!(
        "{{\"event\":\"decision\",\"n\":{i:010},\"case\":\"{:064x}\"}}",
        u128::from(i) * 0x9e37_79b9_7f4a_7c15
    )
    .into_bytes()
}

fn key() -> SignerKey {
    SignerKey::from_seed("bench.example/log", KeyType::Ed25519, &[5; 32]).unwrap()
}

fn big_log() -> MemoryLog {
    let mut log = MemoryLog::new();
    let mut start = 0;
    while start < BIG {
        let end = (start + 10_000).min(BIG);
        log.append(&(start..end).map(entry).collect::<Vec<_>>())
            .unwrap();
        start = end;
    }
    log
}

fn append(c: &mut Criterion) {
    let mut g = c.benchmark_group("append");
    g.sample_size(10);
    // Growing a log from nothing to 1,000,000 entries in batches of 1,000, storing every
    // stored hash (what a node does over many transactions).
    let entries: Vec<Vec<u8>> = (0..BIG).map(entry).collect();
    g.throughput(Throughput::Elements(BIG));
    g.bench_function("grow_to_1M_in_batches_of_1000", |b| {
        b.iter(|| {
            let mut log = MemoryLog::new();
            for batch in entries.chunks(1000) {
                log.append(batch).unwrap();
            }
            black_box(log.root())
        });
    });
    // One batch onto a 1,000,000-entry log, reading the right edge from storage first, as a
    // node does inside the transaction that records the events.
    let log = big_log();
    for batch in [1usize, 100, 10_000] {
        let new: Vec<Vec<u8>> = (BIG..BIG + batch as u64).map(entry).collect();
        g.throughput(Throughput::Elements(batch as u64));
        g.bench_function(format!("batch_of_{batch}_onto_1M"), |b| {
            b.iter(|| black_box(store::append(&log, BIG, &new).unwrap().root));
        });
    }
    g.finish();
}

fn proofs(c: &mut Criterion) {
    let log = big_log();
    let root = log.root();
    let mut g = c.benchmark_group("proofs_from_stored_hashes_1M");
    let mut i = 0u64;
    g.bench_function("inclusion_proof", |b| {
        b.iter(|| {
            i = (i + 7919) % BIG;
            black_box(store::inclusion_proof(&log, BIG, i).unwrap())
        });
    });
    let mut m = 1u64;
    g.bench_function("consistency_proof", |b| {
        b.iter(|| {
            m = (m + 104_729) % (BIG - 1) + 1;
            black_box(store::consistency_proof(&log, m, BIG).unwrap())
        });
    });
    g.bench_function("tree_root", |b| {
        b.iter(|| black_box(store::tree_root(&log, BIG - 1).unwrap()));
    });
    g.bench_function("partial_tile_bytes", |b| {
        let t = TilePath::hashes(0, BIG / 256, (BIG % 256) as u16).unwrap();
        b.iter(|| black_box(store::tile_bytes(&log, BIG, &t).unwrap()));
    });
    let proof = store::inclusion_proof(&log, BIG, 123_456).unwrap();
    let leaf = hash_leaf(&entry(123_456));
    g.bench_function("verify_inclusion", |b| {
        b.iter(|| verify_inclusion(123_456, BIG, &leaf, black_box(&proof), &root).unwrap());
    });
    g.finish();
}

struct DirSource(PathBuf);

impl TileSource for DirSource {
    fn read(&self, path: &str) -> Result<Vec<u8>, SourceError> {
        std::fs::read(self.0.join(path)).map_err(|e| SourceError::other(e.to_string()))
    }
}

fn write_files(dir: &Path, files: &BTreeMap<String, Vec<u8>>) {
    for (path, bytes) in files {
        let p = dir.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, bytes).unwrap();
    }
}

fn audit(c: &mut Criterion) {
    let key = key();
    let vkey = key.verifier_key();
    let mut log = MemoryLog::new();
    log.append(&(0..BIG / 2).map(entry).collect::<Vec<_>>())
        .unwrap();
    let since = Checkpoint::new("bench.example/log", BIG / 2, log.root())
        .unwrap()
        .sign(&key)
        .unwrap();
    log.append(&(BIG / 2..BIG).map(entry).collect::<Vec<_>>())
        .unwrap();
    let note = Checkpoint::new("bench.example/log", BIG, log.root())
        .unwrap()
        .sign(&key)
        .unwrap();
    let files = log.files(&note).unwrap();
    drop(log);

    let mut g = c.benchmark_group("audit_1M");
    g.sample_size(10);
    g.throughput(Throughput::Elements(BIG));
    for threads in [1usize, 2] {
        let options = AuditOptions {
            threads,
            entries: true,
        };
        g.bench_function(format!("memory_{threads}_threads"), |b| {
            b.iter(|| {
                comity_tlog::audit::audit_with(
                    &files,
                    std::slice::from_ref(&vkey),
                    Some(since.as_bytes()),
                    &options,
                    |_| {},
                )
                .unwrap()
            });
        });
    }

    let kept = std::env::var_os("COMITY_TLOG_EXPORT").map(PathBuf::from);
    let temp = tempfile::tempdir().unwrap();
    let dir = kept.clone().unwrap_or_else(|| temp.path().to_path_buf());
    write_files(&dir, &files);
    std::fs::write(dir.join("checkpoint-500000"), &since).unwrap();
    if kept.is_some() {
        eprintln!(
            "1M-entry log written to {} (vkey {vkey}; earlier checkpoint in checkpoint-500000)",
            dir.display()
        );
    }
    let source = DirSource(dir);
    g.bench_function("directory_2_threads", |b| {
        b.iter_batched(
            || (),
            |()| {
                comity_tlog::audit::audit_with(
                    &source,
                    std::slice::from_ref(&vkey),
                    Some(since.as_bytes()),
                    &AuditOptions {
                        threads: 2,
                        entries: true,
                    },
                    |_| {},
                )
                .unwrap()
            },
            BatchSize::PerIteration,
        );
    });
    g.finish();
}

criterion_group!(benches, append, proofs, audit);
criterion_main!(benches);
