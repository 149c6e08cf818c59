//! The frame decoder is the window's only input from the root side: any
//! bytes must give frames or an error, never a panic or a huge allocation;
//! and every frame that decodes goes on, as in the window, through the
//! store, the table model and both CSV writers, none of which may panic.

#![no_main]

use bpfscope::protocol::FrameReader;
use bpfscope::test_support::Consumer;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut reader = FrameReader::new(data);
    let mut consumer = Consumer::default();
    // At most a few frames fit in a fuzz input; stop at the first error.
    for _ in 0..64 {
        match reader.next_frame() {
            Ok(Some(frame)) => consumer.take(frame),
            Ok(None) | Err(_) => break,
        }
    }
});
