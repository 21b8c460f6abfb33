//! Feeds arbitrary bytes, in arbitrary chunks, to the command parser: it must never panic, never
//! return a command bigger than its limits, and never loop without consuming input.
#![no_main]

use bytes::BytesMut;
use cloudlet_resp::{Limits, parse_command};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = Limits { max_bulk: 4096, max_arguments: 64, max_inline: 1024 };
    let split = data.first().map_or(0, |&byte| byte as usize % (data.len().max(1)));
    let mut buffer = BytesMut::new();
    for chunk in [&data[..split], &data[split..]] {
        buffer.extend_from_slice(chunk);
        loop {
            let before = buffer.len();
            match parse_command(&mut buffer, &limits) {
                Ok(Some(command)) => {
                    assert!(command.len() <= limits.max_arguments);
                    assert!(command.iter().all(|argument| argument.len() <= limits.max_bulk.max(limits.max_inline)));
                    assert!(buffer.len() < before, "a parsed command consumes input");
                }
                Ok(None) => break,
                Err(_) => return,
            }
        }
    }
});
