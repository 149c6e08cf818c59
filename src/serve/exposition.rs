//! What a scrape returns: the last sample's programs as Prometheus metrics,
//! built once per sample and encoded per scrape (a scrape never makes the
//! kernel do anything).

use std::fmt::Write as _;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::Registry;

use crate::model::{Catalog, ProgramKey, Sample};

/// One program's labels and counters.
#[derive(Clone, Debug, PartialEq)]
pub struct ProgramLine {
    pub id: String,
    /// The full BTF name where known, else the kernel's.
    pub name: String,
    pub kind: String,
    pub tag: String,
    /// The first owner's command name.
    pub owner: String,
    pub attach: String,
    pub uid: String,
    pub runs: u64,
    pub run_time_ns: u64,
    pub misses: u64,
    pub memlock_bytes: Option<u64>,
    pub verified_insns: Option<u32>,
    /// One of bpfscope's own iterators.
    pub own: bool,
}

/// Everything a scrape shows, as of one sample.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Exposition {
    pub programs: Vec<ProgramLine>,
    /// Seconds statistics have been on, by bpfscope, at that sample.
    pub stats_seconds: f64,
    /// How long the sampler's last pass took, in seconds.
    pub pass_seconds: f64,
    /// The share of each interval statistics are on: 1, or less in
    /// low-overhead mode (0 before a sample).
    pub stats_on_ratio: f64,
    /// Whether a sample has arrived at all.
    pub ready: bool,
}

/// Bytes of the `attach` label at most: a program attached to many long
/// paths would otherwise make one label kilobytes long, past what
/// Prometheus' `label_value_length_limit` may allow (a scrape over a limit
/// fails whole).
pub const ATTACH_MAX: usize = 512;

fn bounded(mut text: String) -> String {
    if crate::model::truncate_at_char(&mut text, ATTACH_MAX) {
        text.push('…');
    }
    text
}

impl Exposition {
    /// The exposition of `sample`, with what `catalog` knows of each
    /// program; `stats_seconds` since bpfscope turned statistics on.
    #[must_use]
    pub fn of(sample: &Sample, catalog: &Catalog, stats_seconds: f64) -> Self {
        let programs = sample
            .programs
            .iter()
            .map(|p| {
                let facts = catalog.facts(ProgramKey::of(p));
                let kernel_name = p.name.to_string();
                ProgramLine {
                    id: p.id.to_string(),
                    name: facts
                        .and_then(|f| f.full_name.clone())
                        .unwrap_or(kernel_name),
                    kind: p.type_name().into_owned(),
                    tag: p.tag.iter().fold(String::with_capacity(16), |mut s, b| {
                        let _ = write!(s, "{b:02x}"); // writing to a String cannot fail
                        s
                    }),
                    owner: p
                        .owners
                        .first()
                        .map(|o| o.comm.to_string())
                        .unwrap_or_default(),
                    attach: catalog
                        .links(p.id)
                        .map(|links| bounded(crate::model::attach_summary(links)))
                        .unwrap_or_default(),
                    uid: facts.map(|f| f.uid.to_string()).unwrap_or_default(),
                    runs: p.run_cnt,
                    run_time_ns: p.run_time_ns,
                    misses: p.recursion_misses,
                    memlock_bytes: facts.and_then(|f| f.memlock_bytes),
                    verified_insns: facts.map(|f| f.verified_insns),
                    own: p.own,
                }
            })
            .collect();
        Self {
            programs,
            stats_seconds,
            pass_seconds: sample.pass_ns as f64 / 1e9,
            stats_on_ratio: sample.stats_on_ns.map_or(1.0, |on| {
                (on as f64 / sample.period.as_nanos().max(1) as f64).min(1.0)
            }),
            ready: true,
        }
    }

