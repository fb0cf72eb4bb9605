//! The write path: parse, plan, stamp, fan out, count acks.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tandem_lineproto::{Buffers, ParseOptions, Precision, parse_into};
use tandem_model::{ConsistencyLevel, NodeId, ShardId, Version};
use tokio::sync::{Semaphore, mpsc};

use crate::breaker::Breakers;
use crate::budget::NodeBudgets;
use crate::config::CoordinatorConfig;
use crate::error::{ConsistencyFailure, OwnerOutcome, PartialWrite, ShortfallKind, WriteError};
use crate::hlc::Hlc;
use crate::plan::plan;
use crate::ports::{Metadata, OwnerAck, OwnerError, OwnerTransport, ShardWrite};
use crate::stats::{OwnerResult, WriteStats};
use crate::tracker::WriteTracker;

/// One write request, as the HTTP layer hands it over.
#[derive(Debug, Clone, Copy)]
pub struct WriteRequest<'a> {
    pub db: &'a str,
    /// `None`: the database's default retention policy.
    pub rp: Option<&'a str>,
    pub precision: Precision,
    pub consistency: ConsistencyLevel,
    /// The (decompressed) line-protocol body.
    pub body: &'a [u8],
    /// Accept `1u` unsigned values (the v2 API does).
    pub allow_unsigned: bool,
}

/// How many owners acknowledged, as the minimum over the batch's shards at
/// the moment the request was answered (writes to the remaining owners go on
/// in the background).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AckSummary {
    pub level: ConsistencyLevel,
    pub acked: usize,
    pub required: usize,
    pub owners: usize,
}

/// What a served write did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteReport {
    /// Points sent to their shards.
    pub points_written: usize,
    /// `None` when no point reached a shard.
    pub acks: Option<AckSummary>,
    /// Points dropped or lines rejected while the rest was written: the
    /// client gets influxd's `partial write: ...` (HTTP 400).
    pub partial: Option<PartialWrite>,
    /// The batch's version, when anything was written.
    pub version: Option<Version>,
}

struct Shared {
    node: NodeId,
    config: CoordinatorConfig,
    meta: Arc<dyn Metadata>,
    transport: Arc<dyn OwnerTransport>,
    hlc: Hlc,
    breakers: Breakers,
    budgets: NodeBudgets,
    request_bytes: Arc<Semaphore>,
    tracker: WriteTracker,
    stats: WriteStats,
    parse_buffers: Mutex<Vec<Buffers>>,
    closing: AtomicBool,
}

/// The write coordinator of one node. Cheap to clone.
#[derive(Clone)]
pub struct Coordinator {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Coordinator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Coordinator")
            .field("node", &self.shared.node)
            .finish_non_exhaustive()
    }
}

const REQUEST_UNIT: usize = 1024;

fn wall_ns() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i64)
}

struct ShardState {
    shard: ShardId,
    points: usize,
    owners: Vec<NodeId>,
    required: usize,
    acked: usize,
    answered: usize,
    outcomes: Vec<OwnerOutcome>,
    done: bool,
}

impl ShardState {
    fn failure(&self, kind: ShortfallKind, level: ConsistencyLevel) -> ConsistencyFailure {
        ConsistencyFailure {
            kind,
            level,
            shard: self.shard,
            required: self.required,
            acked: self.acked,
            owners: self
                .owners
                .iter()
                .copied()
                .zip(self.outcomes.iter().cloned())
                .collect(),
        }
    }
}

impl Coordinator {
    pub fn new(
        node: NodeId,
        config: CoordinatorConfig,
        meta: Arc<dyn Metadata>,
        transport: Arc<dyn OwnerTransport>,
        hlc: Hlc,
    ) -> Self {
        let request_units = (config.max_inflight_request_bytes / REQUEST_UNIT).max(1);
        Self {
            shared: Arc::new(Shared {
                node,
                breakers: Breakers::new(config.breaker_threshold, config.breaker_probe_interval),
                budgets: NodeBudgets::new(config.max_inflight_bytes_per_node),
                request_bytes: Arc::new(Semaphore::new(request_units)),
                config,
                meta,
                transport,
                hlc,
                tracker: WriteTracker::default(),
                stats: WriteStats::default(),
                parse_buffers: Mutex::new(Vec::new()),
                closing: AtomicBool::new(false),
            }),
        }
    }

    pub fn node(&self) -> NodeId {
        self.shared.node
    }

    pub fn stats(&self) -> &WriteStats {
        &self.shared.stats
    }

    pub fn hlc(&self) -> &Hlc {
        &self.shared.hlc
    }

    /// Owner writes still running in the background.
    pub fn writes_in_flight(&self) -> usize {
        self.shared.tracker.running()
    }

    /// Whether the breaker holds `node` down.
    pub fn node_held_down(&self, node: NodeId) -> bool {
        self.shared.breakers.is_open(node)
    }

