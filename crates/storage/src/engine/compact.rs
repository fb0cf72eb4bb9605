//! Compaction: merge files of one measurement into one, applying the
//! convergence rule (streamed through [`crate::merge::Merger`]; memory is a
//! read batch per input plus the output row group).
//!
//! Plan: files are tiered by level (flushes write level 0). When a
//! measurement has `compaction_min_files` files at a level below
//! `compaction_max_level`, they are merged into one file a level up. A cold
//! shard (or an explicit `Engine::compact`) merges every measurement with
//! more than one file into a single file, and rewrites a lone file below
//! the top level or without tag columns, so that what stays on disk is
//! compressed and has every column.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use tandem_model::Version;

use super::Inner;
use super::flush::{field_columns, remove_logged};
use super::shard::{Shard, lock};
use crate::manifest::FileMeta;
use crate::merge::{Merger, RowSource, TimeRange, Winner};
use crate::parquet_io::reader::{FileRows, read_layout};
use crate::parquet_io::schema::FileLayout;
use crate::parquet_io::writer::MeasurementWriter;
use crate::{StorageConfig, StorageError, fsutil};

#[derive(Debug, PartialEq, Eq)]
struct Plan {
    measurement: String,
    inputs: Vec<FileMeta>,
    level: u32,
}

fn plan(files: &[FileMeta], cfg: &StorageConfig, full: bool) -> Option<Plan> {
    let mut by_meas: BTreeMap<&str, Vec<&FileMeta>> = BTreeMap::new();
    for f in files {
        by_meas.entry(&f.measurement).or_default().push(f);
    }
    // Oldest (lowest id) first: neighbours in write order usually hold
    // neighbouring times, and every file is merged eventually.
    let oldest = |mut list: Vec<&FileMeta>| -> Vec<FileMeta> {
        list.sort_by_key(|f| f.id);
        list.into_iter().take(cfg.compaction_max_files).cloned().collect()
    };
    for (meas, list) in &by_meas {
        for level in 0..cfg.compaction_max_level {
            let at: Vec<&FileMeta> = list.iter().copied().filter(|f| f.level == level).collect();
            if at.len() >= cfg.compaction_min_files {
                return Some(Plan {
                    measurement: (*meas).to_owned(),
                    inputs: oldest(at),
                    level: level + 1,
                });
            }
        }
    }
    if full {
        for (meas, list) in &by_meas {
            // A lone file below the top level or without tag columns is
            // rewritten too: a cold shard's files are what readers of plain
            // Parquet see, and a flushed file is uncompressed.
            let lone = &list[0];
            if list.len() > 1 || !lone.tag_columns || lone.level < cfg.compaction_max_level {
                let level = list
                    .iter()
                    .map(|f| f.level)
                    .max()
                    .unwrap_or(0)
                    .max(cfg.compaction_max_level);
                // More files than one merge may read: merge them in rounds
                // (the output is the newest file, so it joins the last one).
                return Some(Plan {
                    measurement: (*meas).to_owned(),
                    inputs: oldest(list.clone()),
                    level,
                });
            }
        }
    }
    None
}

impl Inner {
    /// Compacts until the plan finds nothing more to do. In the background
    /// (`background`) it does one merge and queues the shard again if more
    /// is planned, so shards take turns, and stops when the engine stops.
    pub(super) fn compact_shard(
        &self,
        shard: &Arc<Shard>,
        full: bool,
        background: bool,
    ) -> Result<(), StorageError> {
        let _serial = lock(&shard.compact_lock);
        loop {
            // Shutdown waits for this thread: stop between merges.
            if lock(&shard.state).deleted || (background && self.stopping()) {
                return Ok(());
            }
            let p = plan(&lock(&shard.manifest).files, &self.config, full);
            let Some(p) = p else { return Ok(()) };
            let (started, inputs, rows) = (
                std::time::Instant::now(),
                p.inputs.len(),
                p.inputs.iter().map(|f| f.rows).sum::<u64>(),
            );
            let level = p.level;
            self.run(shard, p, background)?;
            tracing::debug!(
                shard = %shard.id,
                inputs,
                rows,
                level,
                ms = started.elapsed().as_millis() as u64,
                "compacted"
            );
            if background {
                if plan(&lock(&shard.manifest).files, &self.config, full).is_some() {
                    self.compactq.push(shard.id);
                }
                return Ok(());
            }
        }
    }

