//! Content negotiation for `/metrics` by the rules of RFC 9110 §12.5:
//! `Accept` picks Prometheus text or OpenMetrics, `Accept-Encoding` picks
//! gzip or none, both by quality values (`q=0` refuses), case-insensitive.

/// One element of a comma-separated header: its token (lower case), its
/// parameters (names lower case) and its weight, 0 to 1000 (q × 1000).
#[derive(Debug, PartialEq, Eq)]
struct Element {
    token: String,
    params: Vec<(String, String)>,
    weight: u16,
}

/// The elements of `value`; an element whose weight is not a valid
/// `qvalue` (0 to 1 with at most three decimals) is left out, as the RFC
/// says a recipient may.
fn elements(value: &str) -> Vec<Element> {
    let mut out = Vec::new();
    for item in value.split(',') {
        let mut parts = item.split(';').map(str::trim);
        let token = parts.next().unwrap_or("").to_ascii_lowercase();
        if token.is_empty() {
            continue;
        }
        let mut weight = Some(1000);
        let mut params = Vec::new();
        for part in parts {
            let (name, value) = part.split_once('=').unwrap_or((part, ""));
            let name = name.trim().to_ascii_lowercase();
            let value = value.trim().trim_matches('"');
            if name == "q" {
                weight = qvalue(value);
            } else if !name.is_empty() {
                params.push((name, value.to_owned()));
            }
        }
        if let Some(weight) = weight {
            out.push(Element {
                token,
                params,
                weight,
            });
        }
    }
    out
}

/// `qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )`, × 1000.
fn qvalue(text: &str) -> Option<u16> {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    if fraction.len() > 3 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let thousandths: u16 = format!("{fraction:0<3}").parse().ok()?;
    match whole {
        "0" => Some(thousandths),
        "1" if thousandths == 0 => Some(1000),
        _ => None,
    }
}

/// The OpenMetrics versions `bpfscope serve` writes (1.0.0), and the
/// earlier one Prometheus also asks for, whose text is the same for what
/// bpfscope exposes.
const OPENMETRICS_VERSIONS: [&str; 2] = ["1.0.0", "0.0.1"];
/// The Prometheus text format's version.
const TEXT_VERSION: &str = "0.0.4";

fn version_is(element: &Element, supported: &[&str]) -> bool {
    element
        .params
        .iter()
        .find(|(name, _)| name == "version")
        .is_none_or(|(_, version)| supported.contains(&version.as_str()))
}

/// The weight `accept` gives a representation: the most specific range
/// that matches it (exact type, then `type/*`, then `*/*`).
fn weight_of(accept: &[Element], exact: &str, versions: &[&str]) -> Option<(u16, bool)> {
    let group = exact.split('/').next().unwrap_or("");
    let exact_weight = accept
        .iter()
        .filter(|e| e.token == exact && version_is(e, versions))
        .map(|e| e.weight)
        .max();
    if let Some(weight) = exact_weight {
        return Some((weight, true));
    }
    if accept.iter().any(|e| e.token == exact) {
        return Some((0, true)); // only versions this build does not write
    }
    let group_range = format!("{group}/*");
    accept
        .iter()
        .filter(|e| e.token == group_range)
        .map(|e| e.weight)
        .max()
        .or_else(|| {
            accept
                .iter()
                .filter(|e| e.token == "*/*")
                .map(|e| e.weight)
                .max()
        })
        .map(|weight| (weight, false))
}

/// Whether to answer in OpenMetrics: only when the client names it (a
/// supported version, or none), with a weight above zero and at least the
/// Prometheus text format's. A wildcard alone (`*/*`, curl's) gets text.
#[must_use]
pub fn prefers_openmetrics(accept: Option<&str>) -> bool {
    let Some(accept) = accept else {
        return false;
    };
    let accept = elements(accept);
    let Some((open, true)) = weight_of(
        &accept,
        "application/openmetrics-text",
        &OPENMETRICS_VERSIONS,
    ) else {
        return false;
    };
    let text = weight_of(&accept, "text/plain", &[TEXT_VERSION]).map_or(0, |(weight, _)| weight);
    open > 0 && open >= text
}

