//! A minimal Docker registry token server (the `auth.token` flow of distribution): checks HTTP
//! Basic credentials and answers an ES256 JWT, signed by a key whose self-signed certificate
//! the registry trusts (`rootcertbundle`) and that travels in the token's `x5c` header.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use rcgen::{CertificateParams, KeyPair, SigningKey as _};

pub const ISSUER: &str = "respawn-test-issuer";
pub const SERVICE: &str = "respawn-test-registry";

struct TokenState {
    key: KeyPair,
    cert_der: Vec<u8>,
    user: String,
    password: String,
}

/// A running token server.
pub struct TokenServer {
    pub port: u16,
    /// PEM of the signing certificate (the registry's `rootcertbundle`).
    pub cert_pem: String,
}

impl TokenServer {
    pub fn start(user: &str, password: &str) -> TokenServer {
        let key = KeyPair::generate().unwrap();
        let cert = CertificateParams::new(vec!["respawn-token-signer".to_string()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        let state = Arc::new(TokenState {
            key,
            cert_der: cert.der().to_vec(),
            user: user.into(),
            password: password.into(),
        });
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        super::background().spawn(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            let app = axum::Router::new()
                .route("/token", axum::routing::get(token))
                .with_state(state);
            axum::serve(listener, app).await.unwrap();
        });
        TokenServer {
            port,
            cert_pem: cert.pem(),
        }
    }

    pub fn realm(&self) -> String {
        format!("http://127.0.0.1:{}/token", self.port)
    }
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' if i + 2 < b.len() => {
                out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap_or(b'?'));
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn basic_ok(headers: &HeaderMap, st: &TokenState) -> bool {
    let Some(v) = headers.get("authorization").and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let Some(b64) = v.strip_prefix("Basic ") else {
        return false;
    };
    let Ok(raw) = STANDARD.decode(b64) else {
        return false;
    };
    raw == format!("{}:{}", st.user, st.password).into_bytes()
}

/// DER `SEQUENCE { INTEGER r, INTEGER s }` → the JWS form `r || s` (32 bytes each).
fn der_to_jws(der: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(64);
    let mut i = 2; // SEQUENCE tag + short length
    for _ in 0..2 {
        assert_eq!(der[i], 0x02, "INTEGER expected");
        let len = der[i + 1] as usize;
        let int = &der[i + 2..i + 2 + len];
        let int = if int.len() > 32 {
            &int[int.len() - 32..]
        } else {
            int
        };
        out.extend(std::iter::repeat_n(0, 32 - int.len()));
        out.extend_from_slice(int);
        i += 2 + len;
    }
    out
}

async fn token(State(st): State<Arc<TokenState>>, headers: HeaderMap, RawQuery(q): RawQuery) -> Response {
    if !basic_ok(&headers, &st) {
        return (StatusCode::UNAUTHORIZED, "bad credentials").into_response();
    }
    let mut access = Vec::new();
    for pair in q.unwrap_or_default().split('&') {
        let Some(("scope", v)) = pair.split_once('=') else {
            continue;
        };
        let scope = percent_decode(v);
        let mut parts = scope.splitn(3, ':');
        if let (Some(kind), Some(name), Some(actions)) = (parts.next(), parts.next(), parts.next()) {
            let actions: Vec<&str> = actions.split(',').collect();
            access.push(serde_json::json!({"type": kind, "name": name, "actions": actions}));
        }
    }
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs();
    let header = serde_json::json!({"typ": "JWT", "alg": "ES256", "x5c": [STANDARD.encode(&st.cert_der)]});
    let claims = serde_json::json!({
        "iss": ISSUER, "sub": st.user, "aud": SERVICE, "exp": now + 300, "nbf": now - 10,
        "iat": now, "jti": format!("{now}-{}", access.len()), "access": access,
    });
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let sig = der_to_jws(&st.key.sign(input.as_bytes()).unwrap());
    let jwt = format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig));
    axum::Json(serde_json::json!({"token": jwt, "expires_in": 300})).into_response()
}
