//! The frame decoder is the window's only input from the root side: any
//! bytes must give frames or an error, never a panic or a huge allocation.

#![no_main]

use bpfscope::protocol::FrameReader;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut reader = FrameReader::new(data);
    // At most a few frames fit in a fuzz input; stop at the first error.
    for _ in 0..64 {
        match reader.next_frame() {
            Ok(Some(_)) => {}
            Ok(None) | Err(_) => break,
        }
    }
});
