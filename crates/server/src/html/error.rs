//! Errors as pages for people. Every error is a problem (`crate::problem`); this middleware
//! draws it as an HTML page, keeping its status and headers, when the request is a person's:
//!
//! - on a page's route (`/`, `/offices/{office}`, `/acts/{act}`), unless `Accept` prefers
//!   `application/json` or `application/problem+json` to `text/html`;
//! - on a path no route has, outside `/api/`, `/tlog/` and `/healthz`, when `Accept` asks for
//!   `text/html` at least as much as for JSON (a browser does; `curl` does not).
//!
//! The API's routes always answer problem details. The page says what went wrong, links the
//! close offices an unknown office suggests, and leads back to the index.

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;

use actledger_pages::escape;

use super::page;
use crate::problem::{ProblemDetails, kind};
use crate::routes::HTML;

/// Marks a response as one of a page's route: its errors are pages unless JSON is asked for.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PageRoute;

/// Marks every response of the pages' routes with [`PageRoute`].
pub(crate) async fn mark_page(mut response: Response) -> Response {
    response.extensions_mut().insert(PageRoute);
    response
}

/// Draws the problem of an error response as an HTML page when a person asked (see the
/// module's documentation); leaves every other response as it is.
pub(crate) async fn pages_for_people(request: Request, next: Next) -> Response {
    let path = request.uri().path().to_owned();
    let query = request.uri().query().unwrap_or("").to_owned();
    let accept = Accept::of(request.headers());
    let mut response = next.run(request).await;
    let Some(details) = response.extensions().get::<ProblemDetails>().cloned() else {
        return response;
    };
    let on_page = response.extensions().get::<PageRoute>().is_some();
    if !on_page && is_api(&path) {
        return response;
    }
    // Either answer could have come: caches must tell them apart.
    response
        .headers_mut()
        .append(header::VARY, HeaderValue::from_static("accept"));
    let html = if on_page {
        !accept.prefers_json()
    } else {
        accept.prefers_html()
    };
    if !html {
        return response;
    }
    let body = error_page(&details, &path, &query, on_page);
    let (mut parts, _) = response.into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    parts
        .headers
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(HTML));
    Response::from_parts(parts, Body::from(body))
}

/// The routes of the API and of the log (`/tlog/`), which never answer a page.
fn is_api(path: &str) -> bool {
    path == "/healthz" || under(path, "/api") || under(path, crate::tlog::PREFIX)
}

/// Whether `path` is `prefix` or under it.
fn under(path: &str, prefix: &str) -> bool {
    path.strip_prefix(prefix)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

/// How much the request's `Accept` wants HTML and JSON (problem details count as JSON); 0
/// for what it does not name. Wildcards name neither.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Accept {
    html: f32,
    json: f32,
}

impl Accept {
    fn of(headers: &HeaderMap) -> Accept {
        let mut accept = Accept {
            html: 0.0,
            json: 0.0,
        };
        let items = headers
            .get_all(header::ACCEPT)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','));
        for item in items {
            let item = item.to_ascii_lowercase();
            let mut parts = item.split(';').map(str::trim);
            let media = parts.next().unwrap_or("");
            let q = parts
                .find_map(|p| p.strip_prefix("q="))
                .and_then(|q| q.parse::<f32>().ok())
                .unwrap_or(1.0);
            match media {
                "text/html" | "application/xhtml+xml" => accept.html = accept.html.max(q),
                "application/json" | "application/problem+json" => {
                    accept.json = accept.json.max(q);
                }
                _ => {}
            }
        }
        accept
    }

    fn prefers_json(self) -> bool {
        self.json > 0.0 && self.json > self.html
    }

    fn prefers_html(self) -> bool {
        self.html > 0.0 && self.html >= self.json
    }
}

/// The page of an error: what went wrong, the close offices as links, the same page without
/// the parameter at fault, and the way back to the index.
fn error_page(problem: &ProblemDetails, path: &str, query: &str, on_page: bool) -> Vec<u8> {
    let title = capitalized(&problem.title);
    let mut body = format!(
        "<h1>{} <small>{}</small></h1><p class=\"problem\" id=\"problem\" data-type=\"{}\">{}</p>",
        escape(&title),
        problem.status,
        escape(&problem.kind),
        escape(&problem.detail),
    );
    if !problem.suggestions.is_empty() {
        let keep = if on_page && !query.is_empty() {
            format!("?{query}")
        } else {
            String::new()
        };
        let links: Vec<String> = problem
            .suggestions
            .iter()
            .map(|s| {
                let s = escape(s);
                if problem.kind == kind::UNKNOWN_OFFICE {
                    format!("<a href=\"/offices/{s}{}\">{s}</a>", escape(&keep))
                } else {
                    s
                }
            })
            .collect();
        body.push_str("<p id=\"suggestions\">Did you mean ");
        body.push_str(&links.join(", "));
        body.push_str("?</p>");
    }
    if let Some(field) = problem.field.as_deref().filter(|_| on_page) {
        let kept: Vec<&str> = query
            .split('&')
            .filter(|pair| !pair.is_empty() && pair.split('=').next() != Some(field))
            .collect();
        let href = if kept.is_empty() {
            path.to_owned()
        } else {
            format!("{path}?{}", kept.join("&"))
        };
        body.push_str(&format!(
            "<p><a id=\"without\" href=\"{}\">The same page without <code>{}</code></a></p>",
            escape(&href),
            escape(field)
        ));
    }
    body.push_str("<p><a id=\"back\" href=\"/\">Back to the index of offices</a></p>");
    page(&format!("{} {title}", problem.status), &body, "")
}

/// "unknown office" as a heading: "Unknown office".
fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(value: &str) -> Accept {
        let mut headers = HeaderMap::new();
        headers.insert(header::ACCEPT, HeaderValue::from_str(value).unwrap());
        Accept::of(&headers)
    }

    #[test]
    fn a_browser_prefers_html_and_an_api_client_json() {
        let browser =
            accept("text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,*/*;q=0.8");
        assert!(browser.prefers_html() && !browser.prefers_json());
        for json in [
            "application/json",
            "application/problem+json",
            "application/json, text/html;q=0.5",
        ] {
            let client = accept(json);
            assert!(client.prefers_json() && !client.prefers_html(), "{json}");
        }
        let anything = accept("*/*");
        assert!(!anything.prefers_html() && !anything.prefers_json());
        assert!(!Accept::of(&HeaderMap::new()).prefers_json());
    }
}
