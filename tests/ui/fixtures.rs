//! The samples, facts and links the window is fed, and the harness that feeds them.

pub use std::collections::HashMap;
pub use std::time::{Duration, SystemTime};

pub use bpfscope::app::BpfScopeApp;
pub use bpfscope::export::{CsvWriter, Described, rfc3339};
pub use bpfscope::model::metrics::program_metrics;
pub use bpfscope::model::{
    Catalog, LinkFacts, MapFacts, ProgramFacts, ProgramKey, ProgramSample, Sample,
};
pub use bpfscope::model::{Enumeration, SourceEvent, SourceInfo, StatsMode};
pub use bpfscope::source::Source;
pub use bpfscope::view::{Command, PlotWindow, Thresholds};
pub use bpfscope::view::{Grouping, SortColumn};
pub use crossbeam_channel::{Sender, bounded};
pub use eframe::egui;
pub use egui_kittest::Harness;
pub use egui_kittest::kittest::Queryable;

pub const START_NS: u64 = 1_000_000_000_000;

pub fn program(
    id: u32,
    prog_type: u32,
    name: &str,
    owner: &str,
    runs: u64,
    ns: u64,
) -> ProgramSample {
    bpfscope::test_support::program(id)
        .kind(prog_type)
        .name(name)
        .tag([1, 2, 3, 4, 5, 6, 7, 8])
        .loaded_at(5)
        .ran(runs, ns)
        .owner(1000 + id, owner)
        .build()
}

/// Sample `n` (seconds after the start): program 10 runs 100·k times a
/// second, program 20 10·k, program 30 once, where k grows with n.
pub fn sample(n: u64) -> Sample {
    let runs = |rate: u64| rate * n * (n + 1) / 2;
    Sample {
        taken_at: SystemTime::UNIX_EPOCH + Duration::from_secs(1_764_000_000 + n),
        boottime_ns: START_NS + n * 1_000_000_000,
        period: Duration::from_secs(1),
        // The first sample carries facts and links, as a real source's does.
        facts: if n == 0 { facts() } else { Vec::new() },
        links: (n == 0).then(links),
        // Owners read at the first sample and not since.
        owners_read_ns: Some(START_NS),
        pass_ns: 0,
        per_cpu: None,
        stats_on_ns: None,
        programs: vec![
            program(10, 6, "xdp_fw", "cilium-agent", runs(100), runs(100) * 50),
            program(20, 2, "trace_exec", "tetragon", runs(10), runs(10) * 400),
            program(30, 3, "tc_nat", "=evil", n, n * 1_000),
        ],
    }
}

/// Program 30's facts: a full BTF name longer than the kernel's, two maps.
pub fn facts() -> Vec<ProgramFacts> {
    vec![ProgramFacts {
        id: 30,
        load_time_ns: 5,
        full_name: Some("tc_nat_egress_handler".into()),
        uid: 0,
        gpl_compatible: true,
        jited: true,
        xlated_bytes: 4_096,
        jited_bytes: 2_345,
        verified_insns: 9_876,
        memlock_bytes: Some(8_192),
        btf_id: 77,
        maps: vec![
            MapFacts {
                id: 501,
                name: "nat_sessions".into(),
                map_type: "lru_hash".into(),
                key_size: 16,
                value_size: 32,
                max_entries: 65_536,
            },
            MapFacts {
                id: 502,
                name: "nat_stats".into(),
                map_type: "percpu_array".into(),
                key_size: 4,
                value_size: 8,
                max_entries: 4,
            },
        ],
    }]
}

pub fn links() -> Vec<LinkFacts> {
    vec![
        LinkFacts {
            prog_id: 10,
            id: 3,
            link_type: "xdp".into(),
            attach_type: None,
            target: "eth0".into(),
            via: bpfscope::model::AttachVia::Link,
        },
        LinkFacts {
            prog_id: 30,
            id: 4,
            link_type: "tcx".into(),
            attach_type: Some("tcx_egress".into()),
            target: "veth0 (netns blue)".into(),
            via: bpfscope::model::AttachVia::Link,
        },
    ]
}

pub fn hello() -> SourceEvent {
    SourceEvent::Hello(SourceInfo {
        stats_mode: StatsMode::Syscall,
        enumeration: Enumeration::Iterator,
        owners_available: true,
        kernel_release: "6.18.0-test".into(),
        online_cpus: 4,
        notices: Vec::new(),
        accounting: bpfscope::model::AccountingCost::Measured {
            without_ns: 12,
            with_ns: 40,
        },
    })
}

pub fn harness(samples: u64) -> (Harness<'static, BpfScopeApp>, Sender<SourceEvent>) {
    harness_of((0..samples).map(sample))
}

/// The window fed `samples` after the source's hello.
pub fn harness_of(
    samples: impl IntoIterator<Item = Sample>,
) -> (Harness<'static, BpfScopeApp>, Sender<SourceEvent>) {
    harness_at(samples, egui::vec2(1280.0, 800.0), 1.0)
}

/// [`harness_of`] with a window of `size` points at `scale` pixels a point.
pub fn harness_at(
    samples: impl IntoIterator<Item = Sample>,
    size: egui::Vec2,
    scale: f32,
) -> (Harness<'static, BpfScopeApp>, Sender<SourceEvent>) {
    window(samples, size, scale, None)
}

/// [`harness_of`] started with the settings in `storage`: a restart.
pub fn harness_stored(
    samples: impl IntoIterator<Item = Sample>,
    storage: MemoryStorage,
) -> (Harness<'static, BpfScopeApp>, Sender<SourceEvent>) {
    window(samples, egui::vec2(1280.0, 800.0), 1.0, Some(storage))
}

