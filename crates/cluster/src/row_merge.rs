//! Merging one shard's rows from several owners by the convergence rule:
//! what a cluster-wide `/export` returns.
//!
//! Each owner streams its copy as versioned rows (`PointsBuf` format 2),
//! sorted by series key then time. The merge walks all streams at once and,
//! per (series, time, field), keeps the candidate with the greatest
//! `(version, value)`: the same rule storage applies, so the result is what
//! every owner will hold once replication and repair have caught up. Memory
//! is one chunk per owner plus one output chunk.

use std::cmp::Ordering;
use std::collections::{BTreeMap, VecDeque};
use std::pin::Pin;

use bytes::Bytes;
use futures::{Stream, StreamExt};
use tandem_http::ports::PortError;
use tandem_lineproto::{escape, serialize};
use tandem_model::convergence::candidate_cmp;
use tandem_model::{FieldValue, PointsBuf, Version};
use tokio::sync::mpsc;

/// One owner's copy of a shard, as chunks of versioned rows.
pub type RowChunks = Pin<Box<dyn Stream<Item = Result<PointsBuf, PortError>> + Send>>;

/// Output chunks are cut at the first line boundary past this size.
const CHUNK_BYTES: usize = 64 * 1024;

struct Row {
    series: String,
    ts: i64,
    fields: Vec<(String, FieldValue, Version)>,
}

struct Source {
    chunks: RowChunks,
    rows: VecDeque<Row>,
    done: bool,
}

impl Source {
    /// Makes sure a row is buffered unless the stream ended.
    async fn fill(&mut self) -> Result<(), PortError> {
        while self.rows.is_empty() && !self.done {
            match self.chunks.next().await {
                None => self.done = true,
                Some(Err(e)) => return Err(e),
                Some(Ok(buf)) => {
                    for p in buf.view().iter() {
                        let fields = p
                            .fields()
                            .map(|f| {
                                (
                                    f.key.to_owned(),
                                    f.value.to_owned_value(),
                                    f.version.unwrap_or_default(),
                                )
                            })
                            .collect();
                        self.rows.push_back(Row {
                            series: p.series_key.to_owned(),
                            ts: p.ts,
                            fields,
                        });
                    }
                }
            }
        }
        Ok(())
    }
}

fn key_cmp(a: &Row, b: &Row) -> Ordering {
    a.series.cmp(&b.series).then(a.ts.cmp(&b.ts))
}

/// Writes `series field=value,... ts\n` with fields in key order.
fn write_line(out: &mut Vec<u8>, series: &str, ts: i64, fields: &BTreeMap<String, (FieldValue, Version)>) {
    out.extend_from_slice(series.as_bytes());
    for (i, (key, (value, _))) in fields.iter().enumerate() {
        out.push(if i == 0 { b' ' } else { b',' });
        escape::escape_field_key(key.as_bytes(), out);
        out.push(b'=');
        serialize::write_value(value.as_ref(), out);
    }
    out.push(b' ');
    out.extend_from_slice(ts.to_string().as_bytes());
    out.push(b'\n');
}

/// Merges the owners' copies of one shard into line protocol.
pub fn merge_owner_rows(
    sources: Vec<RowChunks>,
) -> Pin<Box<dyn Stream<Item = Result<Bytes, PortError>> + Send>> {
    let (tx, rx) = mpsc::channel::<Result<Bytes, PortError>>(4);
    tokio::spawn(async move {
        let mut sources: Vec<Source> = sources
            .into_iter()
            .map(|chunks| Source {
                chunks,
                rows: VecDeque::new(),
                done: false,
            })
            .collect();
        let mut out = Vec::with_capacity(CHUNK_BYTES + 1024);
        loop {
            for s in &mut sources {
                if let Err(e) = s.fill().await {
                    let _ = tx.send(Err(e)).await;
                    return;
                }
            }
            let Some(first) = sources
                .iter()
                .filter_map(|s| s.rows.front())
                .min_by(|a, b| key_cmp(a, b))
                .map(|r| (r.series.clone(), r.ts))
            else {
                break;
            };
            let mut cells: BTreeMap<String, (FieldValue, Version)> = BTreeMap::new();
            for s in &mut sources {
                while s
                    .rows
                    .front()
                    .is_some_and(|r| r.series == first.0 && r.ts == first.1)
                {
                    let Some(row) = s.rows.pop_front() else { break };
                    for (key, value, version) in row.fields {
                        match cells.get(&key) {
                            Some((v, ver))
                                if candidate_cmp((*ver, v.as_ref()), (version, value.as_ref()))
                                    != Ordering::Less => {}
                            _ => {
                                cells.insert(key, (value, version));
                            }
                        }
                    }
                    if let Err(e) = s.fill().await {
                        let _ = tx.send(Err(e)).await;
                        return;
                    }
                }
            }
            write_line(&mut out, &first.0, first.1, &cells);
            if out.len() >= CHUNK_BYTES {
                let chunk = Bytes::from(std::mem::replace(
                    &mut out,
                    Vec::with_capacity(CHUNK_BYTES + 1024),
                ));
                if tx.send(Ok(chunk)).await.is_err() {
                    return;
                }
            }
        }
        if !out.is_empty() {
            let _ = tx.send(Ok(Bytes::from(out))).await;
        }
    });
    Box::pin(tokio_stream::wrappers::ReceiverStream::new(rx))
}

