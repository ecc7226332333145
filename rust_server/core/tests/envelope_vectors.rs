//! The shared vector file pins the envelope bytes that both relays must write (relay spec §6, C02).

use summoner_relay_core::envelope::{encode, envelope_len};

#[derive(serde::Deserialize)]
struct Vector {
    addr: String,
    text: String,
    expected: String,
}

#[test]
fn encodes_every_shared_vector_byte_for_byte() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/conformance/vectors/envelope.jsonl"
    );
    let file = std::fs::read_to_string(path).expect("the vector file is part of the repository");
    let mut count = 0;
    for (number, line) in file.lines().enumerate() {
        let vector: Vector = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("vector line {}: {e}", number + 1));
        let encoded = encode(&vector.addr, &vector.text);
        let expected = format!("{}\n", vector.expected);
        assert_eq!(
            std::str::from_utf8(&encoded).expect("envelopes are UTF-8"),
            expected,
            "vector line {}",
            number + 1
        );
        assert_eq!(envelope_len(&vector.addr, &vector.text), encoded.len() - 1);
        count += 1;
    }
    assert!(count >= 40, "only {count} vectors");
}
