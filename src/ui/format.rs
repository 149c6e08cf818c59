//! Numbers formatted for reading: thousands separators, ns/µs/ms/s, sensible
//! precision. Tooltips show the full values.

use std::time::{Duration, SystemTime};

use crate::view::CpuMode;

/// `1234567` → `1,234,567`.
#[must_use]
pub fn thousands(value: u64) -> String {
    let digits = value.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Three significant digits, at least the integer part.
fn sig3(value: f64) -> String {
    if value >= 100.0 {
        format!("{value:.0}")
    } else if value >= 10.0 {
        format!("{value:.1}")
    } else {
        format!("{value:.2}")
    }
}

/// A duration in nanoseconds: `850 ns`, `1.25 µs`, `12.5 ms`, `1.20 s`.
#[must_use]
pub fn duration_ns(ns: f64) -> String {
    if !ns.is_finite() {
        return "–".to_owned();
    }
    let ns = ns.max(0.0);
    if ns < 1_000.0 {
        format!("{ns:.0} ns")
    } else if ns < 1e6 {
        format!("{} µs", sig3(ns / 1e3))
    } else if ns < 1e9 {
        format!("{} ms", sig3(ns / 1e6))
    } else {
        format!("{} s", sig3(ns / 1e9))
    }
}

/// A rate per second: `0.50`, `12.5`, `1,234`.
#[must_use]
pub fn rate(per_sec: f64) -> String {
    if !per_sec.is_finite() {
        return "–".to_owned();
    }
    let v = per_sec.max(0.0);
    if v == 0.0 {
        "0".to_owned()
    } else if v < 10.0 {
        format!("{v:.2}")
    } else if v < 1_000.0 {
        format!("{v:.1}")
    } else {
        thousands(v.round() as u64)
    }
}

/// A percentage with enough significant digits to compare small shares:
/// `0 %`, `0.0034 %`, `0.42 %`, `12.3 %`, `250 %`.
#[must_use]
pub fn percent(value: f64) -> String {
    if !value.is_finite() {
        return "–".to_owned();
    }
    let v = value.max(0.0);
    if v == 0.0 {
        "0 %".to_owned()
    } else if v >= 1.0 {
        format!("{} %", sig3(v))
    } else if v < 1e-7 {
        "<0.0000001 %".to_owned()
    } else {
        // Two significant digits: 0.42, 0.042, 0.0042.
        let decimals = (-v.log10().floor()) as usize + 1;
        format!("{v:.decimals$} %")
    }
}

/// CPU time per second of wall time, from a share of one CPU in percent:
/// 1 % is 10 ms/s. `0`, `340 ns/s`, `34.0 µs/s`, `1.20 s/s`.
#[must_use]
pub fn cpu_time(percent_of_one_cpu: f64) -> String {
    if !percent_of_one_cpu.is_finite() {
        return "–".to_owned();
    }
    let ns = percent_of_one_cpu.max(0.0) * 1e7;
    if ns == 0.0 {
        "0".to_owned()
    } else if ns < 1.0 {
        "<1 ns/s".to_owned()
    } else {
        format!("{}/s", duration_ns(ns))
    }
}

/// A CPU figure as `mode` shows it; `value` is already divided by the
/// mode's divisor.
#[must_use]
pub fn cpu(value: f64, mode: CpuMode) -> String {
    match mode {
        CpuMode::OneCpu | CpuMode::AllCpus => percent(value),
        CpuMode::TimePerSec => cpu_time(value),
    }
}

/// [`cpu`] with what it is a share of: `0.42 % of one CPU`, `34.0 µs/s of
/// CPU time`.
#[must_use]
pub fn cpu_scoped(value: f64, mode: CpuMode) -> String {
    format!("{} {}", cpu(value, mode), mode.scope())
}

/// A size: `512 B`, `4.00 KiB`, `1.50 MiB`.
#[must_use]
pub fn bytes(value: u64) -> String {
    const KIB: f64 = 1024.0;
    let v = value as f64;
    if value < 1024 {
        format!("{value} B")
    } else if v < KIB * KIB {
        format!("{} KiB", sig3(v / KIB))
    } else if v < KIB * KIB * KIB {
        format!("{} MiB", sig3(v / KIB / KIB))
    } else {
        format!("{} GiB", sig3(v / KIB / KIB / KIB))
    }
}

/// The wall-clock time of `CLOCK_BOOTTIME` instant `boottime_ns`, given one
/// instant known on both clocks, as local `YYYY-MM-DD HH:MM:SS`.
#[must_use]
pub fn loaded_at(clock: (SystemTime, u64), boottime_ns: u64) -> String {
    let (wall, now_boottime) = clock;
    let ago = Duration::from_nanos(now_boottime.saturating_sub(boottime_ns));
    let at = wall.checked_sub(ago).unwrap_or(SystemTime::UNIX_EPOCH);
    local_time(at)
}

/// `YYYY-MM-DD HH:MM:SS` in the local time zone.
#[must_use]
pub fn local_time(at: SystemTime) -> String {
    let secs = at
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let t = libc::time_t::try_from(secs).unwrap_or(0);
    // SAFETY: all-zeroes is a valid `tm`; localtime_r only writes to it.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    // SAFETY: both pointers are valid for the call; localtime_r is the
    // thread-safe variant.
    if unsafe { libc::localtime_r(&raw const t, &raw mut tm) }.is_null() {
        return crate::model::rfc3339(at);
    }
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
        tm.tm_year + 1900,
        tm.tm_mon + 1,
        tm.tm_mday,
        tm.tm_hour,
        tm.tm_min,
        tm.tm_sec
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000), "1,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(thousands(u64::MAX), "18,446,744,073,709,551,615");
    }

    #[test]
    fn durations_pick_a_unit() {
        assert_eq!(duration_ns(0.0), "0 ns");
        assert_eq!(duration_ns(850.4), "850 ns");
        assert_eq!(duration_ns(1_250.0), "1.25 µs");
        assert_eq!(duration_ns(12_500.0), "12.5 µs");
        assert_eq!(duration_ns(125_000.0), "125 µs");
        assert_eq!(duration_ns(12_500_000.0), "12.5 ms");
        assert_eq!(duration_ns(1.2e9), "1.20 s");
        assert_eq!(duration_ns(f64::NAN), "–");
    }

    #[test]
    fn rates_and_percentages() {
        assert_eq!(rate(0.0), "0");
        assert_eq!(rate(0.5), "0.50");
        assert_eq!(rate(12.54), "12.5");
        assert_eq!(rate(20_000.4), "20,000");
        assert_eq!(percent(0.0), "0 %");
        assert_eq!(percent(0.004), "0.0040 %");
        assert_eq!(percent(0.0034), "0.0034 %");
        assert_eq!(percent(0.000_12), "0.00012 %");
        assert_eq!(percent(0.042), "0.042 %");
        assert_eq!(percent(0.4236), "0.42 %");
        assert_eq!(percent(1e-9), "<0.0000001 %");
        assert_eq!(percent(12.34), "12.3 %");
        assert_eq!(percent(250.0), "250 %");
    }

    #[test]
    fn cpu_time_per_second() {
        assert_eq!(cpu_time(0.0), "0");
        assert_eq!(cpu_time(0.0034), "34.0 µs/s");
        assert_eq!(cpu_time(1.0), "10.0 ms/s");
        assert_eq!(cpu_time(120.0), "1.20 s/s");
        assert_eq!(cpu_time(1e-9), "<1 ns/s");
        assert_eq!(cpu(0.0034, CpuMode::OneCpu), "0.0034 %");
        assert_eq!(cpu(0.0034, CpuMode::TimePerSec), "34.0 µs/s");
    }

    #[test]
    fn sizes_pick_a_unit() {
        assert_eq!(bytes(512), "512 B");
        assert_eq!(bytes(4096), "4.00 KiB");
        assert_eq!(bytes(1_572_864), "1.50 MiB");
    }
}