    /// Stops taking writes and waits (up to `limit`) for the owner writes
    /// in flight. Returns whether they all finished.
    pub async fn shutdown(&self, limit: Duration) -> bool {
        self.shared.closing.store(true, Ordering::Release);
        self.shared.tracker.wait_idle(limit).await
    }

    /// Coordinates one write request.
    pub async fn write(&self, req: WriteRequest<'_>) -> Result<WriteReport, WriteError> {
        let s = &self.shared;
        if s.closing.load(Ordering::Acquire) {
            return Err(WriteError::ShuttingDown);
        }
        let units = u32::try_from(req.body.len().div_ceil(REQUEST_UNIT).max(1)).unwrap_or(u32::MAX);
        let units =
            units.min(u32::try_from(s.config.max_inflight_request_bytes / REQUEST_UNIT).unwrap_or(u32::MAX));
        let _reserved = Arc::clone(&s.request_bytes)
            .try_acquire_many_owned(units.max(1))
            .map_err(|_| {
                WriteError::Overloaded("too many bytes being coordinated on this node".to_owned())
            })?;

        let now = wall_ns();
        let buffers = s
            .parse_buffers
            .lock()
            .ok()
            .and_then(|mut p| p.pop())
            .unwrap_or_default();
        let opts = ParseOptions {
            precision: req.precision,
            default_time: now,
            allow_unsigned: req.allow_unsigned,
        };
        let batch = parse_into(req.body, opts, buffers);
        let parse_failure = batch
            .errors()
            .first()
            .map(|e| (batch.error_message().unwrap_or_default(), e.line_number));

        let planned = if batch.point_count() == 0 {
            None
        } else {
            let rp = s.meta.retention_policy(req.db, req.rp).await;
            match rp {
                Ok(rp) => Some(
                    plan(
                        s.meta.as_ref(),
                        req.db,
                        &rp,
                        &batch,
                        now,
                        s.config.max_shard_write_bytes,
                    )
                    .await,
                ),
                Err(e) => Some(Err(e)),
            }
        };
        if let Ok(mut pool) = s.parse_buffers.lock()
            && pool.len() < 16
        {
            pool.push(batch.into_buffers());
        }
        let plan = match planned {
            None => {
                return match parse_failure {
                    Some((message, first_line)) => Err(WriteError::Parse { message, first_line }),
                    None => Ok(WriteReport {
                        points_written: 0,
                        acks: None,
                        partial: None,
                        version: None,
                    }),
                };
            }
            Some(p) => p?,
        };

        let partial = match (plan.drops.reason(), parse_failure) {
            (Some(reason), _) => Some(PartialWrite {
                reason,
                dropped: plan.drops.total(),
                first_bad_line: None,
            }),
            // influxd reports lines that failed to parse with dropped=0.
            (None, Some((reason, line))) => Some(PartialWrite {
                reason,
                dropped: 0,
                first_bad_line: Some(line),
            }),
            (None, None) => None,
        };
        WriteStats::add(&s.stats.write_drop, plan.drops.total());
        if plan.shards.is_empty() {
            return Ok(WriteReport {
                points_written: 0,
                acks: None,
                partial,
                version: None,
            });
        }

        let version = s
            .hlc
            .stamp()
            .await
            .map_err(|e| WriteError::Internal(e.to_string()))?;
        let meta_version = s.meta.version();
        let (tx, mut rx) = mpsc::unbounded_channel::<(usize, usize, Result<OwnerAck, OwnerError>)>();
        let mut states = Vec::with_capacity(plan.shards.len());
        let mut points_written = 0;
        for (si, sp) in plan.shards.into_iter().enumerate() {
            let n = sp.points.len();
            points_written += n;
            WriteStats::add(&s.stats.point_req, n);
            let points = Arc::new(sp.points);
            for (oi, &node) in sp.shard.owners.iter().enumerate() {
                let counter = if node == s.node {
                    &s.stats.point_req_local
                } else {
                    &s.stats.point_req_remote
                };
                WriteStats::add(counter, n);
                let write = ShardWrite {
                    shard: sp.shard.id,
                    meta_version,
                    version,
                    points: Arc::clone(&points),
                };
                let shared = Arc::clone(&self.shared);
                let tx = tx.clone();
                s.tracker.spawn(async move {
                    let result = shared.send(node, write).await;
                    shared.stats.owner_result(node, OwnerResult::of(&result));
                    // The request may have answered already; the write
                    // itself is done either way.
                    let _ = tx.send((si, oi, result));
                });
            }
            let owners = sp.shard.owners.len();
            states.push(ShardState {
                shard: sp.shard.id,
                points: n,
                required: req.consistency.required(owners),
                owners: sp.shard.owners,
                acked: 0,
                answered: 0,
                outcomes: vec![OwnerOutcome::Pending; owners],
                done: false,
            });
        }
        drop(tx);

        let deadline = tokio::time::Instant::now() + s.config.write_timeout;
        let mut remaining = states.len();
        while remaining > 0 {
            let msg = match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(Some(msg)) => msg,
                Ok(None) | Err(_) => {
                    WriteStats::add(&s.stats.write_timeout, 1);
                    let st = states.iter().find(|st| !st.done).unwrap_or(&states[0]);
                    return Err(WriteError::Consistency(
                        st.failure(ShortfallKind::Timeout, req.consistency),
                    ));
                }
            };
            let (si, oi, result) = msg;
            let st = &mut states[si];
            st.answered += 1;
            match result {
                Ok(_) => {
                    st.acked += 1;
                    st.outcomes[oi] = OwnerOutcome::Acked;
                }
                Err(e) => st.outcomes[oi] = OwnerOutcome::Failed(e),
            }
            if st.done {
                continue;
            }
            if let OwnerOutcome::Failed(e) = &st.outcomes[oi] {
                if e.is_data_error() {
                    WriteStats::add(&s.stats.write_error, 1);
                    return Err(WriteError::Rejected(e.clone()));
                }
                if let OwnerError::ShardDeleted(id) = e {
                    // influxd: `partial write: shard N is pending deletion dropped=K`.
                    WriteStats::add(&s.stats.write_error, 1);
                    return Err(WriteError::Rejected(OwnerError::PartialWrite {
                        reason: format!("shard {id} is pending deletion"),
                        dropped: st.points,
                    }));
                }
            }
            if st.acked >= st.required {
                st.done = true;
                remaining -= 1;
                WriteStats::add(&s.stats.write_ok, 1);
                continue;
            }
            if st.answered == st.owners.len() {
                let overloaded = st
                    .outcomes
                    .iter()
                    .filter(|o| {
                        matches!(
                            o,
                            OwnerOutcome::Failed(OwnerError::Overloaded(_) | OwnerError::CacheFull)
                        )
                    })
                    .count();
                let kind = if overloaded > 0 && st.acked + overloaded >= st.required {
                    ShortfallKind::Overloaded
                } else if st.acked > 0 {
                    ShortfallKind::Partial
                } else {
                    ShortfallKind::Failed
                };
                let counter = if kind == ShortfallKind::Partial {
                    &s.stats.write_partial
                } else {
                    &s.stats.write_error
                };
                WriteStats::add(counter, 1);
                return Err(WriteError::Consistency(st.failure(kind, req.consistency)));
            }
        }
        let acks = states.iter().fold(None, |acc: Option<AckSummary>, st| {
            let this = AckSummary {
                level: req.consistency,
                acked: st.acked,
                required: st.required,
                owners: st.owners.len(),
            };
            Some(match acc {
                None => this,
                Some(a) => AckSummary {
                    level: a.level,
                    acked: a.acked.min(this.acked),
                    required: a.required.min(this.required),
                    owners: a.owners.min(this.owners),
                },
            })
        });
        Ok(WriteReport {
            points_written,
            acks,
            partial,
            version: Some(version),
        })
    }
}

