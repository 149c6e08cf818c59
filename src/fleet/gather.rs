//! One round of PromQL for the fleet view: the hosts seen in the last hour
//! and whether they are up, each host's BPF CPU over the plot window, its
//! programs, and its top programs with their events/s, owner and attach.
//! Joins happen here, not in PromQL, so that duplicate series (an exporter
//! restarting, one host in two jobs) cannot fail a query.

use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

use super::error::FleetError;
use super::prometheus::{Client, Series};
use crate::model::{FleetData, FleetHost, FleetProgram, HOSTS_MAX, POINTS_MAX, TOP_PROGRAMS};

/// Rates are Prometheus' `irate`: between the last two scrapes within a
/// minute (four scrapes at the usual 15 s), as the window's own plots show
/// each period's rate. `rate` over a minute would smooth, but understates
/// for a minute every host that just started.
const RATE: &str = "1m";

/// Per host: the sum of its programs per job, the largest job's (a host
/// scraped by two jobs is not counted twice).
fn cpu_by_host() -> String {
    format!(
        "max by (instance) (sum by (instance, job) \
         (irate(bpfscope_program_run_time_seconds_total[{RATE}])))"
    )
}

fn top_cpu() -> String {
    format!(
        "topk by (instance) ({TOP_PROGRAMS}, irate(bpfscope_program_run_time_seconds_total[{RATE}]))"
    )
}

/// The queries one round asks, in order (shown in the docs and tested
/// against a real Prometheus).
#[must_use]
pub fn queries() -> Vec<String> {
    vec![
        // Whether bpfscope's own scrape of each host worked (not another
        // exporter's on the same instance); 0 for one Prometheus stopped
        // scraping (its `up` gone) but that reported within the hour.
        "max by (instance) (up and on (instance, job) \
         last_over_time(bpfscope_build_info[1h])) or on (instance) \
         (0 * count by (instance) (last_over_time(bpfscope_build_info[1h])))"
            .to_owned(),
        cpu_by_host(),
        "max by (instance) (bpfscope_programs)".to_owned(),
        top_cpu(),
        format!(
            "irate(bpfscope_program_runs_total[{RATE}]) and on (instance, job, id) {}",
            top_cpu()
        ),
        format!(
            "bpfscope_program_info and on (instance, job, id) {}",
            top_cpu()
        ),
    ]
}

fn label<'a>(series: &'a Series, name: &str) -> &'a str {
    series.labels.get(name).map_or("", String::as_str)
}

/// Asks Prometheus for the fleet over the last `window_secs`; between
/// queries, stops if `go_on` says so (the window disconnected).
pub fn gather(
    client: &Client,
    window_secs: u64,
    now: SystemTime,
    go_on: &dyn Fn() -> bool,
) -> Result<FleetData, FleetError> {
    let q = queries();
    let check = || {
        if go_on() {
            Ok(())
        } else {
            Err(FleetError::Disconnected)
        }
    };
    // In whole milliseconds, as the query says it: no point after now.
    let end = now
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_millis() as f64 / 1e3);
    let window = window_secs.max(1) as f64;
    let step = (window / (POINTS_MAX as f64 / 2.0)).ceil().max(1.0);

    let mut hosts: BTreeMap<String, FleetHost> = BTreeMap::new();
    let mut cut = false;
    for up in client.instant(&q[0])? {
        if hosts.len() >= HOSTS_MAX {
            cut = true;
            break;
        }
        let instance = label(&up, "instance").to_owned();
        hosts.insert(
            instance.clone(),
            FleetHost {
                instance,
                up: up.value >= 1.0,
                ..FleetHost::default()
            },
        );
    }
    check()?;
    // The series of hosts that were found up or down above.
    for range in client.range(&q[1], end - window, end, step)? {
        let Some(host) = range.labels.get("instance").and_then(|i| hosts.get_mut(i)) else {
            continue;
        };
        let skip = range.points.len().saturating_sub(POINTS_MAX);
        host.series = range.points[skip..]
            .iter()
            .map(|&(t, v)| [t - end, v])
            .collect();
        host.cpu = host.series.last().map(|p| p[1]);
    }
    check()?;
    for count in client.instant(&q[2])? {
        if let Some(host) = hosts.get_mut(label(&count, "instance")) {
            host.programs = Some(count.value.max(0.0) as u64);
        }
    }
    check()?;
    let mut events: BTreeMap<(String, String), f64> = BTreeMap::new();
    for e in client.instant(&q[4])? {
        events.insert(
            (label(&e, "instance").to_owned(), label(&e, "id").to_owned()),
            e.value,
        );
    }
    check()?;
    let mut info: BTreeMap<(String, String), (String, String)> = BTreeMap::new();
    for i in client.instant(&q[5])? {
        info.insert(
            (label(&i, "instance").to_owned(), label(&i, "id").to_owned()),
            (
                label(&i, "owner").to_owned(),
                label(&i, "attach").to_owned(),
            ),
        );
    }
    check()?;
    for top in client.instant(&q[3])? {
        let Some(host) = hosts.get_mut(label(&top, "instance")) else {
            continue;
        };
        if host.top.len() >= TOP_PROGRAMS || host.top.iter().any(|p| p.id == label(&top, "id")) {
            continue;
        }
        let key = (host.instance.clone(), label(&top, "id").to_owned());
        let (owner, attach) = info.remove(&key).unwrap_or_default();
        host.top.push(FleetProgram {
            id: key.1.clone(),
            name: label(&top, "name").to_owned(),
            kind: label(&top, "type").to_owned(),
            owner,
            attach,
            cpu: if top.value.is_finite() {
                top.value
            } else {
                0.0
            },
            events_per_sec: events.get(&key).copied(),
        });
    }
    for host in hosts.values_mut() {
        host.top.sort_by(|a, b| b.cpu.total_cmp(&a.cpu));
    }
    Ok(FleetData {
        fetched: Some(now),
        window_secs,
        hosts: hosts.into_values().collect(),
        cut,
    })
}
