//! A program's fixed facts: `BPF_OBJ_GET_INFO_BY_FD` with the map ids and the
//! first BTF function record, each map's info, the memlock line of the fd's
//! fdinfo and the full function name from the program's BTF.

use std::collections::HashMap;
use std::ffi::{CStr, c_char};
use std::io;
use std::mem;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::ptr::NonNull;

use crate::model::{MapFacts, ProgramFacts};

/// Map facts kept between passes (map ids are rarely reused; the cache is
/// dropped whole when it grows past this).
const MAP_CACHE_MAX: usize = 20_000;

/// Reads facts, keeping each map's facts for the programs that share it.
#[derive(Debug, Default)]
pub struct FactsReader {
    maps: HashMap<u32, MapFacts>,
}

/// A new fd from a `bpf_*_get_fd_by_id` return value; `None` for ENOENT (the
/// object went away).
pub(super) fn fd_from(rc: i32) -> io::Result<Option<OwnedFd>> {
    if rc < 0 {
        return match -rc {
            libc::ENOENT => Ok(None),
            errno => Err(io::Error::from_raw_os_error(errno)),
        };
    }
    // SAFETY: the kernel just returned this fd and nothing else owns it.
    Ok(Some(unsafe { OwnedFd::from_raw_fd(rc) }))
}

/// A NUL-terminated C string from libbpf, copied; `None` for null.
pub(super) fn c_string(ptr: *const c_char) -> Option<String> {
    if ptr.is_null() {
        return None;
    }
    // SAFETY: libbpf returns pointers to static NUL-terminated strings (or
    // strings inside a live BTF object, which the caller keeps alive).
    Some(
        unsafe { CStr::from_ptr(ptr) }
            .to_string_lossy()
            .into_owned(),
    )
}

/// `char name[16]` of a uapi info struct as text.
fn name_of(raw: &[c_char]) -> String {
    let bytes: Vec<u8> = raw
        .iter()
        .take_while(|&&c| c != 0)
        .map(|&c| c as u8)
        .collect();
    String::from_utf8_lossy(&bytes).into_owned()
}

impl FactsReader {
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// The facts of program `id`; `None` if it is gone.
    pub fn read(&mut self, id: u32) -> io::Result<Option<ProgramFacts>> {
        // SAFETY: plain syscall wrapper; returns a new fd or a negative errno.
        let Some(fd) = fd_from(unsafe { libbpf_sys::bpf_prog_get_fd_by_id(id) })? else {
            return Ok(None);
        };
        let first = super::syscall::prog_info(&fd)?;

        // Second call: the map ids and the first function record.
        let mut map_ids = vec![0u32; first.nr_map_ids as usize];
        let mut func = libbpf_sys::bpf_func_info::default();
        // SAFETY: all-zeroes is a valid bpf_prog_info (no arrays asked for).
        let mut info: libbpf_sys::bpf_prog_info = unsafe { mem::zeroed() };
        info.nr_map_ids = u32::try_from(map_ids.len()).unwrap_or(0);
        info.map_ids = map_ids.as_mut_ptr() as u64;
        if first.nr_func_info > 0 {
            info.nr_func_info = 1;
            info.func_info_rec_size = mem::size_of::<libbpf_sys::bpf_func_info>() as u32;
            info.func_info = (&raw mut func) as u64;
        }
        let mut len = mem::size_of::<libbpf_sys::bpf_prog_info>() as u32;
        // SAFETY: `info` is writable for `len` bytes; the kernel writes at
        // most `nr_map_ids` u32s to `map_ids` and one record to `func`, both
        // alive until the call returns.
        let rc = unsafe {
            libbpf_sys::bpf_prog_get_info_by_fd(fd.as_raw_fd(), &raw mut info, &raw mut len)
        };
        if rc < 0 {
            return Err(io::Error::from_raw_os_error(-rc));
        }
        // A map added between the calls is not copied: keep what was.
        map_ids.truncate((info.nr_map_ids as usize).min(map_ids.len()));

        let full_name = if first.btf_id != 0 && first.nr_func_info > 0 {
            Btf::by_id(first.btf_id, None).and_then(|btf| btf.type_name(func.type_id))
        } else {
            None
        };
        let maps = map_ids.iter().filter_map(|&m| self.map(m)).collect();
        Ok(Some(ProgramFacts {
            id: first.id,
            load_time_ns: first.load_time,
            full_name: full_name.filter(|n| !n.is_empty()),
            uid: first.created_by_uid,
            gpl_compatible: first.gpl_compatible() != 0,
            jited: first.jited_prog_len > 0,
            xlated_bytes: first.xlated_prog_len,
            jited_bytes: first.jited_prog_len,
            verified_insns: first.verified_insns,
            memlock_bytes: memlock(&fd),
            btf_id: first.btf_id,
            maps,
        }))
    }