    /// The metrics in the OpenMetrics text format (`openmetrics`) or the
    /// Prometheus text format 0.0.4.
    pub fn encode(
        self: &std::sync::Arc<Self>,
        openmetrics: bool,
    ) -> Result<String, std::fmt::Error> {
        let mut registry = Registry::default();
        registry.register_collector(Box::new(std::sync::Arc::clone(self)));
        let mut out = String::with_capacity(256 + self.programs.len() * 600);
        if openmetrics {
            prometheus_client::encoding::text::encode(&mut out, &registry)?;
        } else {
            prometheus_client::encoding::prometheus_text::encode(&mut out, &registry)?;
        }
        Ok(out)
    }
}

/// A per-program metric: its name, help and value.
type Described<T> = (&'static str, &'static str, fn(&ProgramLine) -> T);

/// The labels every per-program counter carries.
fn key_labels(p: &ProgramLine) -> [(&'static str, &str); 3] {
    [("id", &p.id), ("name", &p.name), ("type", &p.kind)]
}

impl Collector for Exposition {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let counts: [Described<u64>; 2] = [
            (
                "bpfscope_program_runs",
                "Runs of the program while statistics were on, since it was loaded (run_cnt)",
                |p| p.runs,
            ),
            (
                "bpfscope_program_recursion_misses",
                "Runs skipped because the program was already running on that CPU",
                |p| p.misses,
            ),
        ];
        for (name, help, value) in counts {
            let mut family = encoder.encode_descriptor(name, help, None, MetricType::Counter)?;
            for p in &self.programs {
                let labels = key_labels(p);
                ConstCounter::new(value(p)).encode(family.encode_family(&labels)?)?;
            }
        }
        let mut family = encoder.encode_descriptor(
            "bpfscope_program_run_time_seconds",
            "Time the program ran while statistics were on, since it was loaded (run_time_ns)",
            None,
            MetricType::Counter,
        )?;
        for p in &self.programs {
            let labels = key_labels(p);
            ConstCounter::new(p.run_time_ns as f64 / 1e9).encode(family.encode_family(&labels)?)?;
        }
        let mut info = encoder.encode_descriptor(
            "bpfscope_program_info",
            "A loaded program's tag, first owner, attach points and loading uid (always 1)",
            None,
            MetricType::Gauge,
        )?;
        for p in &self.programs {
            let labels = [
                ("id", p.id.as_str()),
                ("name", &p.name),
                ("type", &p.kind),
                ("tag", &p.tag),
                ("owner", &p.owner),
                ("attach", &p.attach),
                ("uid", &p.uid),
                ("bpfscope_own", if p.own { "true" } else { "false" }),
            ];
            ConstGauge::new(1i64).encode(info.encode_family(&labels)?)?;
        }
        let facts: [Described<Option<i64>>; 2] = [
            (
                "bpfscope_program_memlock_bytes",
                "Memory the kernel charges to the program",
                |p| p.memlock_bytes.and_then(|b| i64::try_from(b).ok()),
            ),
            (
                "bpfscope_program_verified_insns",
                "Instructions the verifier processed when the program was loaded",
                |p| p.verified_insns.map(i64::from),
            ),
        ];
        for (name, help, value) in facts {
            let mut family = encoder.encode_descriptor(name, help, None, MetricType::Gauge)?;
            for p in &self.programs {
                if let Some(v) = value(p) {
                    let labels = [("id", p.id.as_str())];
                    ConstGauge::new(v).encode(family.encode_family(&labels)?)?;
                }
            }
        }
        self.encode_exporter(&mut encoder)
    }
}

