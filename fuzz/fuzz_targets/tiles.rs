#![no_main]

use actledger_e2e::fuzz::{Target, run};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| run(Target::Tiles, data));
