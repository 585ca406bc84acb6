//! Issue 11, hardening: a network partition between two nodes. Each node's endpoint, as the
//! directory lists it, is a TCP proxy on loopback in front of the node's real mutual-TLS
//! listener, so all traffic between the two `comity serve` processes (envelopes both ways, and
//! the witnesses' checkpoints) crosses the proxies. Requests are filed on AR throughout; for a
//! while the proxies let nothing through, then heal. Afterwards every request reaches its final
//! state on both sides (the flows of `traffic/mod.rs`), every envelope is received exactly once,
//! no event or leaf is doubled, both outboxes are empty, the failed deliveries were retried with
//! the backoff the transport promises, and both logs verify.
//!
//! Two ways to cut: a black hole (connections are accepted, and held, and nothing they carry
//! is ever forwarded: senders learn nothing until their timeouts) and refused connections (the
//! proxies stop listening and cut what is open). CI cuts for 3 s; `COMITY_FULL=1` for 30 s.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod federation;
mod logcheck;
mod traffic;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use federation::{AR, BO, Federation, Setup};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::watch;
use traffic::{Officers, Pace, Progress};

/// What the proxies do with traffic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Forward both ways.
    Open,
    /// Accept connections and hold them; forward nothing, ever, of what arrives now (a
    /// connection that lost bytes stays dead until its ends give up).
    BlackHole,
    /// Listen no more (connections are refused) and cut the connections that are open.
    Refuse,
}

#[derive(Default)]
struct Counts {
    connections: AtomicUsize,
    held: AtomicUsize,
    cut: AtomicUsize,
    dropped_bytes: AtomicU64,
}

/// A listener on `listen` that forwards each connection to `target` as `mode` says.
async fn proxy(
    listen: SocketAddr,
    target: SocketAddr,
    mut mode: watch::Receiver<Mode>,
    counts: Arc<Counts>,
) {
    loop {
        let socket = TcpSocket::new_v4().unwrap();
        socket.set_reuseaddr(true).unwrap();
        socket
            .bind(listen)
            .unwrap_or_else(|e| panic!("the proxy cannot listen on {listen} again: {e}"));
        let listener: TcpListener = socket.listen(128).unwrap();
        loop {
            tokio::select! {
                accepted = listener.accept() => {
                    let Ok((client, _)) = accepted else { continue };
                    counts.connections.fetch_add(1, Ordering::Relaxed);
                    tokio::spawn(connection(client, target, mode.clone(), counts.clone()));
                }
                changed = mode.changed() => {
                    if changed.is_err() {
                        return;
                    }
                    if *mode.borrow() == Mode::Refuse {
                        break;
                    }
                }
            }
        }
        drop(listener);
        while *mode.borrow_and_update() == Mode::Refuse {
            if mode.changed().await.is_err() {
                return;
            }
        }
    }
}

async fn connection(
    mut client: TcpStream,
    target: SocketAddr,
    mut mode: watch::Receiver<Mode>,
    counts: Arc<Counts>,
) {
    let mut a = vec![0u8; 16 * 1024];
    let mut b = vec![0u8; 16 * 1024];
    let now = *mode.borrow_and_update();
    if now != Mode::Open {
        // Accepted during a black hole: held, and whatever comes is dropped, until the client
        // gives up.
        counts.held.fetch_add(1, Ordering::Relaxed);
        while let Ok(n) = client.read(&mut a).await {
            if n == 0 {
                break;
            }
            counts.dropped_bytes.fetch_add(n as u64, Ordering::Relaxed);
        }
        return;
    }
    let Ok(mut upstream) = TcpStream::connect(target).await else {
        return;
    };
    let (mut cr, mut cw) = client.split();
    let (mut ur, mut uw) = upstream.split();
    let mut dead = false;
    loop {
        tokio::select! {
            n = cr.read(&mut a) => {
                let Ok(n) = n else { break };
                if n == 0 { break }
                if dead || *mode.borrow() != Mode::Open {
                    dead = true;
                    counts.dropped_bytes.fetch_add(n as u64, Ordering::Relaxed);
                } else if uw.write_all(&a[..n]).await.is_err() {
                    break;
                }
            }
            n = ur.read(&mut b) => {
                let Ok(n) = n else { break };
                if n == 0 { break }
                if dead || *mode.borrow() != Mode::Open {
                    dead = true;
                    counts.dropped_bytes.fetch_add(n as u64, Ordering::Relaxed);
                } else if cw.write_all(&b[..n]).await.is_err() {
                    break;
                }
            }
            changed = mode.changed() => {
                match changed.map(|()| *mode.borrow()) {
                    Ok(Mode::BlackHole) => dead = true,
                    Ok(Mode::Refuse) | Err(_) => {
                        counts.cut.fetch_add(1, Ordering::Relaxed);
                        break;
                    }
                    Ok(Mode::Open) => {}
                }
            }
        }
    }
}

/// The sum of `comity_cases{state=…}` on node `who`: how many cases it holds.
async fn cases_held(fed: &Federation, who: usize) -> u64 {
    fed.metrics(who, &["comity_cases{"])
        .await
        .iter()
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum()
}

/// Only one partition at a time: each measures its own recovery.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

