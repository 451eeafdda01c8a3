//! The workbench in a real browser: headless Chromium driven by Selenium
//! (`tests/browser/workbench.py`) against the real server with the seeds, an API key and a
//! read-only key. `.ci/run` installs Debian's `chromium` and `chromium-driver` and Selenium from
//! PyPI; without them this test prints SKIPPED and passes. The page's own headers are checked
//! here too.

mod common;

use common::{http_call, Server};
use simtheme::proto::{self, nearest_paragraphs_request::Query};

const FULL_KEY: &str = "workbench-full-5e1";
const READ_ONLY_KEY: &str = "workbench-ro-7c2";

fn with_key<T>(key: &str, msg: T) -> tonic::Request<T> {
    let mut r = tonic::Request::new(msg);
    r.metadata_mut().insert("api-key", key.parse().unwrap());
    r
}

fn browser_available() -> Result<(), String> {
    for tool in ["chromium", "chromedriver"] {
        let found = std::process::Command::new("sh").args(["-c", &format!("command -v {tool}")]).output().is_ok_and(|o| o.status.success());
        if !found {
            return Err(format!("{tool} is not installed (apt-get install chromium chromium-driver)"));
        }
    }
    let selenium = std::process::Command::new("python3").args(["-c", "import selenium"]).status();
    if !selenium.is_ok_and(|s| s.success()) {
        return Err("the Python package selenium is not installed (python3 -m pip install selenium)".into());
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_workbench_in_a_real_browser() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(
        &tmp.path().join("data"),
        &["--http-listen", "127.0.0.1:0", "--metrics-listen", "", "--api-key", FULL_KEY, "--read-only-api-key", READ_ONLY_KEY],
    );
    let http = server.ready_addr("http");

    // The page and its headers: no inline code allowed, no framing, not sniffed; off with --no-ui.
    let page = http_call(&http, "GET", "/", &[], "").await;
    assert_eq!(page.status, 200);
    let csp = page.headers.get("content-security-policy").unwrap().to_str().unwrap().to_string();
    assert!(csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'") && !csp.contains("unsafe-inline"), "{csp}");
    assert_eq!(page.headers.get("x-frame-options").unwrap(), "DENY");
    assert!(page.body.contains("/ui/app.js"));
    let zipped = http_call(&http, "GET", "/ui/themes.js", &[("accept-encoding", "gzip, br")], "").await;
    assert_eq!((zipped.status, zipped.headers.get("content-encoding").map(|v| v.to_str().unwrap())), (200, Some("gzip")));
    assert_eq!(zipped.headers.get("vary").unwrap(), "accept-encoding");
    let access = http_call(&http, "GET", "/ui/access", &[("authorization", &format!("Bearer {READ_ONLY_KEY}"))], "").await;
    assert_eq!(access.json(), serde_json::json!({"keys": true, "access": "read-only"}));
    assert_eq!(http_call(&http, "GET", "/ui/access", &[], "").await.status, 401);
    assert_eq!(http_call(&http, "POST", "/", &[], "").await.status, 405);

    // A paragraph that looks like markup, to be shown as text.
    let mut grpc = server.client().await;
    let doc = proto::DocumentInput {
        name: "markup.txt".into(),
        text: "页面测试：网页里出现 <script>alert('x')</script> 这样的文字时，应当原样显示为文字。".into(),
        ..Default::default()
    };
    grpc.add_documents(with_key(FULL_KEY, proto::AddDocumentsRequest { documents: vec![doc] })).await.unwrap();
    let search = proto::NearestParagraphsRequest {
        query: Some(Query::Text("alert".into())),
        k: 1,
        mode: proto::SearchMode::Keyword as i32,
        ..Default::default()
    };
    let hit = grpc.nearest_paragraphs(with_key(READ_ONLY_KEY, search)).await.unwrap().into_inner().hits.remove(0);
    assert!(hit.paragraph.unwrap().text.contains("<script>alert('x')</script>"), "the markup is stored as text");

    if let Err(why) = browser_available() {
        eprintln!("SKIPPED: the workbench browser test: {why}");
        return;
    }
    let shots = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("workbench");
    let upload = tmp.path().join("上传测试 report.txt");
    std::fs::write(
        &upload,
        "上传测试报告\n\n这是从浏览器上传的一份测试文件，用来检查工作台的上传功能：文件名里没有年份，日期由表单给出。\n",
    )
    .unwrap();
    let out = std::process::Command::new("python3")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/browser/workbench.py"))
        .args([&format!("http://{http}"), FULL_KEY, READ_ONLY_KEY, shots.to_str().unwrap(), upload.to_str().unwrap()])
        .output()
        .expect("run python3");
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    eprintln!("{stdout}{stderr}");
    assert!(out.status.success(), "the browser test failed:\n{stdout}\n{stderr}");
    assert!(stdout.contains("all checks passed"));
    eprintln!("screenshots in {}", shots.display());
    server.stop();
}