fn window(
    samples: impl IntoIterator<Item = Sample>,
    size: egui::Vec2,
    scale: f32,
    storage: Option<MemoryStorage>,
) -> (Harness<'static, BpfScopeApp>, Sender<SourceEvent>) {
    let (tx, rx) = bounded(64);
    let mut harness = Harness::builder()
        .with_size(size)
        .with_pixels_per_point(scale)
        .build_eframe(move |cc| {
            let storage = storage.as_ref().map(|s| s as &dyn eframe::Storage);
            BpfScopeApp::with_storage(cc, storage, None, move |_, _| Source::from_channel(rx))
        });
    tx.send(hello()).unwrap();
    for sample in samples {
        tx.send(SourceEvent::Sample(sample)).unwrap();
    }
    harness.run();
    (harness, tx)
}

pub fn ids(harness: &mut Harness<'_, BpfScopeApp>) -> Vec<u32> {
    harness.state_mut().visible_ids()
}

pub fn export_through_the_dialog(harness: &mut Harness<'_, BpfScopeApp>, path: &str) {
    harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::E);
    harness.run();
    harness.get_by_label("Path").focus();
    harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    harness.run();
    harness.get_by_label("Path").type_text(path);
    harness.run();
    harness.get_by_label("Save").click();
    harness.run();
}

/// Where the window's accessibility nodes of `role` are.
pub fn rects_of(
    harness: &Harness<'_, BpfScopeApp>,
    role: egui::accesskit::Role,
) -> Vec<egui::Rect> {
    use egui_kittest::kittest::NodeT;
    harness
        .root()
        .query_all(egui_kittest::kittest::by())
        .filter(|node| node.accesskit_node().role() == role)
        .filter_map(|node| node.accesskit_node().bounding_box())
        .map(|rect| {
            egui::Rect::from_min_max(
                egui::pos2(rect.x0 as f32, rect.y0 as f32),
                egui::pos2(rect.x1 as f32, rect.y1 as f32),
            )
        })
        .collect()
}

/// Samples with program 10 doubling its rate after `n = 4`, program 20
/// steady and program 30 leaving at `n = 6`; runs and run time are exact.
pub fn changing_sample(n: u64) -> Sample {
    let runs10 = if n <= 4 { 100 * n } else { 400 + 200 * (n - 4) };
    let mut programs = vec![
        program(10, 6, "xdp_fw", "cilium-agent", runs10, runs10 * 50),
        program(20, 2, "trace_exec", "tetragon", 10 * n, 10 * n * 400),
    ];
    if n < 6 {
        programs.push(program(30, 3, "tc_nat", "cilium-agent", n, n * 1_000));
    }
    Sample {
        taken_at: SystemTime::UNIX_EPOCH + Duration::from_secs(1_764_000_000 + n),
        boottime_ns: START_NS + n * 1_000_000_000,
        period: Duration::from_secs(1),
        facts: Vec::new(),
        links: None,
        owners_read_ns: None,
        pass_ns: 0,
        per_cpu: None,
        stats_on_ns: None,
        programs,
    }
}

/// Clip rectangles (each one a draw call) of the last frame's output.
pub fn draw_calls(harness: &Harness<'_, BpfScopeApp>) -> usize {
    let output = harness.output();
    harness
        .ctx
        .tessellate(output.shapes.clone(), output.pixels_per_point)
        .len()
}

#[derive(Default)]
pub struct MemoryStorage(pub HashMap<String, String>);

impl eframe::Storage for MemoryStorage {
    fn get_string(&self, key: &str) -> Option<String> {
        self.0.get(key).cloned()
    }
    fn set_string(&mut self, key: &str, value: String) {
        self.0.insert(key.to_owned(), value);
    }
    fn remove_string(&mut self, key: &str) {
        self.0.remove(key);
    }
    fn flush(&mut self) {}
}

/// Every text the last frame painted, with where.
pub fn painted_texts(harness: &Harness<'_, BpfScopeApp>) -> Vec<(String, egui::Rect)> {
    let mut out = Vec::new();
    for clipped in &harness.output().shapes {
        walk(&clipped.shape, &mut |shape| {
            if let egui::Shape::Text(text) = shape {
                out.push((text.galley.text().to_owned(), text.visual_bounding_rect()));
            }
        });
    }
    out
}

/// The points of every open path (plot lines) the last frame painted.
pub fn painted_paths(harness: &Harness<'_, BpfScopeApp>) -> Vec<Vec<egui::Pos2>> {
    let mut out = Vec::new();
    for clipped in &harness.output().shapes {
        walk(&clipped.shape, &mut |shape| {
            if let egui::Shape::Path(path) = shape
                && !path.closed
                && path.points.len() > 2
            {
                out.push(path.points.clone());
            }
        });
    }
    out
}

fn walk(shape: &egui::Shape, f: &mut dyn FnMut(&egui::Shape)) {
    if let egui::Shape::Vec(shapes) = shape {
        for shape in shapes {
            walk(shape, f);
        }
    } else {
        f(shape);
    }
}

/// The plots' frames, in drawing order (avg runtime, events/s, CPU): the
/// wide nodes without a role.
pub fn plot_frames(harness: &Harness<'_, BpfScopeApp>) -> Vec<egui::Rect> {
    let mut frames: Vec<egui::Rect> = rects_of(harness, egui::accesskit::Role::Unknown)
        .into_iter()
        .filter(|rect| rect.width() > 150.0 && rect.height() > 40.0)
        .collect();
    frames.sort_by(|a, b| {
        (a.top(), a.left())
            .partial_cmp(&(b.top(), b.left()))
            .unwrap()
    });
    frames
}
