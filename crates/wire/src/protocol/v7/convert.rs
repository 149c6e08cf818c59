//! Protocol 7 ↔ the model: from the model when a later protocol reuses a
//! protocol 7 type for writing, to the model when reading.

use std::sync::Arc;

use super::{
    AccountingCost, AttachVia, CpuDelta, Enumeration, LinkFacts, MapFacts, Name, Owner,
    PerCpuSample, ProgramCpus, ProgramFacts, ProgramSample, Sample, SourceInfo, StatsMode, model,
};

impl From<SourceInfo> for model::SourceInfo {
    fn from(w: SourceInfo) -> Self {
        Self {
            stats_mode: match w.stats_mode {
                StatsMode::Syscall => model::StatsMode::Syscall,
                StatsMode::Sysctl => model::StatsMode::Sysctl,
            },
            enumeration: match w.enumeration {
                Enumeration::Iterator => model::Enumeration::Iterator,
                Enumeration::Syscall => model::Enumeration::Syscall,
            },
            owners_available: w.owners_available,
            kernel_release: w.kernel_release,
            online_cpus: w.online_cpus,
            notices: w.notices,
            accounting: match w.accounting {
                AccountingCost::Measured {
                    without_ns,
                    with_ns,
                } => model::AccountingCost::Measured {
                    without_ns,
                    with_ns,
                },
                AccountingCost::AlreadyOn => model::AccountingCost::AlreadyOn,
                AccountingCost::NotMeasured(why) => model::AccountingCost::NotMeasured(why),
            },
        }
    }
}

impl From<&model::SourceInfo> for SourceInfo {
    fn from(m: &model::SourceInfo) -> Self {
        Self {
            stats_mode: match m.stats_mode {
                model::StatsMode::Syscall => StatsMode::Syscall,
                model::StatsMode::Sysctl => StatsMode::Sysctl,
            },
            enumeration: match m.enumeration {
                model::Enumeration::Iterator => Enumeration::Iterator,
                model::Enumeration::Syscall => Enumeration::Syscall,
            },
            owners_available: m.owners_available,
            kernel_release: m.kernel_release.clone(),
            online_cpus: m.online_cpus,
            notices: m.notices.clone(),
            accounting: match &m.accounting {
                model::AccountingCost::Measured {
                    without_ns,
                    with_ns,
                } => AccountingCost::Measured {
                    without_ns: *without_ns,
                    with_ns: *with_ns,
                },
                model::AccountingCost::AlreadyOn => AccountingCost::AlreadyOn,
                model::AccountingCost::NotMeasured(why) => AccountingCost::NotMeasured(why.clone()),
            },
        }
    }
}

impl From<Sample> for model::Sample {
    fn from(w: Sample) -> Self {
        Self {
            taken_at: w.taken_at,
            boottime_ns: w.boottime_ns,
            period: w.period,
            programs: w.programs.into_iter().map(Into::into).collect(),
            facts: w.facts.into_iter().map(Into::into).collect(),
            links: w
                .links
                .map(|links| links.into_iter().map(Into::into).collect()),
            owners_read_ns: w.owners_read_ns,
            pass_ns: w.pass_ns,
            per_cpu: w.per_cpu.map(Into::into),
            stats_on_ns: w.stats_on_ns,
        }
    }
}

impl From<&model::Sample> for Sample {
    fn from(m: &model::Sample) -> Self {
        Self {
            taken_at: m.taken_at,
            boottime_ns: m.boottime_ns,
            period: m.period,
            programs: m.programs.iter().map(Into::into).collect(),
            facts: m.facts.iter().map(Into::into).collect(),
            links: m
                .links
                .as_ref()
                .map(|links| links.iter().map(Into::into).collect()),
            owners_read_ns: m.owners_read_ns,
            pass_ns: m.pass_ns,
            per_cpu: m.per_cpu.as_ref().map(Into::into),
            stats_on_ns: m.stats_on_ns,
        }
    }
}

impl From<ProgramSample> for model::ProgramSample {
    fn from(w: ProgramSample) -> Self {
        let owners: Arc<[model::Owner]> = w
            .owners
            .into_iter()
            .map(|o| model::Owner {
                pid: o.pid,
                comm: o.comm.0,
            })
            .collect();
        Self {
            id: w.id,
            prog_type: w.prog_type,
            name: w.name.0,
            tag: w.tag,
            load_time_ns: w.load_time_ns,
            run_time_ns: w.run_time_ns,
            run_cnt: w.run_cnt,
            recursion_misses: w.recursion_misses,
            owners,
            own: w.own,
        }
    }
}

impl From<&model::ProgramSample> for ProgramSample {
    fn from(m: &model::ProgramSample) -> Self {
        Self {
            id: m.id,
            prog_type: m.prog_type,
            name: Name(m.name),
            tag: m.tag,
            load_time_ns: m.load_time_ns,
            run_time_ns: m.run_time_ns,
            run_cnt: m.run_cnt,
            recursion_misses: m.recursion_misses,
            owners: m
                .owners
                .iter()
                .map(|o| Owner {
                    pid: o.pid,
                    comm: Name(o.comm),
                })
                .collect(),
            own: m.own,
        }
    }
}