#[cfg(test)]
mod tests {
    use tandem_model::{FieldValueRef, PointsBufBuilder};

    use super::*;

    type Cell<'a> = (&'a str, i64, &'a str, FieldValueRef<'a>, u64);
    type TestRow<'a> = (&'a str, i64, Vec<(&'a str, FieldValueRef<'a>, Version)>);

    /// One owner's rows, given as cells (series, ts, field, value, hlc),
    /// cut into chunks of `per_chunk` rows.
    fn owner(cells: &[Cell<'_>], per_chunk: usize) -> RowChunks {
        let mut rows: Vec<TestRow<'_>> = Vec::new();
        for &(s, ts, k, v, hlc) in cells {
            let version = Version {
                hlc_ns: hlc,
                node: 1,
                seq: 0,
            };
            match rows.last_mut() {
                Some((ls, lts, f)) if *ls == s && *lts == ts => f.push((k, v, version)),
                _ => rows.push((s, ts, vec![(k, v, version)])),
            }
        }
        let chunks: Vec<Result<PointsBuf, PortError>> = rows
            .chunks(per_chunk.max(1))
            .map(|chunk| {
                let mut b = PointsBufBuilder::versioned();
                for (s, ts, fields) in chunk {
                    b.push_versioned(
                        s.as_bytes(),
                        0,
                        *ts,
                        fields.iter().map(|(k, v, ver)| (k.as_bytes(), *v, *ver)),
                    );
                }
                Ok(b.finish())
            })
            .collect();
        Box::pin(futures::stream::iter(chunks))
    }

    async fn collect(sources: Vec<RowChunks>) -> String {
        let mut s = merge_owner_rows(sources);
        let mut out = Vec::new();
        while let Some(chunk) = s.next().await {
            out.extend_from_slice(&chunk.unwrap());
        }
        String::from_utf8(out).unwrap()
    }

    #[tokio::test]
    async fn owners_merge_by_version_per_field() {
        use FieldValueRef::*;
        let a = [
            ("cpu,host=a", 1, "idle", Float(1.0), 10),
            ("cpu,host=a", 1, "user", Integer(5), 10),
            ("cpu,host=a", 2, "user", Integer(6), 10),
            ("cpu,host=c", 1, "user", Integer(1), 10),
        ];
        let b = [
            // A newer write of one field of the first point.
            ("cpu,host=a", 1, "user", Integer(50), 20),
            ("cpu,host=b", 1, "user", Integer(7), 10),
            // An older write loses.
            ("cpu,host=c", 1, "user", Integer(0), 5),
        ];
        let want = "cpu,host=a idle=1,user=50i 1\n\
                    cpu,host=a user=6i 2\n\
                    cpu,host=b user=7i 1\n\
                    cpu,host=c user=1i 1\n";
        for per_chunk in [1, 2, 10] {
            assert_eq!(
                collect(vec![owner(&a, per_chunk), owner(&b, per_chunk)]).await,
                want
            );
            assert_eq!(
                collect(vec![owner(&b, per_chunk), owner(&a, per_chunk)]).await,
                want,
                "order of owners"
            );
        }
        assert_eq!(
            collect(vec![owner(&a, 3), owner(&a, 1), owner(&[], 1)]).await,
            collect(vec![owner(&a, 2)]).await
        );
    }

    #[tokio::test]
    async fn an_owner_error_ends_the_stream_with_it() {
        let failing: RowChunks = Box::pin(futures::stream::iter(vec![Err(PortError::Unavailable(
            "node 2 down".into(),
        ))]));
        let mut s = merge_owner_rows(vec![
            owner(&[("m", 1, "v", FieldValueRef::Boolean(true), 1)], 1),
            failing,
        ]);
        let first = s.next().await.unwrap();
        assert_eq!(first, Err(PortError::Unavailable("node 2 down".into())));
    }
}
