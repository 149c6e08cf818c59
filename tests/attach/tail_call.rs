//! A program only in a program array, and one in nothing.

#![allow(clippy::expect_used, clippy::unwrap_used)] // tests fail loudly by design

use std::ffi::CString;

use bpfscope::model::AttachVia;
use bpfscope::test_support::require_privilege;

use crate::{attachments, sampler, take};

#[test]
fn a_program_only_in_a_program_array_is_a_tail_call_target_and_one_in_none_is_not_attached() {
    let test =
        "a_program_only_in_a_program_array_is_a_tail_call_target_and_one_in_none_is_not_attached";
    if !require_privilege(test) {
        return;
    }
    let target = bpfscope::test_support::TestProgram::load("bpfscope_tail").unwrap();
    let alone = bpfscope::test_support::TestProgram::load("bpfscope_alone").unwrap();
    let name = CString::new("bpfscope_jmp").unwrap();
    // SAFETY: plain map creation; null options take the defaults.
    let map = unsafe {
        libbpf_sys::bpf_map_create(
            libbpf_sys::BPF_MAP_TYPE_PROG_ARRAY,
            name.as_ptr(),
            4,
            4,
            1,
            std::ptr::null(),
        )
    };
    assert!(map >= 0, "prog array: {}", std::io::Error::last_os_error());
    // SAFETY: the kernel just returned this fd and nothing else owns it.
    let map = unsafe { <std::os::fd::OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(map) };
    let key = 0u32;
    let value = u32::try_from(target.raw_fd()).unwrap();
    // SAFETY: key and value are 4-byte values alive for the call.
    let rc = unsafe {
        libbpf_sys::bpf_map_update_elem(
            std::os::fd::AsRawFd::as_raw_fd(&map),
            (&raw const key).cast(),
            (&raw const value).cast(),
            0,
        )
    };
    assert_eq!(rc, 0, "insert into the program array");

    let sample = take(&mut sampler());
    let found = attachments(&sample, target.id());
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0].via, AttachVia::TailCall);
    assert_eq!(
        bpfscope::model::attach_summary(&found),
        "tail call target in 1 program array"
    );
    assert_eq!(
        bpfscope::model::attach_summary(&attachments(&sample, alone.id())),
        "not attached"
    );
    drop(map);
}
