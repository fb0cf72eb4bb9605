//! Export with versions: the converged rows of a shard as `PointsBuf`
//! format-2 chunks (every field with its winning version), for reads that
//! merge several replicas (cluster-wide export, copy-shard, repair).

use tandem_model::{FieldValue, FieldValueRef, PointsBufBuilder, ShardId};

use super::Engine;
use crate::merge::{TimeRange, Winner};
use crate::{RowStream, StorageError};

/// Rows per chunk; chunks stay far below the data service's message limit.
const CHUNK_ROWS: usize = 4096;

fn value_ref(v: &FieldValue) -> FieldValueRef<'_> {
    v.as_ref()
}

impl Engine {
    /// See [`crate::ShardStore::export_rows`].
    pub fn export_rows(&self, id: ShardId, range: TimeRange) -> Result<RowStream, StorageError> {
        let mut view = self.inner.view(id, range)?;
        let mut series = String::new();
        let mut winners: Vec<Winner> = Vec::new();
        let mut done = false;
        Ok(Box::new(std::iter::from_fn(move || {
            if done {
                return None;
            }
            let mut b = PointsBufBuilder::versioned();
            while b.len() < CHUNK_ROWS {
                match view.merger.next_group(&mut series, &mut winners) {
                    Err(e) => {
                        done = true;
                        return Some(Err(e));
                    }
                    Ok(None) => {
                        done = true;
                        break;
                    }
                    Ok(Some(ts)) => {
                        let rank = &view.rank;
                        winners.sort_by_key(|w| rank.get(w.field as usize).copied().unwrap_or(u32::MAX));
                        let reg = &view.registry;
                        // Series keys repeat across consecutive rows; the
                        // builder interns them, the hash only speeds that up.
                        let hash = series.len() as u64;
                        b.push_versioned(
                            series.as_bytes(),
                            hash,
                            ts,
                            winners
                                .iter()
                                .map(|w| (reg.get(w.field).key.as_bytes(), value_ref(&w.value), w.version)),
                        );
                    }
                }
            }
            (!b.is_empty()).then(|| Ok(b.finish()))
        })))
    }
}

#[cfg(test)]
mod tests {
    use tandem_model::{FieldValue, PointsView, ShardId};

    use crate::testkit::{batch, p, small_config, v};
    use crate::{Engine, EngineOptions, TimeRange};

    #[test]
    fn rows_carry_each_fields_winning_version() {
        let dir = tempfile::tempdir().unwrap();
        let e = Engine::open(small_config(dir.path()), EngineOptions::default()).unwrap();
        let shard = ShardId(1);
        e.create_shard(shard).unwrap();
        let int = FieldValue::Integer;
        let first = batch(&[
            p("cpu,host=a", 5, &[("user", int(1)), ("idle", int(2))]),
            p("cpu,host=b", 5, &[("user", int(3))]),
        ]);
        let second = batch(&[p("cpu,host=a", 5, &[("user", int(9))])]);
        e.append(shard, v(10), &first).unwrap().wait().unwrap();
        e.append(shard, v(20), &second).unwrap().wait().unwrap();
        let chunks: Vec<_> = e
            .export_rows(shard, TimeRange::ALL)
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let mut got = Vec::new();
        for c in &chunks {
            let view = PointsView::new(c.as_bytes()).unwrap();
            assert!(view.is_versioned());
            for p in view.iter() {
                for f in p.fields() {
                    let hlc = f.version.unwrap().hlc_ns;
                    got.push(format!(
                        "{} {} {}={:?} @{hlc}",
                        p.series_key, p.ts, f.key, f.value
                    ));
                }
            }
        }
        assert_eq!(
            got,
            vec![
                "cpu,host=a 5 idle=Integer(2) @10",
                "cpu,host=a 5 user=Integer(9) @20",
                "cpu,host=b 5 user=Integer(3) @10",
            ]
        );
    }
}
