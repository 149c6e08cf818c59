//! A client of Prometheus' HTTP API (`/api/v1/query`, `/api/v1/query_range`)
//! with `ureq`: bounded in time (every request) and size (every answer),
//! and every failure a [`FleetError`] in words a user can act on.

use std::collections::BTreeMap;
use std::time::Duration;

use base64::Engine;
use serde_json::Value;

use super::error::FleetError;
use crate::model::FleetTarget;

/// A request's time, connecting included.
pub const TIMEOUT: Duration = Duration::from_secs(10);
/// An answer's size at most.
const BODY_MAX: u64 = 16 * 1024 * 1024;
/// A CA file's size at most.
const CA_MAX: u64 = 1024 * 1024;
/// Where Debian and its derivatives keep the system's trusted CAs.
const SYSTEM_CAS: &str = "/etc/ssl/certs/ca-certificates.crt";

/// One series of an instant query: its labels and value.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

/// One series of a range query: its labels and (time, value) points.
#[derive(Debug, Clone, PartialEq)]
pub struct Range {
    pub labels: BTreeMap<String, String>,
    pub points: Vec<(f64, f64)>,
}

#[derive(Debug)]
pub struct Client {
    agent: ureq::Agent,
    /// The URL as given, without a trailing `/`.
    pub base: String,
    authorization: Option<String>,
}

impl Client {
    /// Checks the URL and reads the CA file; the error says what is wrong.
    pub fn new(target: &FleetTarget) -> Result<Self, FleetError> {
        let base = target.url.trim().trim_end_matches('/').to_owned();
        let scheme_ok = base.starts_with("http://") || base.starts_with("https://");
        if !scheme_ok || base.len() <= "https://".len() {
            return Err(FleetError::NotAUrl { url: base });
        }
        let authority = base.split_once("://").map_or("", |(_, rest)| rest);
        if authority.split('/').next().is_some_and(|a| a.contains('@')) {
            return Err(FleetError::CredentialsInUrl);
        }
        let mut roots = Vec::new();
        if let Ok(pem) = std::fs::read(SYSTEM_CAS) {
            roots.extend(certificates(&pem));
        }
        let ca = target.ca_file.trim();
        if !ca.is_empty() {
            let pem = read_small(ca)?;
            let found = certificates(&pem);
            if found.is_empty() {
                return Err(FleetError::NoCaCertificate {
                    path: ca.to_owned(),
                });
            }
            roots.extend(found);
        }
        let tls = ureq::tls::TlsConfig::builder()
            .root_certs(if roots.is_empty() {
                ureq::tls::RootCerts::WebPki
            } else {
                ureq::tls::RootCerts::from(roots)
            })
            .build();
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(TIMEOUT))
            .http_status_as_error(false)
            .user_agent(concat!("bpfscope/", env!("CARGO_PKG_VERSION")))
            .tls_config(tls)
            .build()
            .into();
        let authorization = (!target.user.is_empty()).then(|| {
            let raw = format!("{}:{}", target.user, target.password);
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(raw)
            )
        });
        Ok(Self {
            agent,
            base,
            authorization,
        })
    }

    /// An instant query's vector.
    pub fn instant(&self, promql: &str) -> Result<Vec<Series>, FleetError> {
        let data = self.get("/api/v1/query", &[("query", promql)])?;
        results(&data, promql)?
            .iter()
            .map(|r| {
                Ok(Series {
                    labels: labels(r),
                    value: number(r.get("value")).unwrap_or(f64::NAN),
                })
            })
            .collect()
    }

    /// A range query's matrix from `start` to `end` (Unix seconds).
    pub fn range(
        &self,
        promql: &str,
        start: f64,
        end: f64,
        step: f64,
    ) -> Result<Vec<Range>, FleetError> {
        let (start, end, step) = (
            format!("{start:.3}"),
            format!("{end:.3}"),
            format!("{step}"),
        );
        let data = self.get(
            "/api/v1/query_range",
            &[
                ("query", promql),
                ("start", &start),
                ("end", &end),
                ("step", &step),
            ],
        )?;
        Ok(results(&data, promql)?
            .iter()
            .map(|r| Range {
                labels: labels(r),
                points: r
                    .get("values")
                    .and_then(Value::as_array)
                    .map(|values| {
                        values
                            .iter()
                            .filter_map(|v| Some((v.get(0)?.as_f64()?, number(Some(v))?)))
                            .collect()
                    })
                    .unwrap_or_default(),
            })
            .collect())
    }

    /// `GET path?params`, answered with Prometheus' `data` on success.
    fn get(&self, path: &str, params: &[(&str, &str)]) -> Result<Value, FleetError> {
        let url = format!("{}{path}", self.base);
        let mut request = self.agent.get(&url);
        for (key, value) in params {
            request = request.query(*key, *value);
        }
        if let Some(authorization) = &self.authorization {
            request = request.header("Authorization", authorization);
        }
        let mut answer = request.call().map_err(|err| self.unreachable(err))?;
        let status = answer.status().as_u16();
        if status == 401 || status == 403 {
            return Err(FleetError::Refused {
                base: self.base.clone(),
                status,
            });
        }
        let body = answer
            .body_mut()
            .with_config()
            .limit(BODY_MAX)
            .read_to_string()
            .map_err(|error| FleetError::Read {
                base: self.base.clone(),
                error,
            })?;
        let Ok(mut json) = serde_json::from_str::<Value>(&body) else {
            return Err(FleetError::NotPrometheus {
                base: self.base.clone(),
                status,
            });
        };
        if json.get("status").and_then(Value::as_str) != Some("success") {
            let field = |key: &str, otherwise: &str| {
                json.get(key)
                    .and_then(Value::as_str)
                    .unwrap_or(otherwise)
                    .to_owned()
            };
            return Err(FleetError::Query {
                kind: field("errorType", "error"),
                said: field("error", "no reason given"),
            });
        }
        json.get_mut("data")
            .map(Value::take)
            .ok_or_else(|| FleetError::NoData {
                base: self.base.clone(),
            })
    }

    fn unreachable(&self, error: ureq::Error) -> FleetError {
        let base = self.base.clone();
        match error {
            ureq::Error::Timeout(_) => FleetError::Timeout { base },
            ureq::Error::HostNotFound => FleetError::NoSuchHost { base },
            other => FleetError::Unreachable { base, error: other },
        }
    }
}