impl Shared {
    /// Writes to one owner; on stale routing, refreshes metadata and retries
    /// once if the node still owns the shard.
    async fn send(&self, node: NodeId, write: ShardWrite) -> Result<OwnerAck, OwnerError> {
        let shard = write.shard;
        let result = self.send_once(node, write.clone()).await;
        let Err(e) = &result else { return result };
        if e.needs_refresh() {
            if let Err(refresh) = self.meta.refresh().await {
                tracing::warn!(%shard, %node, "cannot refresh metadata after {e}: {refresh}");
                return result;
            }
            return match self.meta.shard(shard) {
                None => Err(OwnerError::ShardDeleted(shard)),
                Some(s) if s.owners.contains(&node) => {
                    self.send_once(
                        node,
                        ShardWrite {
                            meta_version: self.meta.version(),
                            ..write
                        },
                    )
                    .await
                }
                Some(_) => result,
            };
        }
        if e.is_retryable() {
            // Hinted handoff takes these once it exists; until then the
            // owner simply misses this write.
            tracing::debug!(%shard, %node, "owner write failed: {e}");
        }
        result
    }

    async fn send_once(&self, node: NodeId, write: ShardWrite) -> Result<OwnerAck, OwnerError> {
        if !self.breakers.allow(node) {
            return Err(OwnerError::NodeDown(node));
        }
        let Some(_reservation) = self.budgets.try_reserve(node, write.points.as_bytes().len()) else {
            return Err(OwnerError::Overloaded(node));
        };
        let sent = tokio::time::timeout(
            self.config.owner_timeout(),
            self.transport.write_shard(node, write),
        )
        .await;
        let result =
            sent.unwrap_or_else(|_| Err(OwnerError::Unavailable(format!("node {node} did not answer"))));
        match &result {
            Ok(ack) => {
                self.breakers.record_success(node);
                if ack.hlc_ns > 0 {
                    self.hlc.observe(ack.hlc_ns);
                }
            }
            Err(OwnerError::Unavailable(_)) => self.breakers.record_failure(node),
            // The node answered: it is alive, whatever it said.
            Err(_) => self.breakers.record_success(node),
        }
        result
    }
}
