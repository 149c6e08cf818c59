//! Programs' facts and maps through the iterators of `src/bpf/facts.bpf.c`:
//! what [`super::facts::FactsReader`] reads by opening each program and map
//! by id (CAP_SYS_ADMIN), read without opening anything.

use std::collections::HashMap;
use std::io;

use libbpf_rs::{Link, MapCore, MapFlags, Object};

use super::facts::c_string;
use super::iter::{self, c_text, u32_at, u64_at};
use crate::model::{MapFacts, ProgramFacts};

const OBJECT: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/facts.bpf.o"));
/// Size of `struct facts_record` in `facts.bpf.c`.
const FACTS_SIZE: usize = 432;
/// Size of `struct map_record`.
const MAP_SIZE: usize = 40;
/// `MAX_MAPS` in `facts.bpf.c`: the kernel's limit of maps per program.
const MAX_MAPS: usize = 64;
const MAPS_AT: usize = 48;
const NAME_AT: usize = MAPS_AT + MAX_MAPS * 4;
/// Map facts kept between passes at most (the cache is dropped whole when
/// it grows past this, as the syscall path's).
const MAP_CACHE_MAX: usize = 20_000;

/// The loaded facts and map iterators.
#[derive(Debug)]
pub struct FactsIter {
    // Drop order: the links before the object that owns the programs.
    facts: Link,
    maps: Link,
    object: Object,
    page_size: u64,
    map_cache: HashMap<u32, MapFacts>,
    buf: Vec<u8>,
}

impl FactsIter {
    pub fn load() -> io::Result<Self> {
        let (object, links) = iter::load_iterators(OBJECT, &["dump_facts", "dump_map"])?;
        let mut links = links.into_iter();
        let (Some(facts), Some(maps)) = (links.next(), links.next()) else {
            return Err(io::Error::other("the facts iterators did not attach"));
        };
        // SAFETY: sysconf has no preconditions.
        let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
        Ok(Self {
            facts,
            maps,
            object,
            page_size: u64::try_from(page).unwrap_or(4096),
            map_cache: HashMap::new(),
            buf: Vec::new(),
        })
    }

    /// The kernel ids of the iterator programs.
    pub fn prog_ids(&self) -> Vec<u32> {
        iter::object_prog_ids(&self.object)
    }

    /// Reads both iterators once, keeping nothing but the map cache (see
    /// `Sampler::check_reads`).
    pub fn check_reads(&mut self) -> io::Result<()> {
        self.read(&[u32::MAX])?;
        self.read_maps()
    }

    /// Facts of the programs in `wanted` (ids, sorted) that are still
    /// loaded. One pass of the iterator writes records only from the lowest
    /// wanted id up.
    pub fn read(&mut self, wanted: &[u32]) -> io::Result<HashMap<u32, ProgramFacts>> {
        let Some(&from) = wanted.first() else {
            return Ok(HashMap::new());
        };
        let map = self
            .object
            .maps()
            .find(|m| m.name() == "wanted")
            .ok_or_else(|| io::Error::other("the facts iterator has no `wanted` map"))?;
        map.update(&0u32.to_ne_bytes(), &from.to_ne_bytes(), MapFlags::ANY)
            .map_err(iter::to_io)?;
        iter::read_all(&self.facts, &mut self.buf)?;
        let mut raw = Vec::new();
        for rec in iter::records(&self.buf, FACTS_SIZE, "facts")? {
            let id = u32_at(rec, 0);
            if wanted.binary_search(&id).is_ok() {
                raw.push(rec.to_vec());
            }
        }
        let missing_map = raw
            .iter()
            .flat_map(|rec| map_ids(rec))
            .any(|id| !self.map_cache.contains_key(&id));
        if missing_map {
            self.read_maps()?;
        }
        Ok(raw
            .iter()
            .map(|rec| {
                let facts = self.decode(rec);
                (facts.id, facts)
            })
            .collect())
    }

    /// Every map into the cache.
    fn read_maps(&mut self) -> io::Result<()> {
        iter::read_all(&self.maps, &mut self.buf)?;
        if self.map_cache.len() >= MAP_CACHE_MAX {
            self.map_cache.clear();
        }
        for rec in iter::records(&self.buf, MAP_SIZE, "map")? {
            let map_type = u32_at(rec, 4);
            // SAFETY: libbpf returns a static string or null for unknown types.
            let type_name = c_string(unsafe { libbpf_sys::libbpf_bpf_map_type_str(map_type) })
                .unwrap_or_else(|| format!("type {map_type}"));
            let map = MapFacts {
                id: u32_at(rec, 0),
                name: c_text(&rec[24..40]),
                map_type: type_name,
                key_size: u32_at(rec, 8),
                value_size: u32_at(rec, 12),
                max_entries: u32_at(rec, 16),
            };
            self.map_cache.insert(map.id, map);
        }
        Ok(())
    }

    fn decode(&self, rec: &[u8]) -> ProgramFacts {
        let flags = u32_at(rec, 16);
        let has_name = u32_at(rec, 44) != 0;
        ProgramFacts {
            id: u32_at(rec, 0),
            load_time_ns: u64_at(rec, 8),
            full_name: has_name
                .then(|| c_text(&rec[NAME_AT..NAME_AT + 128]))
                .filter(|n| !n.is_empty()),
            uid: u32_at(rec, 4),
            gpl_compatible: flags & 1 != 0,
            jited: flags & 2 != 0 && u32_at(rec, 24) > 0,
            xlated_bytes: u32_at(rec, 20),
            jited_bytes: u32_at(rec, 24),
            verified_insns: u32_at(rec, 28),
            memlock_bytes: Some(u64::from(u32_at(rec, 32)) * self.page_size),
            btf_id: u32_at(rec, 36),
            maps: map_ids(rec)
                .filter_map(|id| self.map_cache.get(&id).cloned())
                .collect(),
        }
    }
}

/// The map ids of a facts record, as many as it holds.
fn map_ids(rec: &[u8]) -> impl Iterator<Item = u32> + '_ {
    let count = (u32_at(rec, 40) as usize).min(MAX_MAPS);
    (0..count).map(move |i| u32_at(rec, MAPS_AT + i * 4))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_layout_fits_the_record() {
        assert_eq!(NAME_AT + 128, FACTS_SIZE);
    }

    #[test]
    fn a_record_claiming_more_maps_than_it_holds_reads_only_those_it_holds() {
        let mut rec = vec![0u8; FACTS_SIZE];
        rec[40..44].copy_from_slice(&1_000u32.to_ne_bytes());
        assert_eq!(map_ids(&rec).count(), MAX_MAPS);
    }
}
