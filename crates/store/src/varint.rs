//! Unsigned LEB128 varints, the one encoding of lengths and positions inside the store's values
//! (log chunks, postings, cache records). Only the minimal form is read back: a value has one
//! encoding, so a changed byte cannot pass for the same number.

/// Appends `n`, seven bits a byte, low bits first.
pub(crate) fn put(out: &mut Vec<u8>, mut n: u64) {
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

/// Reads a varint from the front of `bytes`: `None` when it is cut short, longer than 64 bits
/// or not minimal (a last byte of zero after the first).
pub(crate) fn take(bytes: &mut &[u8]) -> Option<u64> {
    let mut n: u64 = 0;
    for shift in (0..64).step_by(7) {
        let (&b, rest) = bytes.split_first()?;
        *bytes = rest;
        let part = u64::from(b & 0x7f);
        if shift == 63 && part > 1 {
            return None; // past 64 bits
        }
        n |= part << shift;
        if b & 0x80 == 0 {
            return (b != 0 || shift == 0).then_some(n);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_what_it_never_writes() {
        for n in [0, 1, 127, 128, 300, 1 << 21, u64::MAX - 1, u64::MAX] {
            let mut out = Vec::new();
            put(&mut out, n);
            let mut bytes = &out[..];
            assert_eq!(take(&mut bytes), Some(n));
            assert!(bytes.is_empty());
        }
        // Not minimal, cut short, past 64 bits.
        for bad in [
            &[0x80, 0x00][..],
            &[0x81],
            &[0xff; 10],
            &[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02],
        ] {
            let mut bytes = bad;
            assert_eq!(take(&mut bytes), None, "{bad:?}");
        }
    }
}
