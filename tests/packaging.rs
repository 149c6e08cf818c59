//! The desktop integration files, checked by the tools distributions use.

#![allow(clippy::expect_used, clippy::unwrap_used)] // tests fail loudly by design

use std::path::{Path, PathBuf};
use std::process::Command;

use bpfscope::test_support::skip;
use bpfscope::{APP_ID, HELPER_INSTALL_PATH, POLKIT_ACTION};

fn file(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

fn read(relative: &str) -> String {
    std::fs::read_to_string(file(relative)).unwrap_or_else(|err| panic!("{relative}: {err}"))
}

/// Runs a validator; `None` (after skipping or failing under CI) if missing.
fn validate(test: &str, tool: &str, args: &[&str]) -> Option<std::process::Output> {
    let out = Command::new(tool).args(args).output().ok();
    if out.is_none() {
        let _ = skip(
            test,
            &format!("{tool} is not installed (scripts/setup installs it)"),
        );
    }
    out
}

#[test]
fn the_desktop_file_validates_and_matches_the_window() {
    let path = file(&format!("packaging/{APP_ID}.desktop"));
    if let Some(out) = validate(
        "desktop_file",
        "desktop-file-validate",
        &[path.to_str().unwrap()],
    ) {
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
    let text = read(&format!("packaging/{APP_ID}.desktop"));
    for line in [
        "Exec=bpfscope %f",
        "MimeType=application/x-bpfscope-recording;",
        &format!("Icon={APP_ID}"),
        &format!("StartupWMClass={APP_ID}"),
        "Categories=System;Monitor;",
    ] {
        assert!(text.lines().any(|l| l == line), "missing {line:?}");
    }
    for keyword in ["eBPF", "BPF", "performance"] {
        assert!(text.contains(&format!("{keyword};")), "keyword {keyword}");
    }
}

#[test]
fn recordings_are_known_by_their_extension_and_by_their_first_bytes() {
    let test = "recordings_mime_type";
    let dir = tempfile::tempdir().unwrap();
    let packages = dir.path().join("mime/packages");
    std::fs::create_dir_all(&packages).unwrap();
    std::fs::copy(
        file(&format!("packaging/{APP_ID}.mime.xml")),
        packages.join(format!("{APP_ID}.xml")),
    )
    .unwrap();
    let Some(out) = validate(
        test,
        "update-mime-database",
        &[dir.path().join("mime").to_str().unwrap()],
    ) else {
        return;
    };
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // A recording as bpfscope writes it: named .bpfscope, and renamed.
    let mut bytes = bpfscope::record::MAGIC.to_vec();
    bytes.extend_from_slice(&[1, 0, 0, 0, 0, 0, 0, 0]);
    let named = dir.path().join("session.bpfscope");
    let renamed = dir.path().join("session.dat");
    let other = dir.path().join("notes.dat");
    std::fs::write(&named, &bytes).unwrap();
    std::fs::write(&renamed, &bytes).unwrap();
    std::fs::write(&other, b"\x89PNG\r\n\x1a\n not a recording").unwrap();
    let data = format!("{}:/usr/share", dir.path().display());
    let kind = |path: &Path| {
        let out = Command::new("gio")
            .args(["info", "-a", "standard::content-type"])
            .arg(path)
            .env("XDG_DATA_HOME", dir.path())
            .env("XDG_DATA_DIRS", &data)
            .output()
            .ok()?;
        let info = String::from_utf8_lossy(&out.stdout).into_owned();
        Some(
            info.lines()
                .find_map(|l| l.trim().strip_prefix("standard::content-type: "))?
                .to_owned(),
        )
    };
    let Some(named_kind) = kind(&named) else {
        let _ = skip(test, "gio is not installed (scripts/setup installs it)");
        return;
    };
    assert_eq!(named_kind, "application/x-bpfscope-recording");
    assert_eq!(kind(&renamed).unwrap(), "application/x-bpfscope-recording");
    assert_ne!(kind(&other).unwrap(), "application/x-bpfscope-recording");
    let desktop = read(&format!("packaging/{APP_ID}.desktop"));
    assert!(desktop.contains("MimeType=application/x-bpfscope-recording;"));
}

#[test]
fn the_metainfo_validates() {
    let path = file(&format!("packaging/{APP_ID}.metainfo.xml"));
    if let Some(out) = validate(
        "metainfo",
        "appstreamcli",
        &["validate", "--no-net", path.to_str().unwrap()],
    ) {
        assert!(
            out.status.success(),
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let text = read(&format!("packaging/{APP_ID}.metainfo.xml"));
    assert!(text.contains(&format!("<id>{APP_ID}</id>")));
    assert!(text.contains(&format!(
        "<launchable type=\"desktop-id\">{APP_ID}.desktop</launchable>"
    )));
    assert!(
        file("docs/screenshot.png").exists(),
        "the screenshot it names"
    );
}

#[test]
fn the_polkit_policy_runs_only_the_helper_and_only_for_active_admins() {
    let path = file(&format!("packaging/{APP_ID}.policy"));
    if let Some(out) = validate("policy", "xmllint", &["--noout", path.to_str().unwrap()]) {
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let text = read(&format!("packaging/{APP_ID}.policy"));
    assert!(text.contains(&format!("<action id=\"{POLKIT_ACTION}\">")));
    assert!(text.contains(&format!(
        "<annotate key=\"org.freedesktop.policykit.exec.path\">{HELPER_INSTALL_PATH}</annotate>"
    )));
    assert!(text.contains("<allow_active>auth_admin_keep</allow_active>"));
    assert!(text.contains("<allow_inactive>no</allow_inactive>"));
    assert!(text.contains("<allow_any>no</allow_any>"));
}

#[test]
fn icons_exist_at_every_size_with_the_right_dimensions() {
    for size in [16u32, 24, 32, 48, 64, 128, 256, 512] {
        let relative = format!("icons/hicolor/{size}x{size}/apps/{APP_ID}.png");
        let png = std::fs::read(file(&relative)).unwrap_or_else(|err| panic!("{relative}: {err}"));
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "{relative} is a PNG");
        // IHDR: width and height, big-endian, at bytes 16..24.
        let width = u32::from_be_bytes(png[16..20].try_into().unwrap());
        let height = u32::from_be_bytes(png[20..24].try_into().unwrap());
        assert_eq!((width, height), (size, size), "{relative}");
    }
    assert!(read(&format!("icons/hicolor/scalable/apps/{APP_ID}.svg")).contains("<svg"));
    assert!(
        read(&format!(
            "icons/hicolor/symbolic/apps/{APP_ID}-symbolic.svg"
        ))
        .contains("<svg")
    );
}

#[test]
fn the_exporter_unit_verifies_and_is_hardened() {
    let test = "the_exporter_unit_verifies_and_is_hardened";
    let unit = file("packaging/bpfscope-exporter.service");
    let unit = unit.to_str().unwrap();
    let contents = read("packaging/bpfscope-exporter.service");
    // Installed disabled, on loopback, with the bounding set start-up needs.
    assert!(contents.contains("ExecStart=/usr/bin/bpfscope serve --listen 127.0.0.1:9436"));
    assert!(contents.contains(
        "CapabilityBoundingSet=CAP_SYS_ADMIN CAP_BPF CAP_PERFMON CAP_SETUID CAP_SETGID CAP_SETPCAP\n"
    ));
    let cargo = read("Cargo.toml");
    assert!(
        cargo.contains(
            r#"["packaging/bpfscope-exporter.service", "usr/lib/systemd/system/", "644"]"#
        )
    );
    if let Some(out) = validate(test, "systemd-analyze", &["verify", unit]) {
        assert!(
            out.status.success(),
            "systemd-analyze verify: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // systemd's own score, as the README quotes it: 4.2, "OK".
    if let Some(out) = validate(
        test,
        "systemd-analyze",
        &["security", "--offline=true", "--threshold=50", unit],
    ) {
        let said = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "exposure above 5.0: {said}");
        assert!(
            said.contains("Overall exposure level for bpfscope-exporter.service: 4.2 OK"),
            "{said}"
        );
    }
}

/// The crates `cargo` resolves for `package` as a normal (release)
/// dependency tree, by name.
fn normal_tree(package: &str) -> Vec<String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let out = Command::new(cargo)
        .args([
            "tree",
            "--offline",
            "-e",
            "normal",
            "--prefix",
            "none",
            "-p",
            package,
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter_map(|line| line.split_whitespace().next().map(str::to_owned))
        .collect()
}

/// What runs as root is read off the build: the helper's crate reaches no
/// GUI, TLS, HTTP, password, YAML or compression crate, and no test helper
/// is in a release build of any crate.
#[test]
fn the_root_side_links_only_the_kernel_side() {
    let kernel = normal_tree("bpfscope-kernel");
    assert!(kernel.iter().any(|name| name == "libbpf-rs"), "{kernel:?}");
    let forbidden = [
        "eframe",
        "egui",
        "winit",
        "wgpu",
        "glow",
        "rustls",
        "ureq",
        "bcrypt",
        "rfd",
        "gio",
        "serde_yaml_ng",
        "zstd",
        "hyper",
        "tokio",
        "polkit-rs",
        "prometheus-client",
        "bpfscope",
    ];
    for name in &kernel {
        assert!(
            !forbidden.contains(&name.as_str()),
            "the helper's crate reaches {name}: {kernel:?}"
        );
    }
    // The wire crate alone: no kernel either.
    let wire = normal_tree("bpfscope-wire");
    for name in ["libbpf-rs", "libbpf-sys", "caps", "eframe", "zstd"] {
        assert!(
            !wire.iter().any(|n| n == name),
            "bpfscope-wire reaches {name}"
        );
    }
    // The helper is the kernel crate's binary, and test helpers are a
    // feature no default build turns on.
    let manifest = read("crates/kernel/Cargo.toml");
    assert!(
        manifest.contains("name = \"bpfscope-sampler\""),
        "{manifest}"
    );
    for crate_manifest in [
        "Cargo.toml",
        "crates/kernel/Cargo.toml",
        "crates/wire/Cargo.toml",
    ] {
        let text = read(crate_manifest);
        assert!(
            !text.contains("default = [\"test-support\""),
            "{crate_manifest} turns test-support on by default"
        );
    }
}
