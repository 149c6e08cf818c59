//! Where program facts come from: the facts iterators, or the syscall path
//! where they cannot load.

use std::collections::HashMap;
use std::io;

use super::{facts, facts_iter};
use crate::model::ProgramFacts;

/// Where program facts come from.
#[derive(Debug)]
pub(super) enum FactsSource {
    /// `src/bpf/facts.bpf.c`: nothing opened, no CAP_SYS_ADMIN.
    Iter(facts_iter::FactsIter),
    /// Each program and map opened by id.
    Syscall(facts::FactsReader),
}

impl FactsSource {
    pub(super) fn load(by_syscall: bool, notices: &mut Vec<String>) -> Self {
        if by_syscall {
            return Self::Syscall(facts::FactsReader::new());
        }
        match facts_iter::FactsIter::load() {
            Ok(it) => Self::Iter(it),
            Err(err) => {
                notices.push(format!(
                    "the facts iterators could not load ({err}): program facts are read by \
                     syscall, which keeps CAP_SYS_ADMIN"
                ));
                Self::Syscall(facts::FactsReader::new())
            }
        }
    }

    /// Facts of `wanted` (sorted ids) that are still loaded; the first
    /// error met, if any, with what was read before it.
    pub(super) fn read(
        &mut self,
        wanted: &[u32],
    ) -> (HashMap<u32, ProgramFacts>, Option<io::Error>) {
        match self {
            Self::Iter(it) => match it.read(wanted) {
                Ok(found) => (found, None),
                Err(err) => (HashMap::new(), Some(err)),
            },
            Self::Syscall(reader) => {
                let mut found = HashMap::new();
                let mut failed = None;
                for &id in wanted {
                    match reader.read(id) {
                        Ok(Some(facts)) => {
                            found.insert(id, facts);
                        }
                        Ok(None) => {}
                        Err(err) => failed = Some(err),
                    }
                }
                (found, failed)
            }
        }
    }
}
