//! The store's unit tests: rows, history, markers, aggregates, pause.

#![allow(clippy::float_cmp)] // the expected values are exact in binary

mod basics {
    use super::super::*;

    fn program(id: u32, run_time_ns: u64, run_cnt: u64) -> ProgramSample {
        crate::test_support::program(id)
            .name(&format!("prog{id}"))
            .loaded_at(1)
            .ran(run_cnt, run_time_ns)
            .owner(100 + id, "Agent")
            .build()
    }

    pub(super) fn sample(secs: u64, programs: Vec<ProgramSample>) -> Sample {
        crate::test_support::sample_at(secs, programs)
    }

    #[test]
    fn rows_get_metrics_from_the_second_sample_on() {
        let mut store = Store::new();
        store.push_sample(sample(10, vec![program(1, 0, 0)]));
        assert!(store.rows()[0].metrics.is_none());
        store.push_sample(sample(11, vec![program(1, 5_000, 10)]));
        let m = store.rows()[0].metrics.expect("metrics");
        assert!((m.events_per_sec - 10.0).abs() < 1e-9);
        assert!((m.avg_runtime_ns - 500.0).abs() < 1e-9);
        assert_eq!(store.history(store.rows()[0].key).count(), 1);
    }

    #[test]
    fn vanished_programs_stay_gone_until_cleared() {
        let mut store = Store::new();
        store.push_sample(sample(1, vec![program(1, 0, 0), program(2, 0, 0)]));
        store.push_sample(sample(2, vec![program(1, 10, 1), program(2, 10, 1)]));
        store.push_sample(sample(3, vec![program(1, 20, 2)]));
        let gone: Vec<u32> = store
            .rows()
            .iter()
            .filter(|r| r.gone)
            .map(|r| r.key.id)
            .collect();
        assert_eq!(gone, vec![2]);
        let key = store.rows()[1].key;
        assert_eq!(
            store.history(key).count(),
            1,
            "history of a gone program is kept"
        );
        store.clear_gone();
        assert_eq!(store.rows().len(), 1);
        assert_eq!(store.history(key).count(), 0);
    }

    #[test]
    fn history_is_pruned_by_age() {
        let mut store = Store::new();
        let total = HISTORY_AGE.as_secs() + 50;
        for s in 0..total {
            store.push_sample(sample(s, vec![program(1, s * 100, s)]));
        }
        let key = store.rows()[0].key;
        let points: Vec<Point> = store.history(key).collect();
        let newest = points.last().expect("points").boottime_ns;
        let oldest = points.first().expect("points").boottime_ns;
        assert!(newest - oldest <= HISTORY_AGE.as_nanos() as u64);
        assert!(points.len() as u64 >= HISTORY_AGE.as_secs());
        // Points stay aligned with their times after pruning.
        for p in &points {
            assert!((p.events_per_sec - 1.0).abs() < 1e-6);
        }
    }

    #[test]
    fn filter_matches_id_type_name_and_owner_case_insensitively() {
        let mut store = Store::new();
        store.push_sample(sample(1, vec![program(42, 0, 0)]));
        let row = &store.rows()[0];
        for needle in ["42", "xdp", "prog42", "agent", "142", ""] {
            assert!(row.matches(needle), "{needle}");
        }
        assert!(!row.matches("kprobe"));
    }

    #[test]
    fn a_clock_that_goes_backwards_does_not_panic() {
        let mut store = Store::new();
        store.push_sample(sample(10, vec![program(1, 0, 0)]));
        let mut loaded = program(2, 0, 0);
        loaded.load_time_ns = 7_000_000_000;
        store.push_sample(sample(5, vec![program(1, 10, 1), loaded]));
        assert_eq!(store.rows().len(), 2);
        assert_eq!(store.markers().len(), 1);
    }

