//! Compiles the BPF programs in `src/bpf/` into objects embedded by the sampler.

use std::env;
use std::path::PathBuf;

use libbpf_cargo::SkeletonBuilder;

const PROGRAMS: &[&str] = &[
    "progs",
    "owners",
    "links",
    "facts",
    "cgroups",
    "attach_test",
    "net_test",
];

fn main() -> Result<(), String> {
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").ok_or("cargo did not set OUT_DIR")?);
    println!("cargo:rerun-if-changed=src/bpf/vmlinux.h");
    println!("cargo:rerun-if-changed=src/bpf/perf_target.h");
    for name in PROGRAMS {
        let source = format!("src/bpf/{name}.bpf.c");
        println!("cargo:rerun-if-changed={source}");
        SkeletonBuilder::new()
            .source(&source)
            .obj(out_dir.join(format!("{name}.bpf.o")))
            .clang_args(["-Isrc/bpf", "-Wall", "-Werror"])
            .build()
            .map_err(|err| format!("compiling {source} failed (is clang installed?): {err:#}"))?;
    }
    Ok(())
}
