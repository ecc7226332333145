//! TLS on the listener (relay spec §4.12, C24): a TLS client relays normally, and a
//! plaintext client is closed within the handshake timeout.

use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::{CertificateDer, ServerName};
use serde_json::json;
use summoner_relay_core::{config, Relay};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

const WAIT: Duration = Duration::from_secs(5);

struct Pki {
    dir: std::path::PathBuf,
    cert_der: CertificateDer<'static>,
}

fn make_pki(tag: &str) -> Pki {
    let generated =
        rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).expect("self-signed cert");
    let dir = std::env::temp_dir().join(format!("summoner-tls-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    std::fs::write(dir.join("cert.pem"), generated.cert.pem()).expect("write cert");
    std::fs::write(dir.join("key.pem"), generated.signing_key.serialize_pem()).expect("write key");
    Pki {
        cert_der: generated.cert.der().clone(),
        dir,
    }
}

async fn start(
    pki: &Pki,
) -> (
    Arc<Relay>,
    std::net::SocketAddr,
    tokio::sync::oneshot::Sender<()>,
) {
    let value = json!({
        "host": "127.0.0.1", "port": 0,
        "security": {
            "tls_cert_file": pki.dir.join("cert.pem"),
            "tls_key_file": pki.dir.join("key.pem"),
            "handshake_timeout_secs": 0.5
        }
    });
    let validated = config::parse_value(&value, true).expect("valid config");
    let relay = Arc::new(Relay::new(validated.config).expect("relay with TLS"));
    let addr = relay.bind().expect("bind");
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let serving = Arc::clone(&relay);
    tokio::spawn(async move {
        serving
            .serve(async {
                let _ = rx.await;
            })
            .await
            .expect("serve");
    });
    (relay, addr, tx)
}

async fn tls_client(
    pki: &Pki,
    addr: std::net::SocketAddr,
) -> tokio_rustls::client::TlsStream<TcpStream> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(pki.cert_der.clone()).expect("trust the test CA");
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    let tcp = TcpStream::connect(addr).await.expect("connect");
    TlsConnector::from(Arc::new(config))
        .connect(ServerName::try_from("localhost").expect("name"), tcp)
        .await
        .expect("TLS handshake")
}

#[tokio::test]
async fn relays_between_tls_clients_and_closes_plaintext_ones() {
    let pki = make_pki("relay");
    let (relay, addr, stop) = start(&pki).await;
    let a = tls_client(&pki, addr).await;
    let b = tls_client(&pki, addr).await;
    let (_, mut a_write) = tokio::io::split(a);
    let (b_read, _b_write) = tokio::io::split(b);
    let mut b_lines = BufReader::new(b_read);
    tokio::time::timeout(WAIT, async {
        while !relay.stats().iter().any(|(n, v)| n == "members" && *v == 2) {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    })
    .await
    .expect("both joined");
    a_write.write_all(b"over tls\n").await.expect("write");
    let mut line = String::new();
    tokio::time::timeout(WAIT, b_lines.read_line(&mut line))
        .await
        .expect("line in time")
        .expect("read");
    assert!(line.ends_with("\"content\":\"over tls\"}\n"), "{line}");

    let mut plain = TcpStream::connect(addr).await.expect("connect");
    plain.write_all(b"hello\n").await.expect("write");
    let mut rest = Vec::new();
    let closed = tokio::time::timeout(WAIT, plain.read_to_end(&mut rest)).await;
    assert!(
        closed.is_ok(),
        "a plaintext client is closed within the handshake timeout"
    );
    let _ = stop.send(());
    let _ = std::fs::remove_dir_all(&pki.dir);
}
