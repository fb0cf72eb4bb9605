//! The convergence rule, in one place.
//!
//! A stored cell is (series key, timestamp, field key). Per cell the engine
//! keeps the candidate with the largest `(version, value)`, where values of
//! one type are totally ordered by [`value_cmp`]. Taking a maximum over a set
//! is commutative, associative and idempotent, so replicas that saw the same
//! writes in any order, any number of times, hold the same cells.
//!
//! Within one batch a later occurrence of a cell overrides an earlier one
//! (influxd's rule for duplicate points in a body). A batch is applied as a
//! unit everywhere, so each application contributes exactly one candidate:
//! the last occurrence. Only if two *different* batches carried the same
//! version would the value order decide; that is the deterministic
//! tie-break, not a preference for larger values.

use std::cmp::Ordering;

use tandem_model::{FieldValue, Version};

/// Total order over values: by type tag first (a field has one type per
/// shard, so this only matters for damaged data), then by value; floats by
/// IEEE total order, strings by bytes.
pub(crate) fn value_cmp(a: &FieldValue, b: &FieldValue) -> Ordering {
    use FieldValue::*;
    match (a, b) {
        (Float(x), Float(y)) => x.total_cmp(y),
        (Integer(x), Integer(y)) => x.cmp(y),
        (Unsigned(x), Unsigned(y)) => x.cmp(y),
        (String(x), String(y)) => x.as_bytes().cmp(y.as_bytes()),
        (Boolean(x), Boolean(y)) => x.cmp(y),
        _ => a.field_type().tag().cmp(&b.field_type().tag()),
    }
}

/// Order of two candidates for the same cell; the greater one wins.
pub(crate) fn candidate_cmp(a: (Version, &FieldValue), b: (Version, &FieldValue)) -> Ordering {
    a.0.cmp(&b.0).then_with(|| value_cmp(a.1, b.1))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn value() -> impl Strategy<Value = FieldValue> {
        prop_oneof![
            any::<f64>().prop_map(FieldValue::Float),
            any::<i64>().prop_map(FieldValue::Integer),
            any::<u64>().prop_map(FieldValue::Unsigned),
            ".{0,4}".prop_map(FieldValue::String),
            any::<bool>().prop_map(FieldValue::Boolean),
        ]
    }

    proptest! {
        #[test]
        fn value_order_is_total(a in value(), b in value(), c in value()) {
            prop_assert_eq!(value_cmp(&a, &b), value_cmp(&b, &a).reverse());
            if value_cmp(&a, &b) != Ordering::Greater && value_cmp(&b, &c) != Ordering::Greater {
                prop_assert_ne!(value_cmp(&a, &c), Ordering::Greater);
            }
            prop_assert_eq!(value_cmp(&a, &a), Ordering::Equal);
        }
    }

    #[test]
    fn version_dominates_value() {
        let old = Version {
            hlc_ns: 1,
            node: 9,
            seq: 9,
        };
        let new = Version {
            hlc_ns: 2,
            node: 0,
            seq: 0,
        };
        let big = FieldValue::Integer(100);
        let small = FieldValue::Integer(1);
        assert_eq!(candidate_cmp((new, &small), (old, &big)), Ordering::Greater);
        assert_eq!(candidate_cmp((new, &small), (new, &big)), Ordering::Less);
    }
}
