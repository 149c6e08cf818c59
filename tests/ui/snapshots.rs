//! Pictures of the window kept under `tests/snapshots/` and compared with a
//! tolerance, so that a change that breaks the look is seen: the main window
//! with two programs plotted and the details pane open, in the dark and the
//! light theme and at 2× scale, and the breakdown. Rendered by wgpu on the
//! CPU (Mesa's lavapipe, which `scripts/setup` installs).
//!
//! After a change meant to alter the look, `UPDATE_SNAPSHOTS=1 cargo nextest
//! run --test ui snapshots` writes new pictures; look at them before
//! committing them.

use egui_kittest::SnapshotOptions;

use crate::fixtures::*;

/// Sample `n`: three user programs (`tc_nat` unloaded after `n = 5`, so it
/// shows greyed as gone) and two of bpfscope's own.
fn scene(n: u64) -> Sample {
    let mut sample = changing_sample(n);
    for (id, name) in [(90, "dump_prog"), (91, "dump_owner")] {
        sample.programs.push(
            bpfscope::test_support::program(id)
                .kind(26)
                .name(name)
                .loaded_at(5)
                .ran(n, 20_000 * n)
                .own(true)
                .owner(4242, "bpfscope-sampl")
                .build(),
        );
    }
    // Owners no process on any machine has (above the largest pid_max), so
    // the details pane reads no command line from this machine's /proc.
    for program in &mut sample.programs {
        let owners: Vec<bpfscope::model::Owner> = program
            .owners
            .iter()
            .map(|owner| bpfscope::model::Owner {
                pid: 0x7fff_0000 + program.id,
                comm: owner.comm,
            })
            .collect();
        program.owners = owners.into();
    }
    if n == 0 {
        sample.facts = facts();
        sample.links = Some(links());
        sample.owners_read_ns = Some(START_NS);
    }
    sample
}

/// The window at `size` and `scale` in `theme`, `xdp_fw` and `trace_exec`
/// plotted, compared with `tests/snapshots/{name}.png`.
fn compare(name: &str, theme: egui::Theme, size: egui::Vec2, scale: f32, breakdown: bool) {
    let (mut harness, _tx) = harness_at((0..10).map(scene), size, scale);
    harness.ctx.set_theme(theme);
    harness.run();
    if breakdown {
        harness.get_by_label("Where BPF time goes").click();
    } else {
        harness.get_by_label("xdp_fw").click();
        harness.run();
        harness
            .get_by_label("trace_exec")
            .click_modifiers(egui::Modifiers::COMMAND);
    }
    harness.run();
    harness.remove_cursor();
    harness.run();
    // The sample's age is wall-clock time since the fixture's 2025 sample,
    // and the load time is shown in the machine's time zone.
    let age = harness.get_by_label_contains("sample ").rect();
    harness.mask(age.expand(2.0));
    if let Some(loaded) = harness.query_by_label("Loaded at") {
        let row = loaded.rect();
        harness.mask(egui::Rect::from_min_max(
            egui::pos2(row.right() + 4.0, row.top()),
            egui::pos2(row.right() + 260.0, row.bottom()),
        ));
    }
    let options = SnapshotOptions::new()
        .threshold(0.6)
        // Text anti-aliasing may differ by a few pixels between Mesa builds;
        // a changed layout, colour or label changes thousands.
        .max_failed_pixels(400);
    // The window clears its frame to the panel colour and paints no
    // central background of its own (see `App::clear_color`); the test
    // renderer clears to transparent, so the same is done here.
    let panel = match theme {
        egui::Theme::Dark => egui::Visuals::dark(),
        egui::Theme::Light => egui::Visuals::light(),
    }
    .panel_fill;
    // Without a wgpu adapter (no lavapipe) the renderer panics: a skip
    // with the reason, a failure under CI=true.
    let mut image =
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| harness.render())) {
            Ok(Ok(image)) => image,
            Ok(Err(err)) => {
                let _ = bpfscope::test_support::skip(name, &format!("cannot render: {err}"));
                return;
            }
            // Only a renderer that could not start is a skip; any other
            // panic is a failure.
            Err(panic) if renderer_missing(&*panic) => {
                let _ = bpfscope::test_support::skip(
                    name,
                    "no wgpu adapter to render with (scripts/setup installs Mesa's lavapipe, \
                     mesa-vulkan-drivers)",
                );
                return;
            }
            Err(panic) => std::panic::resume_unwind(panic),
        };
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
    egui_kittest::image_snapshot_options(&image, name, &options);
}

#[test]
fn the_main_window_in_the_dark_theme() {
    compare(
        "main_dark",
        egui::Theme::Dark,
        egui::vec2(1280.0, 800.0),
        1.0,
        false,
    );
}

#[test]
fn the_main_window_in_the_light_theme() {
    compare(
        "main_light",
        egui::Theme::Light,
        egui::vec2(1280.0, 800.0),
        1.0,
        false,
    );
}

#[test]
fn the_main_window_at_twice_the_scale() {
    compare(
        "main_dark_2x",
        egui::Theme::Dark,
        egui::vec2(1100.0, 700.0),
        2.0,
        false,
    );
}

#[test]
fn where_bpf_time_goes_in_the_light_theme() {
    compare(
        "breakdown_light",
        egui::Theme::Light,
        egui::vec2(1280.0, 800.0),
        1.0,
        true,
    );
}

/// Whether a panic of the renderer says it found no device to draw with.
fn renderer_missing(panic: &(dyn std::any::Any + Send)) -> bool {
    let message = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("");
    message.contains("render state") || message.contains("adapter")
}