async fn partitioned(cut: Mode) {
    let _one = ONE_AT_A_TIME.lock().await;
    let full = traffic::full();
    let (before, length, after) = if full {
        (
            Duration::from_secs(3),
            Duration::from_secs(30),
            Duration::from_secs(3),
        )
    } else {
        (
            Duration::from_millis(1500),
            Duration::from_secs(3),
            Duration::from_millis(1500),
        )
    };
    let every = Duration::from_millis(if full { 100 } else { 50 });
    let requests =
        usize::try_from(((before + length + after).as_millis() / every.as_millis()) as u64)
            .unwrap();
    eprintln!(
        "partition ({cut:?}): {requests} requests, one every {} ms, cut for {} s{}",
        every.as_millis(),
        length.as_secs_f64(),
        if full { "" } else { " (COMITY_FULL=1: 30 s)" }
    );
    let started = Instant::now();
    // The proxies' addresses, listed in the directory as the nodes' endpoints.
    let listen: Vec<SocketAddr> = (0..2)
        .map(|_| {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap()
        })
        .collect();
    let fed = Arc::new(
        Federation::start_with(Setup {
            nodes: 2,
            listed_peer: listen.iter().copied().map(Some).collect(),
            config: Vec::new(),
        })
        .await,
    );
    let (mode, watch) = watch::channel(Mode::Open);
    let counts = Arc::new(Counts::default());
    for (who, addr) in [AR, BO].into_iter().zip(&listen) {
        tokio::spawn(proxy(
            *addr,
            fed.node(who).peer,
            watch.clone(),
            counts.clone(),
        ));
    }
    let progress = Arc::new(Progress::default());
    let driver = tokio::spawn(traffic::drive(
        Officers::of(&fed),
        Pace {
            requests,
            every,
            concurrency: 8,
        },
        progress.clone(),
        started + before + length + Duration::from_secs(if full { 240 } else { 120 }),
    ));

    tokio::time::sleep(before).await;
    let crossed_before = cases_held(&fed, BO).await;
    assert!(crossed_before > 0, "nothing reached BO before the cut");
    mode.send(cut).unwrap();
    let cut_at = Instant::now();
    let filed_at_cut = progress.filed.load(Ordering::Relaxed);
    // What was on the wire as the cut began may still land (a busy node takes a while to
    // commit it); after half the cut nothing may.
    tokio::time::sleep(length / 2).await;
    let held_early = cases_held(&fed, BO).await;
    tokio::time::sleep(length.saturating_sub(cut_at.elapsed())).await;
    let held_late = cases_held(&fed, BO).await;
    let filed_in_cut = progress.filed.load(Ordering::Relaxed) - filed_at_cut;
    mode.send(Mode::Open).unwrap();
    let healed = Instant::now();
    assert_eq!(
        held_early, held_late,
        "requests reached BO through the partition"
    );
    assert!(
        filed_in_cut > 0,
        "no request was filed during the partition"
    );

    let ids = match driver.await.unwrap() {
        Ok(ids) => ids,
        Err(e) => panic!("partition ({cut:?}): {e}"),
    };
    let recovered = healed.elapsed();
    // A sender that never learnt of a receipt sends again after its backoff, up to a minute.
    fed.quiet_within(AR, Duration::from_secs(90)).await;
    fed.quiet_within(BO, Duration::from_secs(90)).await;
    let ar_retries = traffic::retries_logged(&fed, AR);
    let bo_retries = traffic::retries_logged(&fed, BO);
    traffic::in_order(&ar_retries, "AR");
    traffic::in_order(&bo_retries, "BO");
    // A refused connection fails at once, so a message filed as the cut began is tried again
    // and again within the cut. Behind a black hole an attempt waits for its timeout (5 s to
    // connect, 10 s in all) holding one of the peer's 8 delivery slots, and the cases waiting
    // for a slot are first tried in turn before any is tried again: each message is tried
    // about once during the cut, and again after it.
    let least = match (cut, full) {
        (Mode::Refuse, true) => 3,
        (Mode::Refuse, false) => 2,
        _ => 1,
    };
    assert!(
        ar_retries.max_attempt >= least,
        "AR's deliveries across the partition: retries {ar_retries}, none beyond attempt {} (at least {least} expected)",
        ar_retries.max_attempt
    );
    let repeats = |who| {
        std::fs::read_to_string(&fed.node(who).log)
            .unwrap_or_default()
            .matches("envelope received again")
            .count()
    };
    let (ar_repeats, bo_repeats) = (repeats(AR), repeats(BO));
    let dirs = [fed.node(AR).dir.clone(), fed.node(BO).dir.clone()];
    let fed = Arc::into_inner(fed).expect("the driver holds no federation");
    let files = fed.stop().await;
    let checked = traffic::verify(&dirs[0], &dirs[1], &ids).await;
    drop(files);
    eprintln!(
        "partition ({cut:?}): {requests} requests ({filed_in_cut} filed during the {:.1} s cut, {crossed_before} \
         across before it), every one final on both sides {:.1} s after healing; envelopes AR→BO {} and \
         BO→AR {}, each received once; delivery retries logged {ar_retries} by AR and \
         {bo_retries} by BO, outbox records {} and {} attempts beyond the first; \
         envelopes received again {bo_repeats} by BO and {ar_repeats} by AR; proxies: {} connections, {} \
         held in the black hole, {} cut, {} bytes dropped; logs of {} and {} leaves verified; {:.1} s in all",
        length.as_secs_f64(),
        recovered.as_secs_f64(),
        checked.ar_sent,
        checked.bo_sent,
        checked.ar_retries,
        checked.bo_retries,
        counts.connections.load(Ordering::Relaxed),
        counts.held.load(Ordering::Relaxed),
        counts.cut.load(Ordering::Relaxed),
        counts.dropped_bytes.load(Ordering::Relaxed),
        checked.ar_log,
        checked.bo_log,
        started.elapsed().as_secs_f64()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn black_hole_heals_and_every_delivery_completes_once() {
    partitioned(Mode::BlackHole).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_connections_heal_and_every_delivery_completes_once() {
    partitioned(Mode::Refuse).await;
}
