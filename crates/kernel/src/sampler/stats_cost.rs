//! What watching costs: the time the kernel's accounting adds to every
//! program run while statistics are on, measured once at start-up.
//!
//! With statistics on, the kernel reads the clock before and after each run
//! and adds to the program's per-CPU counters. A trivial program (`r0 = 0;
//! exit`) is test-run with statistics off and on, in turns; the kernel times
//! each batch itself (`BPF_PROG_TEST_RUN`'s `duration`, the mean per run,
//! with preemption left out), and the medians' difference is the cost per
//! run.

use std::ffi::CStr;
use std::io;
use std::mem;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

use crate::model::AccountingCost;

const ROUNDS: usize = AccountingCost::ROUNDS;
const RUNS: u32 = AccountingCost::RUNS;

/// `r0 = 0; exit` as raw `struct bpf_insn`s.
#[derive(Debug)]
#[repr(C, align(8))]
pub struct Insns(pub [u8; 16]);

pub static RETURN_ZERO: Insns = Insns([
    0xb7, 0, 0, 0, 0, 0, 0, 0, // BPF_ALU64 | BPF_MOV | BPF_K: r0 = 0
    0x95, 0, 0, 0, 0, 0, 0, 0, // BPF_JMP | BPF_EXIT
]);

/// Loads two instructions as a program of `prog_type` named `name`.
pub fn load_program(prog_type: u32, name: &CStr, insns: &Insns) -> io::Result<OwnedFd> {
    let license = c"GPL";
    // SAFETY: bpf_prog_load_opts is a plain C struct; all-zeroes plus its
    // size is the documented "no options" value.
    let mut opts: libbpf_sys::bpf_prog_load_opts = unsafe { mem::zeroed() };
    opts.sz = mem::size_of::<libbpf_sys::bpf_prog_load_opts>() as _;
    // SAFETY: every pointer is valid for the call; the instructions are two
    // 8-byte bpf_insns with the required alignment.
    let fd = unsafe {
        libbpf_sys::bpf_prog_load(
            prog_type,
            name.as_ptr(),
            license.as_ptr(),
            std::ptr::from_ref(insns).cast::<libbpf_sys::bpf_insn>(),
            2,
            &raw mut opts,
        )
    };
    if fd < 0 {
        return Err(io::Error::from_raw_os_error(-fd));
    }
    // SAFETY: the kernel just returned this fd and nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Runs the program behind `fd` `repeat` times (at least once) on a dummy
/// 64-byte packet with `BPF_PROG_TEST_RUN`; the kernel's mean time a run,
/// in nanoseconds.
pub fn test_run(fd: BorrowedFd<'_>, repeat: u32) -> io::Result<u32> {
    let packet = [0u8; 64];
    // SAFETY: plain C struct; all-zeroes plus its size means defaults.
    let mut opts: libbpf_sys::bpf_test_run_opts = unsafe { mem::zeroed() };
    opts.sz = mem::size_of::<libbpf_sys::bpf_test_run_opts>() as _;
    opts.data_in = packet.as_ptr().cast();
    opts.data_size_in = packet.len() as u32;
    opts.repeat = i32::try_from(repeat).unwrap_or(i32::MAX);
    // SAFETY: `opts` points at `packet`, which outlives the call; no output
    // buffers are given.
    let rc = unsafe { libbpf_sys::bpf_prog_test_run_opts(fd.as_raw_fd(), &raw mut opts) };
    if rc < 0 {
        return Err(io::Error::from_raw_os_error(-rc));
    }
    Ok(opts.duration)
}

/// Measures the accounting cost; `enable` turns statistics on for as long
/// as what it returns lives. Call it before statistics are on.
pub fn measure(enable: impl Fn() -> io::Result<OwnedFd>) -> AccountingCost {
    match try_measure(enable) {
        Ok(cost) => cost,
        Err(err) => AccountingCost::NotMeasured(format!("the test program did not run: {err}")),
    }
}

fn try_measure(enable: impl Fn() -> io::Result<OwnedFd>) -> io::Result<AccountingCost> {
    let prog = load_program(
        libbpf_sys::BPF_PROG_TYPE_SOCKET_FILTER,
        c"bpfscope_cost",
        &RETURN_ZERO,
    )?;
    // A new program's runs are counted only if statistics are on already.
    test_run(std::os::fd::AsFd::as_fd(&prog), 1_000)?;
    if super::syscall::prog_info(&prog)?.run_cnt > 0 {
        return Ok(AccountingCost::AlreadyOn);
    }
    let (mut without, mut with) = (Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        without.push(test_run(std::os::fd::AsFd::as_fd(&prog), RUNS)?);
        let on = enable()?;
        with.push(test_run(std::os::fd::AsFd::as_fd(&prog), RUNS)?);
        drop(on);
    }
    Ok(AccountingCost::Measured {
        without_ns: median(&mut without),
        with_ns: median(&mut with),
    })
}

fn median(values: &mut [u32]) -> u32 {
    values.sort_unstable();
    values.get(values.len() / 2).copied().unwrap_or(0)
}
