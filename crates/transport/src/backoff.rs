//! When to try a failed delivery again.

use std::time::Duration;

/// Exponential backoff with jitter: after the n-th failed attempt of a message (n = 1, 2, …)
/// the next one waits `min(cap, base × factor^(n-1))`, less up to half of it drawn from the
/// injected entropy ("equal jitter"), so that messages that failed together spread out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    pub base: Duration,
    pub factor: u32,
    pub cap: Duration,
}

impl Default for Backoff {
    /// 1 s, doubling, at most 10 minutes.
    fn default() -> Self {
        Self {
            base: Duration::from_secs(1),
            factor: 2,
            cap: Duration::from_secs(600),
        }
    }
}

impl Backoff {
    /// The ceiling of the wait after `failures` failed attempts (at least 1): the delay before
    /// jitter.
    pub fn ceiling(&self, failures: u32) -> Duration {
        let cap = u64::try_from(self.cap.as_millis()).unwrap_or(u64::MAX);
        let mut ms = u64::try_from(self.base.as_millis())
            .unwrap_or(u64::MAX)
            .min(cap);
        for _ in 1..failures {
            if ms >= cap {
                break;
            }
            ms = ms.saturating_mul(u64::from(self.factor.max(1))).min(cap);
        }
        Duration::from_millis(ms)
    }

    /// The wait after `failures` failed attempts, with `jitter` (random bits) taking off up to
    /// half of the ceiling: the result lies in `[ceiling / 2, ceiling]`.
    pub fn delay(&self, failures: u32, jitter: u64) -> Duration {
        let ceiling = u64::try_from(self.ceiling(failures).as_millis()).unwrap_or(u64::MAX);
        let half = ceiling / 2;
        let off = jitter.checked_rem(half.saturating_add(1)).unwrap_or(0);
        Duration::from_millis(ceiling.saturating_sub(off))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_from_one_second_up_to_ten_minutes() {
        let b = Backoff::default();
        let secs: Vec<u64> = (1..=12).map(|n| b.ceiling(n).as_secs()).collect();
        assert_eq!(secs, [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 600, 600]);
        assert_eq!(b.ceiling(0), Duration::from_secs(1));
        assert_eq!(b.ceiling(u32::MAX), Duration::from_secs(600));
    }

    #[test]
    fn jitter_stays_within_half_of_the_ceiling() {
        let b = Backoff::default();
        for n in 1..20 {
            let c = b.ceiling(n);
            for j in [0, 1, 499, 500, 12345, u64::MAX] {
                let d = b.delay(n, j);
                assert!(d <= c && d >= c / 2, "{n} {j}: {d:?} vs {c:?}");
            }
        }
        assert_eq!(b.delay(1, 0), Duration::from_secs(1));
        assert_eq!(b.delay(1, 500), Duration::from_millis(500));
    }
}
