//! Progress of long work on stderr: a bar with bytes, rate and ETA on a terminal; otherwise
//! (CI logs) one line every few seconds.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::backup::Progress;

/// How often a line is written when stderr is not a terminal.
const LINE_EVERY: Duration = Duration::from_secs(5);

/// The reporter for this process's stderr.
pub fn stderr() -> Arc<dyn Progress> {
    if std::io::stderr().is_terminal() {
        Arc::new(Bar::default())
    } else {
        Arc::new(Lines::default())
    }
}

/// `12.3 MB`.
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "kB", "MB", "GB", "TB"];
    let mut v = n as f64;
    let mut unit = 0;
    while v >= 1000.0 && unit < UNITS.len() - 1 {
        v /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}

#[derive(Default)]
struct Bar {
    bar: Mutex<Option<indicatif::ProgressBar>>,
}

impl Progress for Bar {
    fn phase(&self, name: &str, total: Option<u64>) {
        let bar = match total {
            Some(t) if t > 0 => indicatif::ProgressBar::new(t),
            _ => indicatif::ProgressBar::new_spinner(),
        };
        bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
        if let Ok(style) = indicatif::ProgressStyle::with_template(
            "{prefix:>14} {bar:30} {bytes} ({bytes_per_sec}, ETA {eta})",
        ) {
            bar.set_style(style);
        }
        bar.set_prefix(name.to_string());
        bar.enable_steady_tick(Duration::from_millis(200));
        if let Some(old) = self
            .bar
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .replace(bar)
        {
            old.finish_and_clear();
        }
    }

    fn advance(&self, n: u64) {
        if let Some(b) = &*self.bar.lock().unwrap_or_else(|e| e.into_inner()) {
            b.inc(n);
        }
    }

    fn set(&self, n: u64) {
        if let Some(b) = &*self.bar.lock().unwrap_or_else(|e| e.into_inner()) {
            b.set_position(n);
        }
    }

    fn done(&self) {
        if let Some(b) = self.bar.lock().unwrap_or_else(|e| e.into_inner()).take() {
            b.finish_and_clear();
        }
    }
}

#[derive(Default)]
struct Lines {
    done: AtomicU64,
    state: Mutex<LineState>,
}

#[derive(Default)]
struct LineState {
    name: String,
    total: Option<u64>,
    started: Option<Instant>,
    last: Option<Instant>,
}

impl Lines {
    fn maybe_print(&self) {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        if s.last.is_some_and(|l| now.duration_since(l) < LINE_EVERY) {
            return;
        }
        let Some(started) = s.started else { return };
        s.last = Some(now);
        let done = self.done.load(Ordering::Relaxed);
        let secs = now.duration_since(started).as_secs_f64().max(0.001);
        let rate = done as f64 / secs;
        let eta = match s.total {
            Some(t) if t > done && rate > 0.0 => {
                format!(", ETA {}s", ((t - done) as f64 / rate).round() as u64)
            }
            _ => String::new(),
        };
        eprintln!(
            "{}: {} ({}/s{eta})",
            s.name,
            bytes(done),
            bytes(rate as u64)
        );
    }
}

impl Progress for Lines {
    fn phase(&self, name: &str, total: Option<u64>) {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        s.name = name.to_string();
        s.total = total;
        s.started = Some(Instant::now());
        s.last = Some(Instant::now());
        self.done.store(0, Ordering::Relaxed);
    }

    fn advance(&self, n: u64) {
        self.done.fetch_add(n, Ordering::Relaxed);
        self.maybe_print();
    }

    fn set(&self, n: u64) {
        self.done.store(n, Ordering::Relaxed);
        self.maybe_print();
    }

    fn done(&self) {}
}

#[cfg(test)]
mod tests {
    #[test]
    fn byte_sizes() {
        assert_eq!(super::bytes(512), "512 B");
        assert_eq!(super::bytes(12_345_678), "12.3 MB");
    }
}