impl From<ProgramFacts> for model::ProgramFacts {
    fn from(w: ProgramFacts) -> Self {
        Self {
            id: w.id,
            load_time_ns: w.load_time_ns,
            full_name: w.full_name,
            uid: w.uid,
            gpl_compatible: w.gpl_compatible,
            jited: w.jited,
            xlated_bytes: w.xlated_bytes,
            jited_bytes: w.jited_bytes,
            verified_insns: w.verified_insns,
            memlock_bytes: w.memlock_bytes,
            btf_id: w.btf_id,
            maps: w
                .maps
                .into_iter()
                .map(|m| model::MapFacts {
                    id: m.id,
                    name: m.name,
                    map_type: m.map_type,
                    key_size: m.key_size,
                    value_size: m.value_size,
                    max_entries: m.max_entries,
                })
                .collect(),
        }
    }
}

impl From<&model::ProgramFacts> for ProgramFacts {
    fn from(m: &model::ProgramFacts) -> Self {
        Self {
            id: m.id,
            load_time_ns: m.load_time_ns,
            full_name: m.full_name.clone(),
            uid: m.uid,
            gpl_compatible: m.gpl_compatible,
            jited: m.jited,
            xlated_bytes: m.xlated_bytes,
            jited_bytes: m.jited_bytes,
            verified_insns: m.verified_insns,
            memlock_bytes: m.memlock_bytes,
            btf_id: m.btf_id,
            maps: m
                .maps
                .iter()
                .map(|map| MapFacts {
                    id: map.id,
                    name: map.name.clone(),
                    map_type: map.map_type.clone(),
                    key_size: map.key_size,
                    value_size: map.value_size,
                    max_entries: map.max_entries,
                })
                .collect(),
        }
    }
}

impl From<LinkFacts> for model::LinkFacts {
    fn from(w: LinkFacts) -> Self {
        Self {
            prog_id: w.prog_id,
            id: w.id,
            link_type: w.link_type,
            attach_type: w.attach_type,
            target: w.target,
            via: match w.via {
                AttachVia::Link => model::AttachVia::Link,
                AttachVia::PerfEvent { pid, fd } => model::AttachVia::PerfEvent { pid, fd },
                AttachVia::Xdp => model::AttachVia::Xdp,
                AttachVia::Tc => model::AttachVia::Tc,
                AttachVia::Cgroup => model::AttachVia::Cgroup,
                AttachVia::TailCall => model::AttachVia::TailCall,
                AttachVia::Freplace => model::AttachVia::Freplace,
            },
        }
    }
}

impl From<&model::LinkFacts> for LinkFacts {
    fn from(m: &model::LinkFacts) -> Self {
        Self {
            prog_id: m.prog_id,
            id: m.id,
            link_type: m.link_type.clone(),
            attach_type: m.attach_type.clone(),
            target: m.target.clone(),
            via: match m.via {
                model::AttachVia::Link => AttachVia::Link,
                model::AttachVia::PerfEvent { pid, fd } => AttachVia::PerfEvent { pid, fd },
                model::AttachVia::Xdp => AttachVia::Xdp,
                model::AttachVia::Tc => AttachVia::Tc,
                model::AttachVia::Cgroup => AttachVia::Cgroup,
                model::AttachVia::TailCall => AttachVia::TailCall,
                model::AttachVia::Freplace => AttachVia::Freplace,
            },
        }
    }
}

fn cpu_to_model(c: CpuDelta) -> model::CpuDelta {
    model::CpuDelta {
        cpu: c.cpu,
        run_cnt: c.run_cnt,
        run_time_ns: c.run_time_ns,
    }
}

fn cpu_from_model(c: &model::CpuDelta) -> CpuDelta {
    CpuDelta {
        cpu: c.cpu,
        run_cnt: c.run_cnt,
        run_time_ns: c.run_time_ns,
    }
}

impl From<PerCpuSample> for model::PerCpuSample {
    fn from(w: PerCpuSample) -> Self {
        Self {
            nr_cpus: w.nr_cpus,
            cpus: w.cpus.into_iter().map(cpu_to_model).collect(),
            programs: w
                .programs
                .into_iter()
                .map(|p| model::ProgramCpus {
                    id: p.id,
                    cpus: p.cpus.into_iter().map(cpu_to_model).collect(),
                })
                .collect(),
            floor_ppm: w.floor_ppm,
            programs_max: w.programs_max,
            left_out: w.left_out,
        }
    }
}

impl From<&model::PerCpuSample> for PerCpuSample {
    fn from(m: &model::PerCpuSample) -> Self {
        Self {
            nr_cpus: m.nr_cpus,
            cpus: m.cpus.iter().map(cpu_from_model).collect(),
            programs: m
                .programs
                .iter()
                .map(|p| ProgramCpus {
                    id: p.id,
                    cpus: p.cpus.iter().map(cpu_from_model).collect(),
                })
                .collect(),
            floor_ppm: m.floor_ppm,
            programs_max: m.programs_max,
            left_out: m.left_out,
        }
    }
}
