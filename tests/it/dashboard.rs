//! The dashboard's routes in-process, over a real PostgreSQL: signing in with a token, the
//! session cookie's attributes, CSRF refusals, a viewer refused an operator's action, the
//! security headers on every response, and pages that show the API's numbers for the same
//! data (a real sweep against moto). The browser suite (`tests/browser/`) drives the real
//! binary in Chromium.

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use bedrock_sweeper::domain::SweepOutcome;
use http_body_util::BodyExt;
use tower::ServiceExt;

use super::api::{OPERATOR, VIEWER, app, get, silent_endpoint};
use super::helpers::{Moto, test_db};
use super::seed::Org;
use super::sweep_e2e::deps;

struct Page {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    text: String,
}

impl Page {
    fn location(&self) -> &str {
        self.headers.get(header::LOCATION).and_then(|v| v.to_str().ok()).unwrap_or("")
    }

    /// The `Set-Cookie` header of `name`.
    fn set_cookie(&self, name: &str) -> Option<String> {
        self.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|v| v.starts_with(&format!("{name}=")))
            .map(str::to_owned)
    }

    /// The first hidden CSRF field's value.
    #[track_caller]
    fn csrf(&self) -> String {
        let at = self.text.find("name=\"csrf\" value=\"").expect("a form with a CSRF token") + 19;
        self.text[at..].split('"').next().unwrap().to_owned()
    }

    /// The number the page shows under `data-metric="<key>"`.
    #[track_caller]
    fn metric(&self, key: &str) -> i64 {
        let marker = format!("data-metric=\"{key}\">");
        let at = self.text.find(&marker).unwrap_or_else(|| panic!("no {key} on the page")) + marker.len();
        self.text[at..].split('<').next().unwrap().trim().parse().unwrap()
    }
}

/// A browser: keeps the cookies the service sets.
struct Browser {
    app: Router,
    cookies: Vec<(String, String)>,
}

impl Browser {
    fn new(app: &Router) -> Self {
        Self { app: app.clone(), cookies: Vec::new() }
    }

