//! The progress bar on stderr: what is being fetched, bytes, rate and ETA, redrawn at most
//! ten times a second, and never wider than the terminal (parts are dropped, then the
//! name shortened, so the line never wraps). Only on a terminal, never with `--quiet` or
//! when `CI` is set, and only for work that lasts more than a moment.

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Shown only once the work has run this long.
const DELAY: Duration = Duration::from_millis(300);
/// At most ten redraws a second.
const TICK: Duration = Duration::from_millis(100);

pub struct Progress {
    done: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    label: Arc<Mutex<String>>,
    ticker: Option<JoinHandle<()>>,
}

pub fn enabled() -> bool {
    !crate::ui::quiet() && std::env::var_os("CI").is_none() && std::io::stderr().is_terminal()
}

/// The terminal's width: `COLUMNS` when set, else what the terminal says, else 80.
pub fn width() -> usize {
    if let Some(cols) = std::env::var("COLUMNS").ok().and_then(|c| c.trim().parse::<usize>().ok()) {
        return cols.max(1);
    }
    // SAFETY: TIOCGWINSZ fills the winsize struct it is given; stderr stays open.
    let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
    let ok = unsafe { libc::ioctl(libc::STDERR_FILENO, libc::TIOCGWINSZ, &mut ws) } == 0;
    if ok && ws.ws_col > 0 { usize::from(ws.ws_col) } else { 80 }
}

impl Progress {
    /// Starts counting towards `total` bytes; draws only when `enabled()`.
    pub fn start(total: u64) -> Progress {
        Progress::start_as(total, "")
    }

    /// Like `start`, naming what is being worked on ("jq, ripgrep").
    pub fn start_as(total: u64, label: &str) -> Progress {
        let done = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let label = Arc::new(Mutex::new(label.to_string()));
        let ticker = (enabled() && total > 0).then(|| {
            let (done, stop, label) = (done.clone(), stop.clone(), label.clone());
            std::thread::spawn(move || draw_until_stopped(total, &done, &stop, &label))
        });
        Progress { done, stop, label, ticker }
    }

    /// Names what is being worked on now.
    pub fn set_label(&self, label: &str) {
        *self.label.lock().unwrap_or_else(|p| p.into_inner()) = label.to_string();
    }

    /// The counter the readers add to.
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

fn draw_until_stopped(total: u64, done: &AtomicU64, stop: &AtomicBool, label: &Mutex<String>) {
    let started = Instant::now();
    let mut drawn = false;
    while !stop.load(Ordering::SeqCst) {
        std::thread::sleep(TICK);
        if started.elapsed() < DELAY || stop.load(Ordering::SeqCst) {
            continue;
        }
        let name = label.lock().map(|l| l.clone()).unwrap_or_default();
        let line = render(&name, done.load(Ordering::Relaxed).min(total), total, started.elapsed(), width());
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "\r{line}\x1b[K");
        let _ = err.flush();
        drawn = true;
    }
    if drawn {
        let _ = write!(std::io::stderr().lock(), "\r\x1b[K");
    }
}

/// `jq, ripgrep [=========>          ] 45.2 MiB / 98.0 MiB  12.3 MiB/s  ETA 4s`, at most
/// `width - 1` characters (the last column would wrap on some terminals).
pub fn render(label: &str, done: u64, total: u64, elapsed: Duration, width: usize) -> String {
    use crate::cmd::query::human;
    let room = width.saturating_sub(1);
    let secs = elapsed.as_secs_f64().max(0.001);
    let rate = done as f64 / secs;
    let eta =
        if rate > 0.0 { format!("ETA {}s", ((total - done) as f64 / rate).ceil() as u64) } else { "ETA ?".into() };
    let sizes = format!("{} / {}", human(done), human(total));
    let speed = format!("{}/s", human(rate as u64));
    // Parts go in this order as the line gets narrower: rate, ETA, sizes, then the bar.
    let tails = [
        format!(" {sizes}  {speed}  {eta}"),
        format!(" {sizes}  {eta}"),
        format!(" {sizes}"),
        format!(" {}%", (done * 100).checked_div(total).unwrap_or(0)),
    ];
    const BAR_MIN: usize = 12;
    const BAR_MAX: usize = 26;
    let label_min = label.chars().count().min(8);
    let tail = tails.iter().find(|t| t.chars().count() + BAR_MIN + label_min < room).unwrap_or(&tails[3]);
    let mut left = room.saturating_sub(tail.chars().count());
    let mut out = String::new();
    if !label.is_empty() && left > BAR_MIN {
        let want = label.chars().count() + 1;
        let fits = want.min(left.saturating_sub(BAR_MIN));
        out.push_str(&shorten(label, fits.saturating_sub(1)));
        out.push(' ');
        left = left.saturating_sub(out.chars().count());
    }
    if left >= 5 {
        out.push_str(&bar(done, total, left.min(BAR_MAX) - 2));
    }
    out.push_str(tail);
    out.chars().take(room).collect()
}

/// `label` in at most `n` characters, with `…` where it was cut.
fn shorten(label: &str, n: usize) -> String {
    if label.chars().count() <= n {
        return label.to_string();
    }
    let mut s: String = label.chars().take(n.saturating_sub(1)).collect();
    s.push('…');
    s
}

fn bar(done: u64, total: u64, inner: usize) -> String {
    let filled = (done * inner as u64).checked_div(total).unwrap_or(0) as usize;
    let body: String = (0..inner)
        .map(|i| match i.cmp(&filled) {
            std::cmp::Ordering::Less => '=',
            std::cmp::Ordering::Equal => '>',
            std::cmp::Ordering::Greater => ' ',
        })
        .collect();
    format!("[{body}]")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_name_bytes_rate_and_eta() {
        let line = render("big", 50 << 20, 100 << 20, Duration::from_secs(5), 100);
        assert!(line.starts_with("big [============>           ]"), "{line}");
        assert!(
            line.contains("50.0 MiB / 100.0 MiB") && line.contains("10.0 MiB/s") && line.contains("ETA 5s"),
            "{line}"
        );
    }

    #[test]
    fn never_wider_than_the_terminal() {
        let long = "a-very-long-package-name, another-long-package-name";
        for width in [10, 20, 30, 40, 60, 80, 200] {
            let line = render(long, 3 << 20, 100 << 20, Duration::from_secs(2), width);
            assert!(line.chars().count() < width, "{width}: {line:?} ({})", line.chars().count());
        }
        let narrow = render("jq", 1 << 20, 2 << 20, Duration::from_secs(1), 40);
        assert!(narrow.contains("jq") && narrow.contains(" / "), "{narrow}");
    }
}
