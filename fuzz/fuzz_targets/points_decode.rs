//! Decoding a points buffer from a peer must never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tandem_model::PointsView;

fuzz_target!(|data: &[u8]| {
    if let Ok(view) = PointsView::new(data) {
        for p in view.iter() {
            for f in p.fields() {
                let _ = f.value.field_type();
            }
        }
    }
});
