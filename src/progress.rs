//! The download progress bar on stderr: bytes, rate and ETA, redrawn a few times a second.
//! Only on a terminal, never with `--quiet` or when `CI` is set, and only for downloads
//! that last more than a moment.

use std::io::{IsTerminal, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Shown only once a download has run this long.
const DELAY: Duration = Duration::from_millis(300);
const TICK: Duration = Duration::from_millis(100);

pub struct Progress {
    done: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    ticker: Option<JoinHandle<()>>,
}

pub fn enabled() -> bool {
    !crate::ui::quiet() && std::env::var_os("CI").is_none() && std::io::stderr().is_terminal()
}

impl Progress {
    /// Starts counting towards `total` bytes; draws only when `enabled()`.
    pub fn start(total: u64) -> Progress {
        let done = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let ticker = (enabled() && total > 0).then(|| {
            let (done, stop) = (done.clone(), stop.clone());
            std::thread::spawn(move || draw_until_stopped(total, &done, &stop))
        });
        Progress { done, stop, ticker }
    }

    /// The counter the download readers add to.
    pub fn counter(&self) -> Arc<AtomicU64> {
        self.done.clone()
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.ticker.take() {
            let _ = t.join();
        }
    }
}

fn draw_until_stopped(total: u64, done: &AtomicU64, stop: &AtomicBool) {
    let started = Instant::now();
    let mut drawn = false;
    while !stop.load(Ordering::SeqCst) {
        std::thread::sleep(TICK);
        if started.elapsed() < DELAY {
            continue;
        }
        let line = render(done.load(Ordering::Relaxed).min(total), total, started.elapsed());
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "\r{line}\x1b[K");
        let _ = err.flush();
        drawn = true;
    }
    if drawn {
        let _ = write!(std::io::stderr().lock(), "\r\x1b[K");
    }
}

/// `[=========>          ] 45.2 MiB / 98.0 MiB  12.3 MiB/s  ETA 4s`
pub fn render(done: u64, total: u64, elapsed: Duration) -> String {
    const WIDTH: u64 = 24;
    let filled = (done * WIDTH).checked_div(total).unwrap_or(0) as usize;
    let bar: String = (0..WIDTH as usize)
        .map(|i| match i.cmp(&filled) {
            std::cmp::Ordering::Less => '=',
            std::cmp::Ordering::Equal => '>',
            std::cmp::Ordering::Greater => ' ',
        })
        .collect();
    let secs = elapsed.as_secs_f64().max(0.001);
    let rate = done as f64 / secs;
    let eta =
        if rate > 0.0 { format!("ETA {}s", ((total - done) as f64 / rate).ceil() as u64) } else { "ETA ?".into() };
    format!(
        "[{bar}] {} / {}  {}/s  {eta}",
        crate::cmd::query::human(done),
        crate::cmd::query::human(total),
        crate::cmd::query::human(rate as u64)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_bytes_rate_and_eta() {
        let line = render(50 << 20, 100 << 20, Duration::from_secs(5));
        assert!(line.starts_with("[============>           ]"), "{line}");
        assert!(
            line.contains("50.0 MiB / 100.0 MiB") && line.contains("10.0 MiB/s") && line.contains("ETA 5s"),
            "{line}"
        );
    }
}