    #[test]
    fn only_the_newest_messages_are_kept() {
        let mut store = Store::new();
        for i in 0..(ERRORS_KEPT + 50) {
            store.push(SourceEvent::Error(format!("error {i}")));
        }
        assert_eq!(store.messages().len(), ERRORS_KEPT);
        assert_eq!(
            store.messages().last().map(|m| m.text.as_str()),
            Some("error 149")
        );
        assert_eq!(
            store.messages().next().map(|m| m.text.as_str()),
            Some("error 50")
        );
    }

    #[test]
    fn total_cpu_is_the_sum_over_programs() {
        let mut store = Store::new();
        store.push_sample(sample(1, vec![program(1, 0, 0), program(2, 0, 0)]));
        store.push_sample(sample(
            2,
            vec![program(1, 10_000_000, 1), program(2, 30_000_000, 1)],
        ));
        assert!((store.total_cpu_percent() - 4.0).abs() < 1e-9);
    }
}

mod aggregates {
    use super::super::*;
    use super::basics::sample;

    fn program(id: u32, load_s: u64, run_time_ns: u64, run_cnt: u64) -> ProgramSample {
        crate::test_support::program(id)
            .kind(if id.is_multiple_of(2) { 6 } else { 2 })
            .loaded_at(load_s * 1_000_000_000)
            .ran(run_cnt, run_time_ns)
            .build()
    }

    #[test]
    fn loads_and_unloads_between_samples_become_markers() {
        let mut store = Store::new();
        store.push_sample(sample(10, vec![program(1, 1, 0, 0)]));
        assert!(store.markers().is_empty(), "the first sample marks nothing");
        store.push_sample(sample(11, vec![program(1, 1, 0, 0), program(2, 10, 0, 0)]));
        store.push_sample(sample(12, vec![program(2, 10, 0, 0)]));
        let m: Vec<(u64, bool, u32)> = store
            .markers()
            .iter()
            .map(|m| (m.boottime_ns / 1_000_000_000, m.loaded, m.key.id))
            .collect();
        // Program 2's load time (10 s) is before the previous sample: the
        // marker goes to the earliest instant it can have happened at.
        assert_eq!(m, vec![(10, true, 2), (12, false, 1)]);
        assert_eq!(store.markers()[1].name, "p1");
        // The program that went away keeps its history.
        assert_eq!(
            store
                .history(ProgramKey {
                    id: 1,
                    load_time_ns: 1_000_000_000
                })
                .count(),
            1
        );
    }

    #[test]
    fn window_averages_weight_runtime_by_runs() {
        let mut store = Store::new();
        // Period 1: 10 runs of 100 ns; period 2: 30 runs of 500 ns.
        store.push_sample(sample(1, vec![program(1, 0, 0, 0)]));
        store.push_sample(sample(2, vec![program(1, 0, 1_000, 10)]));
        store.push_sample(sample(3, vec![program(1, 0, 16_000, 40)]));
        let a = store.window_averages(0)[&ProgramKey {
            id: 1,
            load_time_ns: 0,
        }];
        assert_eq!(a.points, 2);
        assert!((a.avg_runtime_ns - 400.0).abs() < 1e-3, "{a:?}");
        assert!((a.events_per_sec - 20.0).abs() < 1e-6);
        let only_last = store.window_averages(2_000_000_000)[&ProgramKey {
            id: 1,
            load_time_ns: 0,
        }];
        assert_eq!(only_last.points, 1);
        assert!((only_last.avg_runtime_ns - 500.0).abs() < 1e-3);
    }

