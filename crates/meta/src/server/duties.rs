//! Periodic work of a meta node.
//!
//! Every node registers its uuid once the cluster answers. The leader also
//! gives the cluster its random id, pre-creates upcoming shard groups and
//! deletes expired ones. All of it goes through ordinary idempotent
//! commands whose effect is decided inside `apply` from the clock reading
//! they carry, so a duty run twice (say, by an old and a new leader) is
//! harmless.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::command::{Command, Proposal};
use crate::credentials::random_id;
use crate::state::NodeRegistration;

use super::{DUTY_TICK, MetaNode, now_ns};

fn secs(n: u64) -> Duration {
    Duration::from_secs(n.max(1))
}

pub(super) async fn run(node: Arc<MetaNode>) {
    let o = node.config.options.clone();
    let precreate_every = secs(o.precreate_check_interval_secs);
    let retention_every = secs(o.retention_check_interval_secs);
    let advance = i64::try_from(secs(o.precreate_advance_secs).as_nanos()).unwrap_or(i64::MAX);
    let mut shutdown = node.shutdown.clone();
    let mut registered = false;
    // `None` runs the duty at the first tick as leader.
    let mut last_precreate: Option<Instant> = None;
    let mut last_retention: Option<Instant> = None;
    let mut tick = tokio::time::interval(DUTY_TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = crate::shutdown::stopped(&mut shutdown) => return,
            _ = tick.tick() => {}
        }
        if !registered {
            registered = register_self(&node).await;
        }
        if !node.is_leader() {
            last_precreate = None;
            last_retention = None;
            continue;
        }
        if node.state().cluster_id().is_empty()
            && let Ok(cluster_id) = random_id()
        {
            propose(&node, Command::SetClusterId { cluster_id }).await;
        }
        if last_precreate.is_none_or(|t| t.elapsed() >= precreate_every) {
            let now = now_ns();
            propose(
                &node,
                Command::PrecreateShardGroups {
                    from: now,
                    to: now.saturating_add(advance),
                },
            )
            .await;
            last_precreate = Some(Instant::now());
        }
        if last_retention.is_none_or(|t| t.elapsed() >= retention_every) {
            propose(&node, Command::DeleteExpiredShardGroups { now: now_ns() }).await;
            last_retention = Some(Instant::now());
        }
    }
}

async fn propose(node: &MetaNode, command: Command) {
    let name = command.name();
    match node
        .propose(
            Proposal {
                request_id: 0,
                command,
            },
            false,
        )
        .await
    {
        Ok(reply) => {
            if let Err(e) = reply.result {
                tracing::warn!("{name} failed: {e}");
            }
        }
        Err(e) => tracing::debug!("{name} not proposed: {e}"),
    }
}

/// Records this node's uuid in the node table; true once done.
async fn register_self(node: &MetaNode) -> bool {
    if node.config.node_uuid.is_empty() {
        return true;
    }
    if let Some(n) = node.state().node(node.id) {
        if n.uuid == node.config.node_uuid {
            return true;
        }
        if !n.uuid.is_empty() {
            tracing::error!(
                node = %node.id,
                "node id is registered with another uuid ({}); is the node id configured twice?",
                n.uuid
            );
            return true;
        }
    } else {
        // Not a member yet (a joining node); try again later.
        return false;
    }
    let registration = NodeRegistration {
        uuid: node.config.node_uuid.clone(),
        requested_id: Some(node.id),
        ..NodeRegistration::default()
    };
    let proposal = Proposal {
        request_id: 0,
        command: Command::RegisterNode(registration),
    };
    match node.propose(proposal, false).await {
        Ok(reply) => match reply.result {
            Ok(_) => true,
            // The leader we forwarded to lost its leadership or quorum (an
            // election under way): try again at the next tick. Giving up
            // here left the uuid unregistered until the next restart.
            Err(e) if e.is_retriable() => {
                tracing::debug!(node = %node.id, "registering the node uuid: {e}; retrying");
                false
            }
            Err(e) => {
                tracing::error!(node = %node.id, "cannot register node uuid: {e}");
                true
            }
        },
        Err(_) => false,
    }
}
