//! `bpfscope serve`: the sampler's numbers for Prometheus. An HTTP endpoint
//! (`/metrics`, loopback by default) answers every scrape from the last
//! sample, so scrapers cannot make bpfscope work harder than its interval.

mod auth;
mod error;
mod exposition;
mod http;
mod negotiate;
mod request;
mod tls;
mod web;

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub use error::{ConfigError, WebConfigError};
pub use exposition::{Exposition, ProgramLine};
pub use http::Endpoint;
pub use web::WebConfig;

use crate::model::{Catalog, Interval, ProgramKey, SourceEvent};
use crate::sampler::{Sampler, SamplerConfig};
use crate::source::{HelperLaunch, Source};

/// The port `bpfscope serve` listens on by default: next to
/// `ebpf_exporter`'s 9435, not on it.
pub const DEFAULT_PORT: u16 = 9436;

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Address and port to listen on. Loopback by default: another address
    /// exposes every program's name, owner and attach point to whoever can
    /// reach it.
    #[arg(long, value_name = "ADDR:PORT", default_value = "127.0.0.1:9436")]
    pub listen: SocketAddr,
    /// Seconds between samples, 0.1 to 3600; a scrape reads the last one.
    #[arg(long, value_name = "SECS", default_value = "5")]
    pub interval: Interval,
    /// Prometheus exporters' web configuration file (exporter-toolkit's
    /// YAML): `tls_server_config` for HTTPS and client certificates,
    /// `basic_auth_users` with bcrypt hashes, `http_server_config.headers`.
    #[arg(long = "web.config.file", value_name = "FILE")]
    pub web_config: Option<std::path::PathBuf>,
    /// Low-overhead mode: statistics on for only PERCENT % of each interval
    /// (1 to 99); counters grow only then, bpfscope_stats_duty_ratio says
    /// so, and bpfscope_stats_enabled_seconds_total counts only that time.
    #[arg(long = "stats-duty", value_name = "PERCENT",
          value_parser = clap::value_parser!(u8).range(1..=99))]
    pub low_overhead_percent: Option<u8>,
}

/// As root: the sampler in this process, which then gives up root as the
/// helper does (the `bpfscope` user, no capabilities where the kernel
/// allows). Otherwise the helper, through polkit.
fn start(
    interval: Interval,
    mut launch: HelperLaunch,
    low_overhead_percent: Option<u8>,
) -> Result<Source, ExitCode> {
    let low_overhead = low_overhead_percent
        .map(|p| {
            crate::sampler::low_overhead::LowOverhead::percent_of(u32::from(p), interval.duration())
        })
        .transpose()
        .map_err(|why| {
            eprintln!("bpfscope: --stats-duty: {why}");
            ExitCode::from(2)
        })?;
    launch.low_overhead_percent = low_overhead_percent;
    let config = SamplerConfig {
        owners: true,
        facts: true,
        low_overhead,
        ..SamplerConfig::default()
    };
    if !crate::sys::has_cap(crate::sys::CAP_SYS_ADMIN) {
        return crate::cli::start_source(config, interval, launch);
    }
    let mut sampler = Sampler::new(config).map_err(|err| {
        eprintln!("bpfscope: {err}");
        if err.is_privilege() {
            ExitCode::from(2)
        } else {
            ExitCode::FAILURE
        }
    })?;
    // SAFETY: getuid has no preconditions.
    if unsafe { libc::getuid() } != 0 {
        // Capabilities without root (a container's user): there is no
        // user to give up, and no CAP_SETUID to do it with.
        sampler.add_notice(
            "the exporter is not root: it keeps the capabilities it was started with".to_owned(),
        );
        let waker: crate::model::Waker = Arc::new(|| {});
        return Ok(Source::from_sampler(sampler, interval, waker));
    }
    match crate::sampler::drop_to_least_privilege(&mut sampler, "the exporter") {
        // Said on stderr with the hello's notices.
        Ok(kept) => sampler.add_notice(kept),
        Err(err) => {
            eprintln!("bpfscope: cannot give up privileges: {err}");
            return Err(ExitCode::FAILURE);
        }
    }
    let waker: crate::model::Waker = Arc::new(|| {});
    Ok(Source::from_sampler(sampler, interval, waker))
}

