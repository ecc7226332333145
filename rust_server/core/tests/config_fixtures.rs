//! The shared config fixtures (relay spec §6, C22): the Rust validator accepts every valid
//! file and reports exactly the expected key paths for every invalid one, as pydantic does.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use summoner_relay_core::config;

fn fixtures(kind: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/conformance/configs")
        .join(kind);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("the fixture directory is part of the repository")
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| {
            path.extension().is_some_and(|ext| ext == "json")
                && !path.to_string_lossy().ends_with(".expected.json")
        })
        .collect();
    files.sort();
    files
}

#[test]
fn accepts_every_valid_fixture_even_when_strict() {
    let files = fixtures("valid");
    assert!(files.len() >= 10, "only {} valid fixtures", files.len());
    for path in files {
        let text = std::fs::read_to_string(&path).expect("readable fixture");
        if let Err(errors) = config::parse(&text, true) {
            panic!("{} should be valid:\n{errors}", path.display());
        }
    }
}

#[test]
fn reports_the_expected_key_paths_for_every_invalid_fixture() {
    let files = fixtures("invalid");
    assert!(files.len() >= 20, "only {} invalid fixtures", files.len());
    let mut mismatches = Vec::new();
    for path in files {
        let text = std::fs::read_to_string(&path).expect("readable fixture");
        let expected_path = path.with_extension("expected.json");
        let expected: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(&expected_path)
                .expect("every invalid fixture has expectations"),
        )
        .expect("expectations are JSON");
        let expected: BTreeSet<String> = expected["paths"]
            .as_array()
            .expect("a paths list")
            .iter()
            .filter_map(|p| p.as_str().map(str::to_owned))
            .collect();
        let found: BTreeSet<String> = match config::parse(&text, false) {
            Ok(_) => BTreeSet::new(),
            Err(errors) => errors.0.into_iter().map(|issue| issue.path).collect(),
        };
        if found != expected {
            mismatches.push(format!(
                "{}: expected {expected:?}, found {found:?}",
                path.display()
            ));
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}
