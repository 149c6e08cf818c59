//! Compiles the BPF programs in `src/bpf/` into objects embedded by the sampler.

use std::env;
use std::path::PathBuf;

use libbpf_cargo::SkeletonBuilder;

const PROGRAMS: &[&str] = &["progs", "owners"];

fn main() {
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    println!("cargo:rerun-if-changed=src/bpf/vmlinux.h");
    for name in PROGRAMS {
        let source = format!("src/bpf/{name}.bpf.c");
        println!("cargo:rerun-if-changed={source}");
        SkeletonBuilder::new()
            .source(&source)
            .obj(out_dir.join(format!("{name}.bpf.o")))
            .clang_args(["-Isrc/bpf", "-Wall", "-Werror"])
            .build()
            .unwrap_or_else(|err| {
                panic!("compiling {source} failed (is clang installed?): {err:#}")
            });
    }
}