    #[test]
    fn breakdown_bands_and_types_sum_to_the_total() {
        let mut store = Store::new();
        let rates = [5u64, 40, 1, 20, 3];
        for s in 0..4u64 {
            store.push_sample(sample(
                s,
                rates
                    .iter()
                    .enumerate()
                    .map(|(i, r)| program(i as u32 + 1, 0, s * r * 1_000_000, s * 10))
                    .collect(),
            ));
        }
        // After 0 s: the samples at 1, 2 and 3 s.
        let b = store.breakdown(0, 2, true);
        assert_eq!(b.times_ns.len(), 3);
        let labels: Vec<&str> = b.bands.iter().map(|band| band.label.as_str()).collect();
        assert_eq!(labels, ["p2 (#2)", "p4 (#4)", "other"]);
        for (t, total) in b.total.iter().enumerate() {
            let stacked: f64 = b.bands.iter().map(|band| band.values[t]).sum();
            assert!(
                (stacked - total).abs() < 1e-6,
                "at {t}: {stacked} vs {total}"
            );
        }
        let by_type: f64 = b.by_type.iter().map(|(_, cpu)| cpu).sum();
        assert!((by_type - store.total_cpu_percent()).abs() < 1e-9);
        assert_eq!(b.by_type[0].0, "xdp", "{:?}", b.by_type);
    }
}

mod pause {
    use super::super::*;
    use super::basics::sample;

    fn program(id: u32, runs: u64) -> ProgramSample {
        crate::test_support::program(id)
            .name("p")
            .ran(runs, runs * 100)
            .build()
    }

    #[test]
    fn every_reader_sees_the_frozen_moment_until_resume() {
        let mut store = Store::new();
        store.push_sample(sample(1, vec![program(1, 0), program(2, 0)]));
        store.push_sample(sample(2, vec![program(1, 10), program(2, 10)]));
        store.pause();
        let generation = store.generation();
        let key = store.rows()[1].key;
        store.push_sample(sample(3, vec![program(1, 40)]));
        store.push_sample(sample(4, vec![program(1, 80)]));
        assert_eq!(store.generation(), generation, "nothing shown changed");
        assert_eq!(store.sample_count(), 4, "sampling goes on");
        assert_eq!(store.latest_boottime_ns(), Some(2_000_000_000));
        assert!(store.rows().iter().all(|r| !r.gone));
        assert_eq!(store.history(store.rows()[0].key).count(), 1);
        assert!(store.markers().is_empty());
        assert_eq!(store.window_averages(0).len(), 2);
        assert_eq!(store.breakdown(0, 10, true).times_ns.len(), 2);
        assert!((store.total_cpu_percent() - 2e-4).abs() < 1e-12);
        // The live moment moved on underneath.
        assert_eq!(store.live().latest_boottime_ns(), Some(4_000_000_000));
        assert!(store.live().row(key).is_some_and(|r| r.gone));

        store.resume();
        assert!(store.generation() > generation);
        assert_eq!(store.latest_boottime_ns(), Some(4_000_000_000));
        assert_eq!(store.history(store.rows()[0].key).count(), 3);
        assert!(store.row(key).is_some_and(|r| r.gone));
    }

    #[test]
    fn clearing_gone_programs_while_paused_clears_both_moments() {
        let mut store = Store::new();
        store.push_sample(sample(1, vec![program(1, 0), program(2, 0)]));
        store.push_sample(sample(2, vec![program(1, 10)]));
        store.pause();
        store.push_sample(sample(3, vec![program(1, 20)]));
        store.clear_gone();
        assert_eq!(store.rows().len(), 1);
        assert_eq!(store.live().rows().len(), 1);
    }
}

mod churn {
    use super::super::*;
    use crate::test_support::{program, sample_at};

    /// Capacity held by every history buffer together, in points.
    fn history_capacity(moment: &Moment) -> usize {
        moment.entries.iter().map(|e| e.values.capacity()).sum()
    }

