//! The fleet view in the real window (egui_kittest), connected through
//! File → Connect to Prometheus… to a real Prometheus scraping two real
//! exporters; and what it says when Prometheus is not there.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bpfscope::app::BpfScopeApp;
use bpfscope::source::Source;
use bpfscope::test_support::{TestProgram, TestProgramType};
use eframe::egui;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;

use crate::fleet::fleet;
use crate::prometheus::start_prometheus_with;
use crate::{free_port, ready};

/// The window, with a source that never says anything: only the fleet
/// view is under test.
fn window() -> Harness<'static, BpfScopeApp> {
    let (_tx, rx) = crossbeam_channel::bounded(1);
    let mut harness = Harness::builder()
        .with_size(egui::vec2(1280.0, 800.0))
        .build_eframe(move |cc| {
            BpfScopeApp::with_storage(cc, None, None, move |_, _| Source::from_channel(rx))
        });
    harness.run_steps(2);
    harness
}

/// File → Connect to Prometheus…, the URL typed, Connect.
fn connect(harness: &mut Harness<'_, BpfScopeApp>, url: &str) {
    harness.get_by_label("File").click();
    harness.run();
    // The menu's item (the fleet view may offer a button of its own).
    harness
        .get_all_by_label("Connect to Prometheus…")
        .next()
        .unwrap()
        .click();
    harness.run();
    harness.get_by_label("URL").focus();
    harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    harness.run_steps(1);
    harness.get_by_label("URL").type_text(url);
    harness.run_steps(1);
    harness.get_by_label("Connect").click();
    harness.run_steps(2);
}

/// Steps the window until `done`, for at most `within`.
fn until(
    harness: &mut Harness<'_, BpfScopeApp>,
    within: Duration,
    what: &str,
    done: impl Fn(&Harness<'_, BpfScopeApp>) -> bool,
) {
    let start = Instant::now();
    while !done(harness) {
        assert!(start.elapsed() < within, "{what}: not after {within:?}");
        std::thread::sleep(Duration::from_millis(100));
        harness.run_steps(1);
    }
}

/// Where a host's row is (its name is also in the plot's legend, lower).
fn top_of(harness: &Harness<'_, BpfScopeApp>, label: &str) -> f32 {
    harness
        .get_all_by_label(label)
        .map(|n| n.rect().top())
        .fold(f32::INFINITY, f32::min)
}

#[test]
fn the_fleet_view_lists_sorts_and_filters_the_hosts_and_shows_a_hosts_programs() {
    let test = "the_fleet_view_lists_sorts_and_filters_the_hosts_and_shows_a_hosts_programs";
    if !ready(test) {
        return;
    }
    let prog = Arc::new(TestProgram::load_typed("fleet_window", TestProgramType::Xdp).unwrap());
    let id = prog.id().to_string();
    let fleet = fleet(&prog);
    let mut harness = window();
    connect(&mut harness, &format!("http://{}", fleet.prometheus));
    let mut hosts: Vec<String> = fleet.hosts.iter().map(ToString::to_string).collect();
    hosts.sort();
    until(
        &mut harness,
        Duration::from_secs(60),
        "both hosts with the program",
        |h| {
            h.state().fleet().data.as_ref().is_some_and(|d| {
                d.hosts.len() == 2
                    && d.hosts
                        .iter()
                        .all(|host| host.top.iter().any(|p| p.id == id))
            })
        },
    );
    harness.run_steps(2);
    assert!(
        harness.query_by_label_contains("· 2 hosts").is_some(),
        "the header counts the hosts"
    );

    // Sorted by host name, A first, then the other way round.
    harness.get_by_label_contains("Host").click();
    harness.run_steps(2);
    assert!(top_of(&harness, &hosts[0]) < top_of(&harness, &hosts[1]));
    harness.get_by_label_contains("Host ⏶").click();
    harness.run_steps(2);
    assert!(top_of(&harness, &hosts[0]) > top_of(&harness, &hosts[1]));

    // A picture for the docs (target/e2e/fleet.png), with a host's programs.
    harness.get_all_by_label(&hosts[0]).next().unwrap().click();
    harness.run_steps(3);
    picture(&mut harness, "fleet");

    // Filtered to one host by its port.
    let port = hosts[1].rsplit(':').next().unwrap().to_owned();
    harness.get_by_label("Filter hosts").focus();
    harness.get_by_label("Filter hosts").type_text(&port);
    harness.run_steps(2);
    assert!(harness.query_by_label(&hosts[0]).is_none(), "filtered out");
    harness.get_all_by_label(&hosts[1]).next().unwrap().click();
    harness.run_steps(2);
    assert!(
        harness
            .query_by_label(&format!("Top programs of {}", hosts[1]))
            .is_some()
    );
    assert!(
        harness.query_by_label("fleet_window").is_some(),
        "the driven program is listed"
    );
    assert_eq!(
        harness.state().fleet().cursor.as_deref(),
        Some(hosts[1].as_str())
    );

    // Disconnected: the view says so and offers to connect again.
    harness.get_by_label("Disconnect").click();
    harness.run_steps(2);
    assert!(
        harness
            .query_by_label("Not connected to Prometheus.")
            .is_some()
    );
}

#[test]
fn the_fleet_view_says_when_prometheus_is_unreachable_or_has_no_bpfscope_hosts() {
    let test = "the_fleet_view_says_when_prometheus_is_unreachable_or_has_no_bpfscope_hosts";
    if !ready(test) {
        return;
    }
    let mut harness = window();
    // A URL that is not one: said in the dialog, which stays open.
    connect(&mut harness, "prometheus:9090");
    assert!(
        harness
            .query_by_label_contains("is not a Prometheus URL")
            .is_some()
    );
    harness.get_by_label("Cancel").click();
    harness.run_steps(2);

    let nothing: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    connect(&mut harness, &format!("http://{nothing}"));
    // Asking does not hold up the window: it draws while it waits.
    until(
        &mut harness,
        Duration::from_secs(15),
        "the problem shown",
        |h| h.query_by_label_contains("⚠ cannot reach").is_some(),
    );
    harness.get_by_label("Disconnect").click();
    harness.run_steps(2);

    let dir = tempfile::tempdir().unwrap();
    let (_empty, at) = start_prometheus_with(dir.path(), "  []\n");
    connect(&mut harness, &format!("http://{at}"));
    until(
        &mut harness,
        Duration::from_secs(15),
        "the empty fleet said",
        |h| {
            h.query_by_label_contains("has no bpfscope metrics")
                .is_some()
        },
    );
}

/// The window as a PNG under target/e2e, on the panel's colour (the test
/// renderer clears to transparent); nothing is compared.
fn picture(harness: &mut Harness<'_, BpfScopeApp>, name: &str) {
    let Ok(mut image) = harness.render() else {
        return;
    };
    let panel = egui::Visuals::dark().panel_fill;
    for pixel in image.pixels_mut() {
        let [r, g, b, a] = pixel.0;
        let under = 255 - u16::from(a);
        let over = |src: u8, bg: u8| (u16::from(src) + u16::from(bg) * under / 255).min(255) as u8;
        pixel.0 = [
            over(r, panel.r()),
            over(g, panel.g()),
            over(b, panel.b()),
            255,
        ];
    }
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/e2e");
    let _ = std::fs::create_dir_all(&dir);
    let _ = image.save(dir.join(format!("{name}.png")));
}