    fn run(&self, shard: &Shard, p: Plan, background: bool) -> Result<(), StorageError> {
        let registry = Arc::clone(&lock(&shard.state).registry);
        let (id, name) = lock(&shard.manifest).allocate_file(&p.measurement);
        let path = shard.dir.join(&name);
        let result = (|| {
            let (mut tags, mut fields) = (Vec::new(), Vec::new());
            for f in &p.inputs {
                let (_, layout) = read_layout(&shard.dir.join(&f.name))?;
                tags.extend(layout.tags);
                fields.extend(layout.fields);
            }
            let opts = self.write_opts.for_level(p.level);
            let layout = FileLayout::build(&p.measurement, tags, fields, opts.tag_columns());
            let col_of = field_columns(&layout, &registry, &p.measurement);
            let mut sources: Vec<Box<dyn RowSource>> = Vec::with_capacity(p.inputs.len());
            for f in &p.inputs {
                sources.push(Box::new(FileRows::open(
                    &shard.dir.join(&f.name),
                    &registry,
                    TimeRange::ALL,
                )?));
            }
            let mut merger = Merger::new(sources)?;
            let mut w = MeasurementWriter::create(&path, &p.measurement, layout, opts)?;
            let (mut series, mut winners) = (String::new(), Vec::<Winner>::new());
            let mut fields = Vec::new();
            let mut groups = 0u64;
            while let Some((ts, single)) = merger.next_group_or_row(&mut series, &mut winners, &mut fields)? {
                groups += 1;
                if background && groups.is_multiple_of(65536) && self.stopping() {
                    // Shutting down: drop this merge, its inputs stay.
                    return Err(StorageError::Closed);
                }
                if let Some(v) = single {
                    // One row holds this (series, time): written as it is.
                    let values = fields
                        .drain(..)
                        .filter_map(|(f, value)| col_of.get(f).map(|c| (c, value)));
                    w.push(&series, ts, v, values)?;
                    continue;
                }
                // One row per winning version; versions that won nothing vanish.
                if winners.iter().any(|w| w.version != winners[0].version) {
                    winners.sort_by(|a, b| a.version.cmp(&b.version).then(a.field.cmp(&b.field)));
                }
                let mut rest = &mut winners[..];
                while let Some(first) = rest.first() {
                    let v: Version = first.version;
                    let n = rest.iter().take_while(|w| w.version == v).count();
                    let (run, tail) = rest.split_at_mut(n);
                    let values = run.iter_mut().filter_map(|w| {
                        let value = std::mem::replace(&mut w.value, tandem_model::FieldValue::Boolean(false));
                        col_of.get(w.field).map(|c| (c, value))
                    });
                    w.push(&series, ts, v, values)?;
                    rest = tail;
                }
            }
            let file = w.finish()?;
            fsutil::sync_dir(&shard.dir).map_err(|e| StorageError::io(shard.dir.display(), e))?;
            Ok(file)
        })();
        let file = match result {
            Ok(f) => f,
            Err(StorageError::Closed) => {
                remove_logged(&path);
                return Ok(());
            }
            Err(e) => {
                remove_logged(&path);
                return Err(e);
            }
        };
        let inputs: HashSet<u64> = p.inputs.iter().map(|f| f.id).collect();
        {
            let mut m = lock(&shard.manifest);
            if lock(&shard.state).deleted {
                remove_logged(&path);
                return Ok(());
            }
            let mut next = m.clone();
            next.files.retain(|f| !inputs.contains(&f.id));
            if file.rows > 0 {
                next.files.push(FileMeta {
                    id,
                    name,
                    measurement: p.measurement.clone(),
                    level: p.level,
                    rows: file.rows,
                    bytes: file.bytes,
                    min_ts: file.min_ts,
                    max_ts: file.max_ts,
                    tag_columns: file.tag_columns,
                });
            }
            if let Err(e) = next.store(&shard.dir) {
                remove_logged(&path);
                return Err(e);
            }
            if file.rows == 0 {
                remove_logged(&path);
            }
            *m = next;
        }
        for f in &p.inputs {
            remove_logged(&shard.dir.join(&f.name));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(id: u64, meas: &str, level: u32) -> FileMeta {
        FileMeta {
            id,
            name: format!("{id}.parquet"),
            measurement: meas.into(),
            level,
            rows: 1,
            bytes: 1,
            min_ts: 0,
            max_ts: 0,
            // As written with the defaults: only the top level has them.
            tag_columns: level >= 2,
        }
    }

    #[test]
    fn plan_table() {
        let cfg = StorageConfig {
            compaction_min_files: 2,
            compaction_max_files: 3,
            compaction_max_level: 2,
            ..StorageConfig::default()
        };
        // (files, full, expected (measurement, input ids, level))
        type Want = Option<(&'static str, Vec<u64>, u32)>;
        let table: Vec<(Vec<FileMeta>, bool, Want)> = vec![
            (vec![f(1, "cpu", 0)], false, None),
            (vec![f(1, "cpu", 0)], true, Some(("cpu", vec![1], 2))),
            (vec![f(1, "cpu", 2)], true, None),
            // Written without tag columns under a higher compaction_max_level.
            (
                vec![FileMeta {
                    tag_columns: false,
                    ..f(1, "cpu", 2)
                }],
                true,
                Some(("cpu", vec![1], 2)),
            ),
            // Flushed with tag_columns_in_every_file: still uncompressed.
            (
                vec![FileMeta {
                    tag_columns: true,
                    ..f(1, "cpu", 0)
                }],
                true,
                Some(("cpu", vec![1], 2)),
            ),
            (vec![f(1, "cpu", 0), f(2, "mem", 0)], false, None),
            (
                vec![f(1, "cpu", 0), f(2, "cpu", 0)],
                false,
                Some(("cpu", vec![1, 2], 1)),
            ),
            (
                vec![f(1, "cpu", 1), f(2, "cpu", 1), f(3, "cpu", 0)],
                false,
                Some(("cpu", vec![1, 2], 2)),
            ),
            (vec![f(1, "cpu", 2), f(2, "cpu", 2)], false, None),
            (
                vec![f(1, "cpu", 2), f(2, "cpu", 2)],
                true,
                Some(("cpu", vec![1, 2], 2)),
            ),
            (
                vec![f(1, "cpu", 0), f(2, "cpu", 1)],
                true,
                Some(("cpu", vec![1, 2], 2)),
            ),
            // At most compaction_max_files inputs, the oldest first.
            (
                vec![f(9, "cpu", 0), f(4, "cpu", 0), f(7, "cpu", 0), f(5, "cpu", 0)],
                false,
                Some(("cpu", vec![4, 5, 7], 1)),
            ),
            (
                vec![f(9, "cpu", 2), f(4, "cpu", 0), f(7, "cpu", 1), f(5, "cpu", 2)],
                true,
                Some(("cpu", vec![4, 5, 7], 2)),
            ),
        ];
        for (i, (files, full, want)) in table.into_iter().enumerate() {
            let got = plan(&files, &cfg, full).map(|p| {
                let ids = p.inputs.iter().map(|f| f.id).collect::<Vec<_>>();
                (p.measurement, ids, p.level)
            });
            let want = want.map(|(m, ids, l)| (m.to_owned(), ids, l));
            assert_eq!(got, want, "case {i}");
        }
    }
}
