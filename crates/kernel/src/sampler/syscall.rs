//! Program enumeration with one syscall round per program: the fallback where
//! the program iterator cannot load.

use std::io;
use std::mem;
use std::os::fd::{FromRawFd, OwnedFd};

use crate::model::ProgramSample;

/// Appends every loaded program to `out`.
///
/// A program that is unloaded while the pass runs is skipped. Unlike
/// `libbpf_rs::query::ProgInfoIter`, any other error (notably `EPERM`) is
/// returned: a permission problem must never look like "no programs".
pub fn enumerate(out: &mut Vec<ProgramSample>) -> io::Result<()> {
    let mut id = 0u32;
    loop {
        let mut next = 0u32;
        // SAFETY: `next` is a valid u32 the call writes to.
        let rc = unsafe { libbpf_sys::bpf_prog_get_next_id(id, &raw mut next) };
        if rc < 0 {
            return match -rc {
                libc::ENOENT => Ok(()),
                errno => Err(io::Error::from_raw_os_error(errno)),
            };
        }
        id = next;
        if let Some(program) = read_program(id)? {
            out.push(program);
        }
    }
}

/// One program's sample by id; `None` if it is gone.
pub fn read_program(id: u32) -> io::Result<Option<ProgramSample>> {
    // SAFETY: plain syscall wrapper; returns a new fd or a negative errno.
    let fd = unsafe { libbpf_sys::bpf_prog_get_fd_by_id(id) };
    if fd < 0 {
        return match -fd {
            libc::ENOENT => Ok(None),
            errno => Err(io::Error::from_raw_os_error(errno)),
        };
    }
    // SAFETY: the kernel just returned this fd and nothing else owns it; it is
    // closed when `fd` drops at the end of this function, so an unloaded
    // program is never kept alive between samples.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    let info = prog_info(&fd)?;
    let name: Vec<u8> = info.name.iter().map(|&c| c as u8).collect();
    Ok(Some(ProgramSample {
        id: info.id,
        prog_type: info.type_,
        name: crate::model::KernelName::from_c(&name),
        tag: info.tag,
        load_time_ns: info.load_time,
        run_time_ns: info.run_time_ns,
        run_cnt: info.run_cnt,
        recursion_misses: info.recursion_misses,
        owners: std::sync::Arc::default(),
        own: false,
    }))
}

/// `BPF_OBJ_GET_INFO_BY_FD` without any of the array fields.
pub fn prog_info(fd: &OwnedFd) -> io::Result<libbpf_sys::bpf_prog_info> {
    use std::os::fd::AsRawFd;
    // SAFETY: bpf_prog_info is a plain C struct for which all-zeroes is valid
    // (every array pointer null, every length zero).
    let mut info: libbpf_sys::bpf_prog_info = unsafe { mem::zeroed() };
    let mut len = mem::size_of::<libbpf_sys::bpf_prog_info>() as u32;
    // SAFETY: `info` is writable for `len` bytes and asks for no arrays.
    let rc =
        unsafe { libbpf_sys::bpf_prog_get_info_by_fd(fd.as_raw_fd(), &raw mut info, &raw mut len) };
    if rc < 0 {
        return Err(io::Error::from_raw_os_error(-rc));
    }
    Ok(info)
}
