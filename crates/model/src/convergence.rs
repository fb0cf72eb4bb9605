//! The convergence rule, shared by storage and by cluster-wide reads.
//!
//! A cell is (series key, timestamp, field key). Among all candidates for a
//! cell, the one with the greatest `(version, value)` wins, values of one
//! type being totally ordered by [`value_cmp`]. A maximum over a set is
//! commutative, associative and idempotent, so replicas that saw the same
//! writes in any order, any number of times, agree. The value order only
//! decides if two *different* batches carried the same version; it is a
//! deterministic tie-break, not a preference for larger values.

use std::cmp::Ordering;

use crate::{FieldValueRef, Version};

/// Total order over values: by type tag first (a field has one type per
/// shard, so this only matters for damaged data), then by value; floats by
/// IEEE total order, strings by bytes.
pub fn value_cmp(a: FieldValueRef<'_>, b: FieldValueRef<'_>) -> Ordering {
    use FieldValueRef::*;
    match (a, b) {
        (Float(x), Float(y)) => x.total_cmp(&y),
        (Integer(x), Integer(y)) => x.cmp(&y),
        (Unsigned(x), Unsigned(y)) => x.cmp(&y),
        (String(x), String(y)) => x.as_bytes().cmp(y.as_bytes()),
        (Boolean(x), Boolean(y)) => x.cmp(&y),
        _ => a.field_type().tag().cmp(&b.field_type().tag()),
    }
}

/// Order of two candidates for the same cell; the greater one wins.
pub fn candidate_cmp(a: (Version, FieldValueRef<'_>), b: (Version, FieldValueRef<'_>)) -> Ordering {
    a.0.cmp(&b.0).then_with(|| value_cmp(a.1, b.1))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::FieldValue;

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
            let (a, b, c) = (a.as_ref(), b.as_ref(), c.as_ref());
            prop_assert_eq!(value_cmp(a, b), value_cmp(b, a).reverse());
            if value_cmp(a, b) != Ordering::Greater && value_cmp(b, c) != Ordering::Greater {
                prop_assert_ne!(value_cmp(a, c), Ordering::Greater);
            }
            prop_assert_eq!(value_cmp(a, a), Ordering::Equal);
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
        let (big, small) = (FieldValueRef::Integer(100), FieldValueRef::Integer(1));
        assert_eq!(candidate_cmp((new, small), (old, big)), Ordering::Greater);
        assert_eq!(candidate_cmp((old, big), (old, small)), Ordering::Greater);
    }
}
