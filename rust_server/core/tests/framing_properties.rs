//! Invariants of the line reader: segmentation never changes what comes out.

use bytes::BytesMut;
use proptest::prelude::*;
use summoner_relay_core::envelope::{encode, envelope_len};
use summoner_relay_core::framing::{Frame, LineReader};

fn read_all(stream: &[u8], chunk_sizes: &[usize], limit: usize) -> Vec<Frame> {
    let mut reader = LineReader::new(limit);
    let mut buf = BytesMut::new();
    let mut frames = Vec::new();
    let mut rest = stream;
    let mut sizes = chunk_sizes.iter().cycle();
    while !rest.is_empty() {
        let take = (*sizes.next().unwrap_or(&1)).clamp(1, rest.len());
        buf.extend_from_slice(&rest[..take]);
        rest = &rest[take..];
        frames.extend(std::iter::from_fn(|| reader.decode(&mut buf)));
        assert!(
            buf.len() <= limit + 1 + take,
            "buffer held {} bytes",
            buf.len()
        );
    }
    frames.extend(std::iter::from_fn(|| reader.decode_eof(&mut buf)));
    frames
}

proptest! {
    #[test]
    fn any_chunking_gives_the_same_frames(
        stream in proptest::collection::vec(prop_oneof![Just(b'\n'), Just(b'\r'), Just(b'a'), any::<u8>()], 0..400),
        chunks in proptest::collection::vec(1usize..40, 1..10),
        limit in 1usize..40,
    ) {
        let whole = read_all(&stream, &[stream.len().max(1)], limit);
        let split = read_all(&stream, &chunks, limit);
        prop_assert_eq!(whole, split);
    }

    #[test]
    fn envelope_len_equals_the_encoded_length(text in ".*", port in 0u16..) {
        let addr = format!("127.0.0.1:{port}");
        prop_assert_eq!(envelope_len(&addr, &text) + 1, encode(&addr, &text).len());
        let parsed: serde_json::Value = serde_json::from_slice(&encode(&addr, &text)).expect("valid JSON");
        prop_assert_eq!(parsed["content"].as_str(), Some(text.as_str()));
    }
}
