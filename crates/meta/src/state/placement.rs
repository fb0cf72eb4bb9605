//! Owner placement for a new shard group. Pure and deterministic: it runs
//! inside `apply` on every replica and must give the same answer everywhere.
//!
//! Rules, in priority order, for each owner slot of each shard:
//! 1. a node owns at most one replica of a shard;
//! 2. prefer a node whose zone no owner of this shard has yet (nodes without
//!    a zone label count as their own zone), so a zone outage leaves a
//!    replica when `RF <= zones`;
//! 3. prefer the node with the fewest owner slots in this group so far, so
//!    owners are balanced;
//! 4. break ties by position in the node list rotated by `rotation` (the
//!    number of groups created before), so successive groups start on
//!    different nodes and load evens out across groups.

use tandem_model::NodeId;

use super::nodes::NodeInfo;

/// Owners for each shard of a new group: `max(1, nodes / rf)` shards with
/// `min(rf, nodes)` owners each, owner lists sorted by id. `nodes` must be
/// the non-empty list of non-passive data nodes in id order.
pub(crate) fn place_owners(nodes: &[&NodeInfo], replication_factor: u32, rotation: u64) -> Vec<Vec<NodeId>> {
    let n = nodes.len();
    if n == 0 {
        return vec![Vec::new()];
    }
    let rf = usize::try_from(replication_factor.max(1)).unwrap_or(usize::MAX);
    let shards = (n / rf).max(1);
    let owners_per_shard = rf.min(n);
    let offset = usize::try_from(rotation % n as u64).unwrap_or(0);
    let order: Vec<&NodeInfo> = (0..n).map(|i| nodes[(i + offset) % n]).collect();
    let mut load = vec![0usize; n];
    let mut result = Vec::with_capacity(shards);
    for _ in 0..shards {
        let mut chosen: Vec<usize> = Vec::with_capacity(owners_per_shard);
        for _ in 0..owners_per_shard {
            let fresh_zone = |i: usize| match order[i].zone() {
                None => true,
                Some(z) => chosen.iter().all(|&c| order[c].zone() != Some(z)),
            };
            let free: Vec<usize> = (0..n).filter(|i| !chosen.contains(i)).collect();
            let prefer_fresh = free.iter().any(|&i| fresh_zone(i));
            let pick = free
                .into_iter()
                .filter(|&i| !prefer_fresh || fresh_zone(i))
                .min_by_key(|&i| (load[i], i))
                .expect("owners_per_shard <= n leaves a free node");
            load[pick] += 1;
            chosen.push(pick);
        }
        let mut owners: Vec<NodeId> = chosen.into_iter().map(|i| order[i].id).collect();
        owners.sort_unstable();
        result.push(owners);
    }
    result
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use super::*;
    use crate::state::nodes::{DataEndpoints, ZONE_LABEL};

    fn node(id: u32, zone: Option<&str>) -> NodeInfo {
        NodeInfo {
            id: NodeId(id),
            uuid: format!("u{id}"),
            meta: None,
            data: Some(DataEndpoints::default()),
            labels: zone
                .map(|z| BTreeMap::from([(ZONE_LABEL.to_owned(), z.to_owned())]))
                .unwrap_or_default(),
            passive: false,
        }
    }

    /// `nodes` as (id, zone); expected owners per shard as id lists.
    fn check(nodes: &[(u32, Option<&str>)], rf: u32, rotation: u64, expected: &[&[u32]]) {
        let infos: Vec<NodeInfo> = nodes.iter().map(|&(id, z)| node(id, z)).collect();
        let refs: Vec<&NodeInfo> = infos.iter().collect();
        let got = place_owners(&refs, rf, rotation);
        let want: Vec<Vec<NodeId>> = expected
            .iter()
            .map(|s| s.iter().map(|&i| NodeId(i)).collect())
            .collect();
        assert_eq!(got, want, "nodes {nodes:?} rf {rf} rotation {rotation}");
    }

    #[test]
    fn placement_table() {
        let plain = |ids: &[u32]| ids.iter().map(|&i| (i, None)).collect::<Vec<_>>();
        // Enterprise docs: 4 nodes at RF 2 give 2 shards, A,B and C,D.
        check(&plain(&[1, 2, 3, 4]), 2, 0, &[&[1, 2], &[3, 4]]);
        // The next group starts one node further on.
        check(&plain(&[1, 2, 3, 4]), 2, 1, &[&[2, 3], &[1, 4]]);
        // RF above the node count: one shard owned by every node.
        check(&plain(&[1, 2]), 3, 0, &[&[1, 2]]);
        check(&plain(&[7]), 1, 5, &[&[7]]);
        // RF 1: one shard per node.
        check(&plain(&[1, 2, 3]), 1, 0, &[&[1], &[2], &[3]]);
        // 5 nodes, RF 2: 2 shards, one node idle, rotating across groups.
        check(&plain(&[1, 2, 3, 4, 5]), 2, 0, &[&[1, 2], &[3, 4]]);
        check(&plain(&[1, 2, 3, 4, 5]), 2, 4, &[&[1, 5], &[2, 3]]);
        // 6 nodes, RF 3: 2 shards of 3.
        check(&plain(&[1, 2, 3, 4, 5, 6]), 3, 0, &[&[1, 2, 3], &[4, 5, 6]]);
        // Zones a,a,b,b at RF 2: every shard spans both zones.
        check(
            &[(1, Some("a")), (2, Some("a")), (3, Some("b")), (4, Some("b"))],
            2,
            0,
            &[&[1, 3], &[2, 4]],
        );
        // Three zones, RF 3, six nodes: each shard has one node per zone.
        check(
            &[
                (1, Some("a")),
                (2, Some("a")),
                (3, Some("b")),
                (4, Some("b")),
                (5, Some("c")),
                (6, Some("c")),
            ],
            3,
            0,
            &[&[1, 3, 5], &[2, 4, 6]],
        );
        // Unbalanced zones: spreading wins over balance (node 4 is the only
        // zone-b node, so it owns a replica of both shards).
        check(
            &[(1, Some("a")), (2, Some("a")), (3, Some("a")), (4, Some("b"))],
            2,
            0,
            &[&[1, 4], &[2, 4]],
        );
    }

    /// Properties over many shapes: RF respected, distinct owners, balance
    /// within a group when zones do not interfere, zone spread when possible.
    #[test]
    fn placement_properties() {
        for n in 1..=9u32 {
            for rf in 1..=4u32 {
                for rotation in 0..(u64::from(n) + 1) {
                    let infos: Vec<NodeInfo> = (1..=n).map(|i| node(i, None)).collect();
                    let refs: Vec<&NodeInfo> = infos.iter().collect();
                    let placed = place_owners(&refs, rf, rotation);
                    let expected_shards = (n / rf).max(1) as usize;
                    assert_eq!(placed.len(), expected_shards);
                    let mut load: BTreeMap<NodeId, usize> = BTreeMap::new();
                    for owners in &placed {
                        assert_eq!(owners.len(), rf.min(n) as usize);
                        assert_eq!(owners.iter().collect::<BTreeSet<_>>().len(), owners.len());
                        for o in owners {
                            *load.entry(*o).or_default() += 1;
                        }
                    }
                    let max = load.values().max().copied().unwrap_or(0);
                    assert!(max <= 1 || rf > n, "n {n} rf {rf}: {placed:?}");
                }
            }
        }
        // Zones: with z zones of two nodes each and RF <= z, no shard has two
        // owners in one zone.
        for zones in 1..=4u32 {
            for rf in 1..=zones {
                let infos: Vec<NodeInfo> = (0..zones * 2)
                    .map(|i| node(i + 1, Some(["a", "b", "c", "d"][(i / 2) as usize])))
                    .collect();
                let refs: Vec<&NodeInfo> = infos.iter().collect();
                for rotation in 0..8 {
                    for owners in place_owners(&refs, rf, rotation) {
                        let zs: BTreeSet<_> = owners
                            .iter()
                            .map(|o| infos[(o.0 - 1) as usize].zone().unwrap())
                            .collect();
                        assert_eq!(
                            zs.len(),
                            owners.len(),
                            "zones {zones} rf {rf} rotation {rotation}"
                        );
                    }
                }
            }
        }
    }
}