    #[test]
    fn an_hour_of_programs_replaced_every_second_keeps_only_the_retention_limit() {
        const PER_SAMPLE: u32 = 1_000;
        let mut store = Store::new();
        for s in 0..3_600u64 {
            let first = s as u32 * PER_SAMPLE;
            let programs = (first..first + PER_SAMPLE)
                .map(|id| {
                    program(id)
                        .loaded_at(s * 1_000_000_000)
                        .ran(s, s * 10)
                        .build()
                })
                .collect();
            store.push_sample(sample_at(s + 1, programs));
        }
        let live = store.live();
        assert_eq!(live.rows().iter().filter(|r| !r.gone).count(), 1_000);
        assert!(live.gone_count() <= GONE_KEPT, "{} gone", live.gone_count());
        assert!(live.entries.len() <= 1_000 + GONE_KEPT);
        assert!(store.markers().len() <= MARKERS_KEPT);
        // Each entry reserves at most one history of points.
        assert!(
            history_capacity(live) <= live.entries.len() * (HISTORY_AGE.as_secs() as usize + 2)
        );
        // The newest gone programs are the ones kept.
        let oldest_kept = live.rows().iter().map(|r| r.key.id).min().unwrap_or(0);
        assert!(oldest_kept >= 3_598 * PER_SAMPLE, "{oldest_kept}");
    }

    #[test]
    fn gone_programs_leave_once_their_history_has() {
        let mut store = Store::new();
        store.push_sample(sample_at(1, vec![program(1).build(), program(2).build()]));
        store.push_sample(sample_at(2, vec![program(1).build()]));
        assert_eq!(store.live().gone_count(), 1);
        let after = HISTORY_AGE.as_secs() + 3;
        for s in 3..=after {
            store.push_sample(sample_at(s, vec![program(1).build()]));
        }
        assert_eq!(store.live().gone_count(), 0);
        assert_eq!(store.rows().len(), 1);
    }

    #[test]
    fn the_gone_limit_is_a_setting() {
        let mut store = Store::new();
        store.push_sample(sample_at(
            1,
            (1..=10).map(|id| program(id).build()).collect(),
        ));
        store.push_sample(sample_at(2, vec![program(1).build()]));
        assert_eq!(store.live().gone_count(), 9);
        store.set_gone_limit(3);
        assert_eq!(store.live().gone_count(), 3);
        let ids: Vec<u32> = store.rows().iter().map(|r| r.key.id).collect();
        assert_eq!(ids.len(), 4);
    }
}

mod facts_ahead {
    use super::super::*;
    use crate::protocol::{Frame, FrameReader, encode, sample_frames};
    use crate::test_support::{program, sample_at};

    /// A sample too large for one frame goes as its facts first, then the
    /// sample (`protocol::sample_frames`): the store gives every listed
    /// program its facts.
    #[test]
    fn facts_sent_ahead_of_their_sample_join_it() {
        let mut big = sample_at(1, (0..50).map(|id| program(id).build()).collect());
        big.facts = (0..200)
            .map(|id| crate::model::ProgramFacts {
                id,
                load_time_ns: 0,
                full_name: Some(format!("a_long_function_name_{id:0>40}")),
                ..Default::default()
            })
            .collect();
        let frames = sample_frames(big, 4096).expect("splits");
        assert!(frames.len() > 2, "{} frames", frames.len());
        let hello = Frame::Hello(crate::protocol::Hello::now(crate::model::SourceInfo {
            stats_mode: crate::model::StatsMode::Syscall,
            enumeration: crate::model::Enumeration::Iterator,
            owners_available: true,
            kernel_release: "6.18.0".into(),
            online_cpus: 2,
            notices: Vec::new(),
            accounting: crate::model::AccountingCost::AlreadyOn,
        }));
        let mut stream = encode(&hello).expect("encodes");
        for frame in &frames {
            stream.extend(encode(frame).expect("encodes"));
        }
        let mut reader = FrameReader::new(&stream[..]);
        let mut store = Store::new();
        while let Some(frame) = reader.next_frame().expect("reads") {
            store.push(SourceEvent::from(frame));
        }
        let with_facts = store
            .rows()
            .iter()
            .filter(|r| r.text.facts.is_some())
            .count();
        assert_eq!(with_facts, 50, "every listed program got its facts");
    }
}