/// Runs the exporter until SIGINT or SIGTERM. Exit code 2 when the
/// privilege is missing or the address cannot be listened on.
#[must_use]
pub fn serve_command(args: &ServeArgs, launch: HelperLaunch) -> ExitCode {
    let stop = match crate::sys::stop_on_signals() {
        Ok(stop) => stop,
        Err(err) => {
            eprintln!("bpfscope: cannot handle SIGINT/SIGTERM: {err}");
            return ExitCode::FAILURE;
        }
    };
    // Read while still root: the key may be readable by root only.
    let web = match args.web_config.as_deref().map(WebConfig::open).transpose() {
        Ok(web) => web.map(Arc::new),
        Err(err) => {
            eprintln!("bpfscope: {err}");
            return ExitCode::from(2);
        }
    };
    let scheme = match web.as_ref().map(|w| w.current()) {
        Some(w) if w.tls.is_some() => "https",
        _ => "http",
    };
    // The source first: as root it gives up root before any thread starts.
    let mut source = match start(args.interval, launch, args.low_overhead_percent) {
        Ok(source) => source,
        Err(code) => return code,
    };
    let shared: http::Shared = Arc::new(Mutex::new(Arc::new(Exposition::default())));
    let failed = Arc::new(AtomicBool::new(false));
    let endpoint = match Endpoint::start(args.listen, &shared, web, Arc::clone(&failed)) {
        Ok(endpoint) => endpoint,
        Err(err) => {
            eprintln!("bpfscope: {err}");
            return ExitCode::from(2);
        }
    };
    eprintln!(
        "bpfscope: serving metrics on {scheme}://{}/metrics",
        endpoint.address
    );
    let code = watch(&mut source, &shared, &stop, &failed);
    // Statistics off first, then stop listening (which may wait for the
    // workers' answers, each bounded by the HTTP timeout).
    drop(source);
    drop(endpoint);
    code
}

/// Keeps `shared` at the last sample until a signal, a failed endpoint or
/// a stopped source.
fn watch(
    source: &mut Source,
    shared: &http::Shared,
    stop: &AtomicBool,
    failed: &AtomicBool,
) -> ExitCode {
    let mut catalog = Catalog::default();
    let mut started: Option<Instant> = None;
    // Low-overhead mode: the time statistics were on, summed.
    let mut on_seconds = 0.0;
    loop {
        if stop.load(Ordering::Relaxed) {
            return ExitCode::SUCCESS;
        }
        if failed.load(Ordering::Relaxed) {
            eprintln!("bpfscope: the endpoint stopped accepting connections");
            return ExitCode::FAILURE;
        }
        let Some(event) = source.recv_timeout(Duration::from_millis(100)) else {
            if let Some(problem) = source.problem() {
                eprintln!("bpfscope: {problem}");
                return if started.is_none() {
                    ExitCode::from(2)
                } else {
                    ExitCode::FAILURE
                };
            }
            continue;
        };
        crate::export::report_on_stderr(&event);
        match event {
            SourceEvent::Hello(_) | SourceEvent::Warning(_) | SourceEvent::Error(_) => {}
            SourceEvent::Facts(facts) => catalog.add_facts(facts),
            SourceEvent::Sample(mut sample) => {
                catalog.absorb(&mut sample);
                let since = *started.get_or_insert_with(Instant::now);
                let stats_seconds = match sample.stats_on_ns {
                    Some(on) => {
                        on_seconds += on as f64 / 1e9;
                        on_seconds
                    }
                    None => since.elapsed().as_secs_f64(),
                };
                let exposition = Arc::new(Exposition::of(&sample, &catalog, stats_seconds));
                match shared.lock() {
                    Ok(mut guard) => *guard = exposition,
                    Err(poisoned) => *poisoned.into_inner() = exposition,
                }
                let loaded: std::collections::HashSet<ProgramKey> =
                    sample.programs.iter().map(ProgramKey::of).collect();
                catalog.retain(|k| loaded.contains(k));
            }
        }
    }
}