/// Whether to gzip the answer: `gzip` (or `x-gzip`) named with a weight
/// above zero, or, when it is not named, `*` with one.
#[must_use]
pub fn takes_gzip(accept_encoding: Option<&str>) -> bool {
    let Some(value) = accept_encoding else {
        return false;
    };
    let codings = elements(value);
    let named = codings
        .iter()
        .filter(|e| e.token == "gzip" || e.token == "x-gzip")
        .map(|e| e.weight)
        .max();
    let weight = named.or_else(|| {
        codings
            .iter()
            .filter(|e| e.token == "*")
            .map(|e| e.weight)
            .max()
    });
    weight.is_some_and(|w| w > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What Prometheus 2.x and 3.x send when scraping.
    const PROMETHEUS_ACCEPT: &str = "application/openmetrics-text;version=1.0.0,\
        application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";

    #[test]
    fn openmetrics_only_when_named_preferred_and_of_a_version_written() {
        let yes = [
            PROMETHEUS_ACCEPT,
            "application/openmetrics-text",
            "APPLICATION/OpenMetrics-Text; Version=1.0.0",
            "text/plain;q=0.5, application/openmetrics-text;q=0.6",
            "application/openmetrics-text;version=0.0.1;q=0.3",
            "application/openmetrics-text, */*",
        ];
        let no = [
            "",
            "*/*",
            "text/plain",
            "application/*",
            "application/openmetrics-text;q=0, text/plain",
            "application/openmetrics-text;Q=0",
            "application/openmetrics-text;q=0.000",
            "application/openmetrics-text;q=0.4, text/plain;q=0.5",
            "application/openmetrics-text;version=2.0.0",
            "application/openmetrics-text;version=2.0.0, text/plain;q=0.1",
            "x-application/openmetrics-text-not",
            "application/openmetrics-textual",
            "application/openmetrics-text;q=2",
            "application/openmetrics-text;q=0.5555",
        ];
        for accept in yes {
            assert!(prefers_openmetrics(Some(accept)), "{accept:?}");
        }
        for accept in no {
            assert!(!prefers_openmetrics(Some(accept)), "{accept:?}");
        }
        assert!(!prefers_openmetrics(None));
    }

    #[test]
    fn gzip_by_its_weight_or_the_wildcards() {
        let yes = [
            "gzip",
            "GZIP",
            "deflate, gzip;q=0.5",
            "*",
            "x-gzip",
            "gzip;q=0.001",
            "br;q=1, *;q=0.2",
        ];
        let no = [
            "",
            "gzip;q=0",
            "GZIP;Q=0",
            "gzip;q=0, *",
            "*;q=0",
            "identity",
            "br, gzipx",
            "gzip;q=1.5",
        ];
        for value in yes {
            assert!(takes_gzip(Some(value)), "{value:?}");
        }
        for value in no {
            assert!(!takes_gzip(Some(value)), "{value:?}");
        }
        assert!(!takes_gzip(None));
    }

    #[test]
    fn qvalues_by_the_grammar() {
        assert_eq!(qvalue("1"), Some(1000));
        assert_eq!(qvalue("1.000"), Some(1000));
        assert_eq!(qvalue("0.5"), Some(500));
        assert_eq!(qvalue("0.05"), Some(50));
        assert_eq!(qvalue("0"), Some(0));
        for bad in ["1.001", "2", "-1", "0.1234", ".5", "0.x", "", "1e0", " 0.5"] {
            assert_eq!(qvalue(bad), None, "{bad:?}");
        }
    }

    /// Properties over generated headers: a refused representation (q=0
    /// and nothing else names it) is never chosen, and nothing panics.
    #[test]
    fn generated_headers_never_pick_what_they_refuse() {
        let pieces = [
            "application/openmetrics-text",
            "text/plain",
            "*/*",
            "application/*",
            "gzip",
            "*",
            "identity",
            ";q=0",
            ";q=1",
            ";q=0.5",
            ";version=1.0.0",
            ";version=9",
            ",",
            " ",
            ";",
            "=",
            "\"",
            "é",
        ];
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        for _ in 0..20_000 {
            let mut header = String::new();
            for _ in 0..(state % 9) {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                header.push_str(pieces[(state % pieces.len() as u64) as usize]);
            }
            let open = prefers_openmetrics(Some(&header));
            let gzip = takes_gzip(Some(&header));
            let items = elements(&header);
            if open {
                assert!(
                    items
                        .iter()
                        .any(|e| e.token == "application/openmetrics-text" && e.weight > 0),
                    "{header:?}"
                );
            }
            if gzip {
                assert!(
                    items
                        .iter()
                        .any(|e| (e.token == "gzip" || e.token == "*") && e.weight > 0),
                    "{header:?}"
                );
            }
        }
    }
}