/// The CA file `path`: a regular file of at most [`CA_MAX`] bytes (not a
/// FIFO that would block, not a device without end).
fn read_small(path: &str) -> Result<Vec<u8>, FleetError> {
    use std::io::Read as _;
    let unreadable = |error| FleetError::UnreadableCa {
        path: path.to_owned(),
        error,
    };
    let file = std::fs::File::open(path).map_err(unreadable)?;
    let meta = file.metadata().map_err(unreadable)?;
    if !meta.is_file() || meta.len() > CA_MAX {
        return Err(FleetError::CaNotAFile {
            path: path.to_owned(),
        });
    }
    let mut bytes = Vec::new();
    file.take(CA_MAX)
        .read_to_end(&mut bytes)
        .map_err(unreadable)?;
    Ok(bytes)
}

fn certificates(pem: &[u8]) -> Vec<ureq::tls::Certificate<'static>> {
    ureq::tls::parse_pem(pem)
        .filter_map(|item| match item {
            Ok(ureq::tls::PemItem::Certificate(cert)) => Some(cert),
            _ => None,
        })
        .collect()
}

fn results<'a>(data: &'a Value, promql: &str) -> Result<&'a Vec<Value>, FleetError> {
    data.get("result")
        .and_then(Value::as_array)
        .ok_or_else(|| FleetError::NoResult {
            query: promql.to_owned(),
        })
}

/// A series' labels, cleaned for showing.
fn labels(result: &Value) -> BTreeMap<String, String> {
    result
        .get("metric")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| Some((k.clone(), crate::model::clean_label(v.as_str()?))))
                .collect()
        })
        .unwrap_or_default()
}

/// `[time, "value"]` → the value, if a finite number.
fn number(pair: Option<&Value>) -> Option<f64> {
    let value: f64 = pair?.get(1)?.as_str()?.parse().ok()?;
    value.is_finite().then_some(value)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_url_without_a_scheme_or_an_unreadable_ca_is_said_at_once() {
        let bad = FleetTarget {
            url: "prometheus:9090".into(),
            ..FleetTarget::default()
        };
        let err = Client::new(&bad).unwrap_err();
        assert!(
            matches!(&err, FleetError::NotAUrl { url } if url == "prometheus:9090"),
            "{err:?}"
        );
        let ca = FleetTarget {
            url: "https://prometheus:9090/".into(),
            ca_file: "/nonexistent/ca.pem".into(),
            ..FleetTarget::default()
        };
        let err = Client::new(&ca).unwrap_err();
        assert!(
            matches!(&err, FleetError::UnreadableCa { path, .. } if path == "/nonexistent/ca.pem"),
            "{err:?}"
        );
        let ok = FleetTarget {
            url: " http://prometheus:9090/ ".into(),
            ..FleetTarget::default()
        };
        assert_eq!(Client::new(&ok).unwrap().base, "http://prometheus:9090");
    }

    #[test]
    fn values_that_are_not_finite_numbers_are_left_out() {
        let v: Value = serde_json::from_str(r#"[1, "NaN"]"#).unwrap();
        assert_eq!(number(Some(&v)), None);
        let v: Value = serde_json::from_str(r#"[1, "+Inf"]"#).unwrap();
        assert_eq!(number(Some(&v)), None);
        let v: Value = serde_json::from_str(r#"[1, "0.25"]"#).unwrap();
        assert_eq!(number(Some(&v)), Some(0.25));
        let v: Value = serde_json::from_str("[1, 2]").unwrap();
        assert_eq!(number(Some(&v)), None);
    }
}