    /// One map's facts, from the cache or the kernel; `None` if it is gone
    /// or unreadable (the program's other facts still count).
    fn map(&mut self, id: u32) -> Option<MapFacts> {
        if let Some(map) = self.maps.get(&id) {
            return Some(map.clone());
        }
        let map = read_map(id).ok().flatten()?;
        if self.maps.len() >= MAP_CACHE_MAX {
            self.maps.clear();
        }
        self.maps.insert(id, map.clone());
        Some(map)
    }
}

fn read_map(id: u32) -> io::Result<Option<MapFacts>> {
    // SAFETY: plain syscall wrapper; returns a new fd or a negative errno.
    let Some(fd) = fd_from(unsafe { libbpf_sys::bpf_map_get_fd_by_id(id) })? else {
        return Ok(None);
    };
    // SAFETY: all-zeroes is a valid bpf_map_info.
    let mut info: libbpf_sys::bpf_map_info = unsafe { mem::zeroed() };
    let mut len = mem::size_of::<libbpf_sys::bpf_map_info>() as u32;
    // SAFETY: `info` is writable for `len` bytes.
    let rc =
        unsafe { libbpf_sys::bpf_map_get_info_by_fd(fd.as_raw_fd(), &raw mut info, &raw mut len) };
    if rc < 0 {
        return Err(io::Error::from_raw_os_error(-rc));
    }
    // SAFETY: libbpf returns a static string or null for unknown types.
    let map_type = c_string(unsafe { libbpf_sys::libbpf_bpf_map_type_str(info.type_) })
        .unwrap_or_else(|| format!("type {}", info.type_));
    Ok(Some(MapFacts {
        id: info.id,
        name: name_of(&info.name),
        map_type,
        key_size: info.key_size,
        value_size: info.value_size,
        max_entries: info.max_entries,
    }))
}

/// The `memlock:` line of the fd's fdinfo.
fn memlock(fd: &OwnedFd) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/self/fdinfo/{}", fd.as_raw_fd())).ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix("memlock:"))
        .and_then(|v| v.trim().parse().ok())
}

/// A kernel BTF object loaded by id, freed on drop.
pub(super) struct Btf(NonNull<libbpf_sys::btf>);

impl Btf {
    /// Loads BTF object `id`; module BTF needs the kernel's as `base`.
    pub(super) fn by_id(id: u32, base: Option<&Btf>) -> Option<Self> {
        let ptr = match base {
            // SAFETY: `base` is a live BTF object that outlives the call
            // (libbpf keeps a pointer to it in the split object: callers drop
            // the split object first, as `resolve` in links.rs does).
            Some(base) => unsafe {
                libbpf_sys::btf__load_from_kernel_by_id_split(id, base.0.as_ptr())
            },
            // SAFETY: plain loader; returns a new object or null.
            None => unsafe { libbpf_sys::btf__load_from_kernel_by_id(id) },
        };
        NonNull::new(ptr).map(Self)
    }

    /// The kernel's own BTF (`/sys/kernel/btf/vmlinux`).
    pub(super) fn vmlinux() -> Option<Self> {
        // SAFETY: plain loader; returns a new object or null.
        NonNull::new(unsafe { libbpf_sys::btf__load_vmlinux_btf() }).map(Self)
    }

    /// The name of type `type_id`, if it has one.
    pub(super) fn type_name(&self, type_id: u32) -> Option<String> {
        // SAFETY: the object is live; an out-of-range id yields null.
        let ty = unsafe { libbpf_sys::btf__type_by_id(self.0.as_ptr(), type_id) };
        if ty.is_null() {
            return None;
        }
        // SAFETY: `ty` points at a type record inside the live object.
        let name_off = unsafe { (*ty).name_off };
        // SAFETY: as above; the name is copied before the object can drop.
        c_string(unsafe { libbpf_sys::btf__name_by_offset(self.0.as_ptr(), name_off) })
            .filter(|n| !n.is_empty())
    }
}

// SAFETY: a libbpf `btf` object is heap memory owned by this value alone,
// with no tie to the thread that loaded it; moving it to another thread (the
// sampler's) is sound. It is not `Sync`: nothing shares one between threads.
unsafe impl Send for Btf {}

impl Drop for Btf {
    fn drop(&mut self) {
        // SAFETY: the object came from a libbpf loader and is freed once.
        unsafe { libbpf_sys::btf__free(self.0.as_ptr()) }
    }
}