impl Exposition {
    /// The exporter's own metrics: programs, last pass, statistics time,
    /// build.
    fn encode_exporter(&self, encoder: &mut DescriptorEncoder) -> Result<(), std::fmt::Error> {
        ConstGauge::new(i64::try_from(self.programs.len()).unwrap_or(i64::MAX)).encode(
            encoder.encode_descriptor(
                "bpfscope_programs",
                "BPF programs loaded at the last sample",
                None,
                MetricType::Gauge,
            )?,
        )?;
        ConstGauge::new(self.pass_seconds).encode(encoder.encode_descriptor(
            "bpfscope_sampler_pass",
            "How long the sampler's last pass over every program took",
            Some(&prometheus_client::registry::Unit::Seconds),
            MetricType::Gauge,
        )?)?;
        ConstCounter::new(self.stats_seconds).encode(encoder.encode_descriptor(
            "bpfscope_stats_enabled_seconds",
            "Seconds the kernel's BPF statistics have been on for this exporter",
            None,
            MetricType::Counter,
        )?)?;
        ConstGauge::new(self.stats_on_ratio).encode(encoder.encode_descriptor(
            "bpfscope_stats_duty_ratio",
            "Share of the last interval the statistics were on: 1, or less in low-overhead mode, \
             where runs are counted only then (divide rates by the rate of \
             bpfscope_stats_enabled_seconds_total)",
            None,
            MetricType::Gauge,
        )?)?;
        let build = [("version", env!("CARGO_PKG_VERSION"))];
        ConstGauge::new(1i64).encode(
            encoder
                .encode_descriptor(
                    "bpfscope_build_info",
                    "The bpfscope version serving these metrics (always 1)",
                    None,
                    MetricType::Gauge,
                )?
                .encode_family(&build)?,
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    fn line(name: &str, owner: &str) -> ProgramLine {
        ProgramLine {
            id: "7".into(),
            name: name.into(),
            kind: "xdp".into(),
            tag: "0102030405060708".into(),
            owner: owner.into(),
            attach: "xdp eth0".into(),
            uid: "0".into(),
            runs: 1_500,
            run_time_ns: 75_000,
            misses: 0,
            memlock_bytes: Some(4_096),
            verified_insns: Some(12),
            own: false,
        }
    }

    #[test]
    fn a_long_attach_text_is_cut_at_a_character() {
        let cut = bounded("é".repeat(ATTACH_MAX));
        assert!(cut.len() <= ATTACH_MAX + '…'.len_utf8() && cut.ends_with('…'));
        assert_eq!(bounded("xdp eth0".into()), "xdp eth0");
    }

    #[test]
    fn hostile_names_are_escaped_in_both_formats() {
        let exposition = Arc::new(Exposition {
            programs: vec![line("a\"b\\c\nd", "x} 1\nevil 2")],
            stats_seconds: 3.0,
            stats_on_ratio: 1.0,
            pass_seconds: 0.002_5,
            ready: true,
        });
        for openmetrics in [false, true] {
            let text = exposition.encode(openmetrics).expect("encodes");
            assert!(text.contains(r#"name="a\"b\\c\nd""#), "{text}");
            assert!(text.contains(r#"owner="x} 1\nevil 2""#), "{text}");
            // Every line is a comment or a sample of ours: nothing injected.
            for l in text.lines() {
                assert!(l.starts_with('#') || l.starts_with("bpfscope_"), "{l:?}");
            }
        }
    }

    #[test]
    fn counters_are_exact_and_seconds_are_seconds() {
        let exposition = Arc::new(Exposition {
            programs: vec![line("xdp_fw", "agent")],
            stats_seconds: 3.0,
            stats_on_ratio: 1.0,
            pass_seconds: 0.002_5,
            ready: true,
        });
        let text = exposition.encode(false).expect("encodes");
        assert!(
            text.contains(r#"bpfscope_program_runs_total{id="7",name="xdp_fw",type="xdp"} 1500"#),
            "{text}"
        );
        assert!(text.contains(r#"bpfscope_program_run_time_seconds_total{id="7",name="xdp_fw",type="xdp"} 0.000075"#), "{text}");
        assert!(
            text.contains(r#"bpfscope_program_memlock_bytes{id="7"} 4096"#),
            "{text}"
        );
        assert!(text.contains("bpfscope_programs 1"), "{text}");
        assert!(
            text.contains("bpfscope_sampler_pass_seconds 0.0025"),
            "{text}"
        );
        let open = exposition.encode(true).expect("encodes");
        assert!(open.ends_with("# EOF\n"), "{open}");
    }
}