    async fn send(&mut self, method: &str, uri: &str, form: Option<&[(&str, &str)]>) -> Page {
        let mut req = Request::builder().method(method).uri(uri);
        if !self.cookies.is_empty() {
            let jar: Vec<String> = self.cookies.iter().map(|(n, v)| format!("{n}={v}")).collect();
            req = req.header(header::COOKIE, jar.join("; "));
        }
        let body = match form {
            Some(fields) => {
                req = req.header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
                let enc =
                    |s: &str| percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string();
                Body::from(fields.iter().map(|(k, v)| format!("{}={}", enc(k), enc(v))).collect::<Vec<_>>().join("&"))
            }
            None => Body::empty(),
        };
        let res = self.app.clone().oneshot(req.body(body).unwrap()).await.unwrap();
        let status = res.status();
        let headers = res.headers().clone();
        for v in headers.get_all(header::SET_COOKIE) {
            let v = v.to_str().unwrap();
            let (pair, attrs) = v.split_once(';').unwrap_or((v, ""));
            let (name, value) = pair.split_once('=').unwrap();
            self.cookies.retain(|(n, _)| n != name);
            if !attrs.contains("Max-Age=0") {
                self.cookies.push((name.to_owned(), value.to_owned()));
            }
        }
        let text = String::from_utf8(res.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap();
        Page { status, headers, text }
    }

    async fn get(&mut self, uri: &str) -> Page {
        self.send("GET", uri, None).await
    }

    async fn post(&mut self, uri: &str, form: &[(&str, &str)]) -> Page {
        self.send("POST", uri, Some(form)).await
    }

    /// Signs in with `token`; the response to the form.
    async fn sign_in(&mut self, token: &str) -> Page {
        let form = self.get("/sign-in?next=%2Fcontrols").await;
        let csrf = form.csrf();
        self.post("/sign-in", &[("token", token), ("csrf", &csrf), ("next", "/controls")]).await
    }

    /// GET that must answer 200.
    async fn page(&mut self, uri: &str) -> Page {
        let p = self.get(uri).await;
        assert_eq!(p.status, StatusCode::OK, "GET {uri}: {}", p.text);
        p
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_sessions_csrf_and_roles() {
    let (pool, _) = test_db().await;
    let (endpoint, _silent) = silent_endpoint().await;
    let (app, _) = app(&endpoint, pool.clone()).await;
    let mut anonymous = Browser::new(&app);

    // Pages need a session: the browser is sent to sign in, and back afterwards.
    let r = anonymous.get("/accounts?failing=on").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.location(), "/sign-in?next=%2Faccounts%3Ffailing%3Don");
    // Every response carries the security headers, the API's too.
    let form = anonymous.page("/sign-in").await;
    for page in [&form, &anonymous.get("/api/v1/posture").await, &anonymous.get("/healthz").await] {
        assert_eq!(page.headers[header::CONTENT_SECURITY_POLICY], bedrock_sweeper::web::CONTENT_SECURITY_POLICY);
        assert_eq!(page.headers[header::X_FRAME_OPTIONS], "DENY");
        assert_eq!(page.headers[header::REFERRER_POLICY], "no-referrer");
    }
    let csp = bedrock_sweeper::web::CONTENT_SECURITY_POLICY;
    assert!(csp.contains("default-src 'self'") && !csp.contains("unsafe-inline"), "{csp}");
    assert!(!form.text.contains("<script>") && !form.text.contains("style="), "nothing inline");

    // Wrong form token, unknown token: refused, no session.
    let mut b = Browser::new(&app);
    b.get("/sign-in").await;
    let r = b.post("/sign-in", &[("token", VIEWER), ("csrf", "forged"), ("next", "/")]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.set_cookie(bedrock_sweeper::web::session::SESSION_COOKIE).is_none());
    let r = b.sign_in("not-a-configured-token").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.text.contains("not configured") && !r.text.contains("not-a-configured-token"), "{}", r.text);
    assert!(r.set_cookie(bedrock_sweeper::web::session::SESSION_COOKIE).is_none());

    // A viewer's token: a session cookie, HttpOnly, SameSite=Strict, Secure off loopback, expiring.
    let r = b.sign_in(VIEWER).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    assert_eq!(r.location(), "/controls");
    let cookie = r.set_cookie("sweeper_session").unwrap();
    for attribute in ["HttpOnly", "SameSite=Strict", "Secure", "Path=/", "Max-Age=28800"] {
        assert!(cookie.contains(attribute), "{attribute} missing: {cookie}");
    }
    assert!(!cookie.contains(VIEWER), "the cookie does not hold the token");
    let home = b.page("/").await;
    assert!(home.text.contains("Signed in as <strong>viewer</strong>"), "{}", home.text);
    assert_eq!(home.headers[header::CACHE_CONTROL], "no-store");

    // A viewer may not start a sweep, even with the right form token.
    let sweeps = b.page("/sweeps").await;
    assert!(!sweeps.text.contains("start-sweep"), "no start button for a viewer");
    let csrf = home.csrf();
    let r = b.post("/sweeps", &[("csrf", &csrf)]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.text.contains("operator"), "{}", r.text);
    let started: i64 = sqlx::query_scalar("select count(*) from sweeps").fetch_one(&pool).await.unwrap();
    assert_eq!(started, 0);

    // An operator without the form token is refused too.
    let mut op = Browser::new(&app);
    op.sign_in(OPERATOR).await;
    let r = op.post("/sweeps", &[("csrf", &csrf)]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "another session's token does not do");
    let r = op.post("/exceptions/00000000-0000-0000-0000-000000000000/withdraw", &[("csrf", "")]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let started: i64 = sqlx::query_scalar("select count(*) from sweeps").fetch_one(&pool).await.unwrap();
    assert_eq!(started, 0);

    // A tampered cookie is no session.
    let mut forged = Browser::new(&app);
    let value = b.cookies.iter().find(|(n, _)| n == "sweeper_session").unwrap().1.clone();
    let mut chars: Vec<char> = value.chars().collect();
    let last = chars.len() - 5;
    chars[last] = if chars[last] == 'A' { 'B' } else { 'A' };
    forged.cookies.push(("sweeper_session".into(), chars.into_iter().collect()));
    assert_eq!(forged.get("/").await.status, StatusCode::SEE_OTHER);

    // Bad parameters are clear errors, as pages.
    for (uri, named) in [
        ("/accounts/123", "account id"),
        ("/controls/NOPE", "control id"),
        ("/?days=7", "days"),
        ("/findings/xyz", "finding id"),
    ] {
        let r = b.get(uri).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{uri}");
        assert!(r.text.contains(named), "{uri}: {}", r.text);
    }
    assert_eq!(b.get("/controls/BR.NET.99").await.status, StatusCode::NOT_FOUND);

    // Assets need no session, are cached, and are what the pages link.
    let css = anonymous.page("/assets/dashboard.css").await;
    assert!(css.headers[header::CONTENT_TYPE].to_str().unwrap().starts_with("text/css"));
    assert!(css.headers[header::CACHE_CONTROL].to_str().unwrap().contains("immutable"));
    assert!(home.text.contains("/assets/dashboard.js?v="), "versioned asset URLs");

    // Pages and assets are compressed for clients that accept gzip.
    for uri in ["/", "/assets/dashboard.css"] {
        let jar: Vec<String> = b.cookies.iter().map(|(n, v)| format!("{n}={v}")).collect();
        let req = Request::get(uri)
            .header(header::COOKIE, jar.join("; "))
            .header(header::ACCEPT_ENCODING, "gzip")
            .body(Body::empty())
            .unwrap();
        let res = app.clone().oneshot(req).await.unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{uri}");
        assert_eq!(res.headers()[header::CONTENT_ENCODING], "gzip", "{uri}");
    }

    // Signing out ends the session: the browser drops the cookie, and a copy of it taken
    // before is refused too.
    let copy = b.cookies.clone();
    let csrf = b.page("/").await.csrf();
    let r = b.post("/sign-out", &[("csrf", &csrf)]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(r.set_cookie("sweeper_session").unwrap().contains("Max-Age=0"));
    assert_eq!(b.get("/").await.status, StatusCode::SEE_OTHER);
    let mut replay = Browser::new(&app);
    replay.cookies = copy;
    assert_eq!(replay.get("/").await.status, StatusCode::SEE_OTHER, "a signed-out cookie is refused");
    // Another session of the same token is unaffected.
    let mut other = Browser::new(&app);
    other.sign_in(VIEWER).await;
    assert_eq!(other.get("/").await.status, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_show_what_the_api_reports() {
    let moto = Moto::start().await;
    let org = Org::create(&moto.endpoint()).await;
    let workloads = org.ou(&org.root, "Workloads").await;
    let prod = org.account("prod-app", &workloads).await;
    org.account("tooling", &org.root).await;
    let region_fence = r#"{"Version":"2012-10-17","Statement":[{"Sid":"DenyBedrockOutsideUsEast1","Effect":"Deny",
        "Action":"bedrock:*","Resource":"*","Condition":{"StringNotEquals":{"aws:RequestedRegion":["us-east-1"]}}}]}"#;
    super::scp_e2e::policy(&org, "region-fence", region_fence, &[&workloads]).await;
    let (pool, _) = test_db().await;
    let report = crate::helpers::run_sweep(&deps(&moto.endpoint(), pool.clone()).await, "test").await.unwrap();
    assert_eq!(report.status, SweepOutcome::Completed);
    let (app, _) = app(&moto.endpoint(), pool.clone()).await;
    let mut b = Browser::new(&app);
    b.sign_in(OPERATOR).await;

    // The posture page shows the API's numbers.
    let api = get(&app, "/api/v1/posture").await;
    let home = b.page("/").await;
    for key in ["accounts.total", "accounts.assessed", "accounts.not_assessed", "failing_suppressed"] {
        let pointer = format!("/{}", key.replace('.', "/"));
        assert_eq!(home.metric(key), api.pointer(&pointer).unwrap().as_i64().unwrap(), "{key}");
    }
    for status in ["pass", "fail", "error"] {
        let want = api["findings_by_status"][status].as_i64().unwrap_or(0);
        assert_eq!(home.metric(&format!("findings_by_status.{status}")), want, "{status}");
    }
    for severity in ["critical", "high", "medium", "low", "informational"] {
        let want = api["failing_by_severity"][severity].as_i64().unwrap_or(0);
        assert_eq!(home.metric(&format!("failing_by_severity.{severity}")), want, "{severity}");
    }
    assert!(home.metric("findings_by_status.fail") > 0);
    assert!(home.text.contains("<svg"), "the trend chart");

    // Accounts: the OU tree filters; the account's page lists its findings by control.
    let under = b.page("/accounts?ou=Root%2FWorkloads").await;
    assert!(under.text.contains(&prod) && !under.text.contains("tooling"), "{}", under.text);
    let account = b.page(&format!("/accounts/{prod}")).await;
    assert!(account.text.contains("Root/Workloads") && account.text.contains("BR.ORG.1"));

    // The region control's finding shows the deciding SCP statement in its probe table.
    let finding = report.findings.iter().find(|f| f.control_id == "BR.ORG.1" && f.account_id == prod).unwrap();
    let page = b.page(&format!("/findings/{}", finding.id.as_str())).await;
    assert!(page.text.contains("id=\"probes\""), "{}", page.text);
    assert!(page.text.contains("DenyBedrockOutsideUsEast1"), "the deciding statement is named");
    assert!(page.text.contains("Raw evidence (JSON)"));
    let raw = b.page(&format!("/findings/{}/evidence.json", finding.id.as_str())).await;
    assert!(serde_json::from_str::<serde_json::Value>(&raw.text).is_ok());

    // A control's page lists where it fails, as the API does.
    let failing = report.findings.iter().find(|f| f.status == bedrock_sweeper::domain::Status::Fail).unwrap();
    let control = b.page(&format!("/controls/{}", failing.control_id)).await;
    assert!(control.text.contains(failing.id.as_str()), "the failing finding is linked");
    assert!(control.text.contains("Why it matters"));

    // The evidence export, from the page and from the API, holds every active finding.
    let csv = b.page("/compliance/evidence?format=csv").await;
    let api_csv = super::api::call(&app, "GET", "/api/v1/evidence?format=csv", Some(super::api::VIEWER)).await;
    assert_eq!(api_csv.status, StatusCode::OK);
    assert_eq!(csv.text, api_csv.text);
    assert_eq!(csv.text.lines().count(), report.findings.len() + 1, "one line per finding and a header");
    assert!(csv.text.lines().skip(1).all(|l| l.rsplit(',').next().is_some_and(|h| h.len() == 64)), "evidence hashes");
    let json = get(&app, &format!("/api/v1/evidence?format=json&sweep_id={}", report.sweep_id)).await;
    assert_eq!(json["findings"].as_array().unwrap().len(), report.findings.len());
    assert!(b.page("/compliance").await.text.contains("NIST SP 800-53"));

    // An operator accepts the risk from the finding's page; the finding shows suppressed.
    let page = b.page(&format!("/findings/{}", failing.id.as_str())).await;
    assert!(page.text.contains("exception-form"));
    let csrf = page.csrf();
    let expires = (chrono::Utc::now() + chrono::Duration::days(30)).format("%Y-%m-%d").to_string();
    let mut fields = vec![
        ("csrf", csrf.as_str()),
        ("finding_id", failing.id.as_str()),
        ("control_id", failing.control_id.as_str()),
        ("account_id", failing.account_id.as_str()),
        ("resource_pattern", failing.resource_id.as_str()),
        ("reason", "Accepted by the platform team until the migration"),
        ("expires_on", expires.as_str()),
    ];
    let region = failing.region.as_ref().map(|r| r.as_str().to_owned()).unwrap_or_default();
    fields.push(("region", region.as_str()));
    let r = b.post("/exceptions", &fields).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    let page = b.page(r.location()).await;
    assert!(page.text.contains("id=\"suppressed\""), "{}", page.text);
    let listed = get(&app, "/api/v1/exceptions").await;
    assert_eq!(listed["exceptions"][0]["created_by"].as_str().unwrap().split(':').next(), Some("operator"));
    // A past expiry is refused with the reason.
    let mut past = fields.clone();
    past.retain(|(k, _)| *k != "expires_on");
    past.push(("expires_on", "2020-01-01"));
    let r = b.post("/exceptions", &past).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.text.contains("expires_at"), "{}", r.text);

    // Search: an account id goes to its page; a resource lists its findings.
    let r = b.get(&format!("/search?q={prod}")).await;
    assert_eq!(r.location(), format!("/accounts/{prod}"));
    let by_name = b.page("/search?q=prod-a").await;
    assert!(by_name.text.contains(&prod));
}

/// The evidence export as of a sweep that could not assess an account: what that sweep still
/// judged from the organization (BR.ORG.1) stands as judged, though unchanged since the sweep
/// before; what needs the role says it could not look.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn evidence_of_an_unassessed_account_keeps_what_the_sweep_itself_decided() {
    use bedrock_sweeper::domain::Status;
    let moto = Moto::start().await;
    let proxy = emulator_proxy::Proxy::start(moto.port).await;
    let org = Org::create(&moto.endpoint()).await;
    let member = org.account("later-locked", &org.root).await;
    let (pool, _) = test_db().await;
    let deps = deps(&proxy.endpoint(), pool.clone()).await;
    let first = crate::helpers::run_sweep(&deps, "test").await.unwrap();
    assert!(first.findings.iter().any(|f| f.account_id == member && f.control_id == "BR.LOG.1"));

    let locked = member.clone();
    proxy.rule(move |req| {
        (req.action().as_deref() == Some("AssumeRole") && req.body_text().contains(&locked))
            .then(|| emulator_proxy::Reply::xml_error(403, "AccessDenied", "not authorized to perform sts:AssumeRole"))
    });
    let second = crate::helpers::run_sweep(&deps, "test").await.unwrap();
    assert_eq!(second.accounts.not_assessed, 1);

    let lines = bedrock_sweeper::store::dashboard::evidence_as_of(&pool, second.sweep_id).await.unwrap();
    let line = |control: &str| {
        lines.iter().find(|l| l.account_id.as_str() == member && l.control_id.as_str() == control).unwrap()
    };
    // Judged from the organization by this sweep too: stands as judged (no SCP fences it).
    let fence = line("BR.ORG.1");
    assert_eq!(fence.status, Status::Fail, "judged by this sweep: {:?}", fence.detail);
    // Needs the role: this sweep says it could not look.
    let trail = line("BR.LOG.1");
    assert_eq!(trail.status, Status::Error, "{:?}", trail.detail);
    assert!(trail.detail.as_deref().unwrap_or("").contains("AccessDenied"), "{:?}", trail.detail);
}
