//! End-to-end: the real server on a loopback port with a temporary data directory, seeded from
//! the shipped corpus, queried over gRPC, restarted, and queried again.

mod common;

use common::{code, Server};
use simtheme::proto::{self, nearest_paragraphs_request::Query};
use tonic::Code;

/// A DENSE text query (the server's default for text is HYBRID; these checks are about cosines).
fn nearest(text: &str, k: u32) -> proto::NearestParagraphsRequest {
    let mode = proto::SearchMode::Dense as i32;
    proto::NearestParagraphsRequest { query: Some(Query::Text(text.into())), k, mode, ..Default::default() }
}

fn years(from: Option<i32>, to: Option<i32>, list: Vec<i32>) -> Option<proto::ParagraphFilter> {
    Some(proto::ParagraphFilter { years: Some(proto::YearFilter { years: list, from, to, include_undated: false }), ..Default::default() })
}

const NEW_DOC: &str = "發布時間:2025-03-02\n低空經濟試點\n多地出臺低空經濟發展行動方案，推動無人機物流、城市空中交通和通用航空製造協同發展，建設低空飛行服務保障體系。\n各地加快完善起降場地和空域管理規則，支持企業開展無人機配送商業化運營。";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seeded_server_answers_every_rpc_and_survives_restart() {
    every_rpc_and_restart(&[], Backend::Embedded).await;
}

/// The same test body on a real single-node Qdrant (skipped, loudly, without a Qdrant binary).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn qdrant_backend_answers_every_rpc_and_survives_restart() {
    let Some(bin) = common::qdrant::qdrant_binary("qdrant_backend_answers_every_rpc_and_survives_restart") else { return };
    let qdir = tempfile::tempdir().unwrap();
    let node = common::qdrant::QdrantNode::start(&bin, qdir.path());
    let url = node.grpc_url();
    every_rpc_and_restart(&["--backend", "qdrant", "--qdrant-url", &url, "--collection", "e2e"], Backend::Qdrant).await;
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Backend {
    Embedded,
    Qdrant,
}

async fn every_rpc_and_restart(extra: &[&str], backend: Backend) {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(tmp.path(), extra);
    let mut c = server.client().await;

    // Health is SERVING once the ready line is printed.
    let channel = tonic::transport::Channel::from_shared(server.url()).unwrap().connect().await.unwrap();
    let mut health = tonic_health::pb::health_client::HealthClient::new(channel);
    let h =
        health.check(tonic_health::pb::HealthCheckRequest { service: "simtheme.v1.SimThemeService".into() }).await.unwrap().into_inner();
    assert_eq!(h.status, tonic_health::pb::health_check_response::ServingStatus::Serving as i32);

    // Seeds were ingested at first start.
    let stats = c.stats(proto::StatsRequest {}).await.unwrap().into_inner();
    assert_eq!(stats.documents, 5, "{stats:?}");
    assert!(stats.paragraphs > 50 && stats.chunks >= stats.paragraphs, "{stats:?}");
    assert_eq!(stats.dimension, 384);
    let years_present: Vec<Option<i32>> = stats.years.iter().map(|y| y.year).collect();
    assert_eq!(years_present, vec![Some(2023), Some(2024), None]);

    // A document's paragraphs in reading order, on both backends; the count matches its listing.
    let docs = c.list_documents(proto::ListDocumentsRequest::default()).await.unwrap().into_inner().documents;
    let doc = &docs[0];
    let (mut positions, mut token) = (Vec::new(), String::new());
    loop {
        let req = proto::ListParagraphsRequest { document_id: doc.id.clone(), page_size: 7, page_token: token };
        let page = c.list_paragraphs(req).await.unwrap().into_inner();
        assert_eq!(page.total, doc.paragraphs, "{}", doc.id);
        positions.extend(page.paragraphs.iter().map(|p| p.position));
        token = page.next_page_token;
        if token.is_empty() {
            break;
        }
    }
    assert_eq!(positions.len() as u32, doc.paragraphs);
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{positions:?}");
    // The glossary bridges an English rendering to the Chinese term on both keyword sides.
    let bridged = proto::NearestParagraphsRequest {
        mode: proto::SearchMode::Keyword as i32,
        ..nearest("specialized, refined, distinctive and innovative firms", 3)
    };
    let r = c.nearest_paragraphs(bridged).await.unwrap().into_inner();
    let top = simtheme::corpus::to_simplified(&r.hits[0].paragraph.as_ref().unwrap().text);
    assert!(top.contains("专精特新") && r.bridges.len() == 1, "{top}");

    // English and Chinese queries find the relevant passages, with metadata and spans.
    let r = c
        .nearest_paragraphs(nearest("How do central SOEs push digital transformation and smart factories?", 5))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(r.hits.len(), 5);
    let top = &r.hits[0];
    let p = top.paragraph.as_ref().unwrap();
    assert!(p.text.contains("數字化") || p.text.contains("数字化"), "{}", p.text);
    assert!(r.hits.windows(2).all(|w| w[0].score >= w[1].score));
    let span = top.r#match.as_ref().unwrap();
    assert!(span.end > span.start && span.end as usize <= p.text.chars().count());
    assert!(r.query_tokens > 5);
    let zh = c.nearest_paragraphs(nearest("中小企业专精特新发展", 3)).await.unwrap().into_inner();
    assert!(zh.hits[0].paragraph.as_ref().unwrap().text.contains("專精特新"), "{:?}", zh.hits[0]);

    // Year filters: only 2023 paragraphs come back.
    let mut req = nearest("industrial policy", 10);
    req.filter = years(Some(2023), Some(2023), vec![]);
    let r23 = c.nearest_paragraphs(req).await.unwrap().into_inner();
    assert!(!r23.hits.is_empty());
    assert!(r23.hits.iter().all(|h| h.paragraph.as_ref().unwrap().year == Some(2023)));

    // Paragraph-id queries exclude the paragraph itself, and optionally its document.
    let pid = top.paragraph.as_ref().unwrap().id;
    let doc = top.paragraph.as_ref().unwrap().document_id.clone();
    let req =
        proto::NearestParagraphsRequest { query: Some(Query::ParagraphId(pid)), k: 5, exclude_same_document: true, ..Default::default() };
    let similar = c.nearest_paragraphs(req).await.unwrap().into_inner();
    assert!(similar.hits.iter().all(|h| h.paragraph.as_ref().unwrap().document_id != doc));

    // Bad inputs get clear statuses.
    assert_eq!(code(c.nearest_paragraphs(nearest("   ", 5)).await), Code::InvalidArgument);
    assert_eq!(code(c.nearest_paragraphs(proto::NearestParagraphsRequest::default()).await), Code::InvalidArgument);
    assert_eq!(code(c.nearest_paragraphs(nearest("x", 101)).await), Code::InvalidArgument);
    let mut inverted = nearest("x", 5);
    inverted.filter = years(Some(2024), Some(2023), vec![]);
    let err = c.nearest_paragraphs(inverted).await.unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(err.message().contains("inverted"), "{}", err.message());
    let unknown = proto::NearestParagraphsRequest { query: Some(Query::ParagraphId(9_999_999)), ..Default::default() };
    assert_eq!(code(c.nearest_paragraphs(unknown).await), Code::NotFound);
    assert_eq!(code(c.get_paragraph(proto::GetParagraphRequest { id: -4 }).await), Code::NotFound);
    assert_eq!(
        code(c.list_documents(proto::ListDocumentsRequest { page_size: 2, page_token: "garbage".into() }).await),
        Code::InvalidArgument
    );
    let huge = "字".repeat(6_000_000);
    // Above the server's 16 MiB message limit: refused before decoding, with the limit named.
    let err = c.embed(proto::EmbedRequest { texts: vec![huge], mode: 0 }).await.unwrap_err();
    assert_eq!(err.code(), Code::ResourceExhausted, "{err:?}");
    assert!(err.message().contains("limit") && err.message().contains("--max-message-bytes"), "{}", err.message());

    // Pagination visits every document once.
    let mut seen = Vec::new();
    let mut token = String::new();
    loop {
        let page = c.list_documents(proto::ListDocumentsRequest { page_size: 2, page_token: token }).await.unwrap().into_inner();
        seen.extend(page.documents.iter().map(|d| d.id.clone()));
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!(seen.len(), 5);

    // Similarity and Embed.
    let s = c
        .similarity(proto::SimilarityRequest { text_a: "綠色低碳".into(), text_b: "green and low-carbon".into(), mode: 0 })
        .await
        .unwrap()
        .into_inner();
    assert!(s.cosine > 0.8 && s.tokens_a > 2, "{s:?}");
    let e = c.embed(proto::EmbedRequest { texts: vec!["a".into(), "b".into()], mode: 2 }).await.unwrap().into_inner();
    assert_eq!(e.vectors.len(), 2);
    assert_eq!(e.vectors[0].values.len(), 384);

    check_themes(&mut c, stats.paragraphs).await;

    // The theme tree and text reuse on this backend: every paragraph accounted for.
    let tree = c.theme_tree(proto::ThemeTreeRequest { level: Some(0), ..Default::default() }).await.unwrap().into_inner();
    let in_tree: u32 = tree.nodes.iter().map(|n| n.size).sum::<u32>() + (tree.outlier_ids.len() + tree.boilerplate_ids.len()) as u32;
    assert!(!tree.nodes.is_empty() && in_tree == tree.paragraphs, "{tree:?}");
    let side = |y: i32| Some(proto::ReuseSide { side: Some(proto::reuse_side::Side::Years(proto::YearRange { from: y, to: y })) });
    let r = c.text_reuse(proto::TextReuseRequest { from: side(2023), to: side(2024), ..Default::default() }).await.unwrap().into_inner();
    let per_year = |y: i32| stats.years.iter().find(|c| c.year == Some(y)).map_or(0, |c| c.paragraphs);
    assert_eq!((r.from_paragraphs, r.to_paragraphs), (per_year(2023), per_year(2024)), "{r:?}");
    assert_eq!(r.verbatim + r.edited + r.rewritten + r.dropped, r.from_paragraphs);
    assert_eq!(r.verbatim + r.edited + r.rewritten + r.new, r.to_paragraphs);

    // Ingest: a good document, a bad one in the same batch, then the good one again.
    let good = proto::DocumentInput { text: NEW_DOC.into(), name: "lowalt.txt".into(), tags: vec!["test".into()], ..Default::default() };
    let bad = proto::DocumentInput { text: "  ".into(), ..Default::default() };
    let added = c.add_documents(proto::AddDocumentsRequest { documents: vec![good.clone(), bad] }).await.unwrap().into_inner();
    assert_eq!((added.inserted, added.failed), (1, 1), "{added:?}");
    assert_eq!(added.results[0].year, Some(2025));
    assert!(!added.results[1].error.is_empty());
    let again = c.add_documents(proto::AddDocumentsRequest { documents: vec![good] }).await.unwrap().into_inner();
    assert_eq!(again.already_present, 1);
    let new_id = added.results[0].document_id.clone();
    let mut tagged = nearest("drone delivery and low-altitude economy", 3);
    tagged.filter = Some(proto::ParagraphFilter { tags: vec!["test".into()], ..Default::default() });
    let found = c.nearest_paragraphs(tagged.clone()).await.unwrap().into_inner();
    assert!(!found.hits.is_empty() && found.hits.iter().all(|h| h.paragraph.as_ref().unwrap().document_id == new_id));

    // Delete it: gone from search and from GetParagraph.
    let gone_pid = found.hits[0].paragraph.as_ref().unwrap().id;
    let d =
        c.delete_document(proto::DeleteDocumentRequest { document_id: new_id.clone(), ..Default::default() }).await.unwrap().into_inner();
    assert!(d.paragraphs > 0);
    assert!(c.nearest_paragraphs(tagged).await.unwrap().into_inner().hits.is_empty());
    assert_eq!(code(c.get_paragraph(proto::GetParagraphRequest { id: gone_pid }).await), Code::NotFound);
    assert_eq!(code(c.delete_document(proto::DeleteDocumentRequest { document_id: new_id, ..Default::default() }).await), Code::NotFound);

    // Dates from the name and from front matter (which is stripped); the request's date wins.
    let body = "多地出臺低空經濟發展行動方案，推動無人機物流、城市空中交通和通用航空製造協同發展。";
    let named = proto::DocumentInput { text: body.into(), name: "reports/report_2019.txt".into(), ..Default::default() };
    let front = proto::DocumentInput {
        text: format!("---\ntitle: 低空經濟\ndate: 2018-06\ntags: [fm]\n---\n{body}"),
        name: "2010.md".into(),
        ..Default::default()
    };
    let given = proto::DocumentInput { date: "2001".into(), ..front.clone() };
    let versioned = proto::DocumentInput {
        text: format!("{body}\n第二段。各地加快完善起降場地和空域管理規則。"),
        name: "plan_2013-2017.txt".into(),
        ..Default::default()
    };
    let r = c.add_documents(proto::AddDocumentsRequest { documents: vec![named, front, versioned] }).await.unwrap().into_inner();
    let got: Vec<(&str, Option<i32>, &str)> = r.results.iter().map(|d| (d.date.as_str(), d.year, d.date_source.as_str())).collect();
    assert_eq!(got, vec![("2019", Some(2019), "file_name"), ("2018-06", Some(2018), "front_matter"), ("", None, "")], "{r:?}");
    assert_eq!(r.results[1].title, "低空經濟");
    let fm_doc = r.results[1].document_id.clone();
    let p = c
        .nearest_paragraphs(proto::NearestParagraphsRequest {
            filter: Some(proto::ParagraphFilter { document_ids: vec![fm_doc.clone()], ..Default::default() }),
            ..nearest("低空經濟", 5)
        })
        .await
        .unwrap()
        .into_inner();
    assert!(
        !p.hits.is_empty()
            && p.hits.iter().all(|h| {
                let para = h.paragraph.as_ref().unwrap();
                !para.text.contains("title:") && para.tags == vec!["fm".to_string()]
            }),
        "{p:?}"
    );
    for d in &r.results {
        c.delete_document(proto::DeleteDocumentRequest { document_id: d.document_id.clone(), ..Default::default() }).await.unwrap();
    }
    let r = c.add_documents(proto::AddDocumentsRequest { documents: vec![given] }).await.unwrap().into_inner();
    assert_eq!((r.results[0].date.as_str(), r.results[0].date_source.as_str()), ("2001", "given"), "{r:?}");
    c.delete_document(proto::DeleteDocumentRequest { document_id: r.results[0].document_id.clone(), ..Default::default() }).await.unwrap();

    // Restart on the same data directory: identical answers, nothing re-embedded or re-seeded.
    let before = c.nearest_paragraphs(nearest("新能源汽车和集成电路投资", 10)).await.unwrap().into_inner();
    let version = c.stats(proto::StatsRequest {}).await.unwrap().into_inner().corpus_version;
    drop(c);
    let log = server.stop();
    assert!(log.contains("ingested 5 seed documents"), "{log}");
    let server = Server::start(tmp.path(), extra);
    let mut c = server.client().await;
    let after = c.nearest_paragraphs(nearest("新能源汽车和集成电路投资", 10)).await.unwrap().into_inner();
    let ids = |r: &proto::NearestParagraphsResponse| r.hits.iter().map(|h| (h.paragraph.as_ref().unwrap().id, h.score)).collect::<Vec<_>>();
    assert_eq!(ids(&before), ids(&after));
    let stats = c.stats(proto::StatsRequest {}).await.unwrap().into_inner();
    assert_eq!(stats.corpus_version, version);
    assert_eq!(stats.embed_requests, 1, "only the query was embedded after the restart: {stats:?}");
    assert_eq!(stats.backend, if backend == Backend::Qdrant { "qdrant" } else { "embedded" });
    let log = server.stop();
    if backend == Backend::Embedded {
        assert!(log.contains("index loaded from dump"), "{log}");
    }
    assert!(!log.contains("seed documents"), "{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_clients_share_forward_passes_and_hnsw_agrees_with_exact() {
    let tmp = tempfile::tempdir().unwrap();
    // `--exact-search-below 0 --large-search hnsw`: searches go through the HNSW graph.
    let server = Server::start(tmp.path(), &["--no-seed", "--exact-search-below", "0", "--large-search", "hnsw"]);
    let c = server.client().await;
    let mut tasks = Vec::new();
    for i in 0..32 {
        let mut c = c.clone();
        tasks.push(tokio::spawn(async move {
            c.similarity(proto::SimilarityRequest {
                text_a: format!("第{i}个问题：如何推动制造业数字化转型？"),
                text_b: "digital transformation of manufacturing".into(),
                mode: 0,
            })
            .await
        }));
    }
    for t in tasks {
        assert!(t.await.unwrap().is_ok());
    }
    let mut c = c;
    check_reflection_v1(&server).await;
    let stats = c.stats(proto::StatsRequest {}).await.unwrap().into_inner();
    assert_eq!(stats.embed_requests, 32);
    assert!(stats.embed_batches < 32, "32 concurrent requests took {} model calls", stats.embed_batches);
    assert_eq!(stats.documents, 0, "--no-seed leaves the store empty");

    // The HNSW path returns what the exact path returns, in the same order.
    let doc = proto::DocumentInput { text: NEW_DOC.into(), name: "lowalt.txt".into(), ..Default::default() };
    c.add_documents(proto::AddDocumentsRequest { documents: vec![doc] }).await.unwrap();
    for q in ["drone delivery", "低空经济", "airspace rules for take-off sites"] {
        let hnsw = c.nearest_paragraphs(nearest(q, 5)).await.unwrap().into_inner();
        let exact = c.nearest_paragraphs(proto::NearestParagraphsRequest { exact: true, ..nearest(q, 5) }).await.unwrap().into_inner();
        assert_eq!(hnsw.search_path, "hnsw", "{q}");
        assert_eq!(exact.search_path, "exact", "{q}");
        assert!(!hnsw.hits.is_empty(), "{q}");
        let ids = |r: &proto::NearestParagraphsResponse| r.hits.iter().map(|h| h.paragraph.as_ref().unwrap().id).collect::<Vec<_>>();
        assert_eq!(ids(&hnsw), ids(&exact), "{q}");
    }
}

/// Theme RPCs on the seed corpus: determinism and caching, accounting, keywords, years.
async fn check_themes(
    c: &mut simtheme::proto::sim_theme_service_client::SimThemeServiceClient<tonic::transport::Channel>,
    paragraphs: u32,
) {
    let req = proto::ClusterThemesRequest { params: Some(proto::ThemeParams { seed: Some(7), ..Default::default() }) };
    let first = c.cluster_themes(req.clone()).await.unwrap().into_inner();
    let second = c.cluster_themes(req.clone()).await.unwrap().into_inner();
    assert!(!first.cached && second.cached);
    assert_eq!(first.themes, second.themes);
    assert_eq!(first.result_id, second.result_id);
    assert!(first.themes.len() >= 3, "{} themes", first.themes.len());
    let sizes: u32 = first.themes.iter().map(|t| t.size).sum();
    assert_eq!(sizes + first.outlier_ids.len() as u32, paragraphs, "no paragraph silently dropped");
    assert_eq!(first.paragraphs, paragraphs);
    for t in &first.themes {
        assert_eq!(t.representatives.len().min(3), t.representatives.len());
        assert!(!t.representatives.is_empty());
        for word in t.label.split(" / ") {
            assert!(word.chars().count() >= 2, "single character in label {}", t.label);
        }
        let mut text = String::new();
        for id in &t.member_ids {
            let p = c.get_paragraph(proto::GetParagraphRequest { id: *id }).await.unwrap().into_inner().paragraph.unwrap();
            text.push_str(&simtheme::corpus::to_simplified(&p.text).to_lowercase());
        }
        for k in &t.keywords {
            assert!(text.contains(&k.word), "keyword {} of theme {} not in its text", k.word, t.label);
        }
    }

    let over =
        c.themes_over_time(proto::ThemesOverTimeRequest { params: req.params.clone(), ..Default::default() }).await.unwrap().into_inner();
    assert_eq!(over.result_id, first.result_id);
    for year in [Some(2023), Some(2024)] {
        let share: f32 = over.entries.iter().filter(|e| e.year == year).map(|e| e.share).sum();
        let outliers_share = 1.0 - share;
        assert!((0.0..=1.0001).contains(&share) && outliers_share >= -1e-4, "{year:?}: {share}");
    }

    let cmp = c
        .compare_years(proto::CompareYearsRequest { params: req.params.clone(), year_a: 2023, year_b: 2024, ..Default::default() })
        .await
        .unwrap()
        .into_inner();
    let rising: Vec<&proto::ThemeComparison> =
        cmp.themes.iter().filter(|t| t.trend == proto::Trend::Emerging as i32 || t.trend == proto::Trend::Grown as i32).collect();
    assert!(!rising.is_empty(), "{cmp:?}");
    assert!(rising.iter().all(|t| t.representative_b.as_ref().is_some_and(|p| p.year == Some(2024) && !p.text.is_empty())));
    let bad = proto::CompareYearsRequest { params: None, year_a: 2023, year_b: 2023, ..Default::default() };
    assert_eq!(code(c.compare_years(bad).await), Code::InvalidArgument);

    // Periods: the same comparison given as one-year ranges; bad periods name the fix.
    let range = |from, to| Some(proto::YearRange { from, to });
    let by_period = c
        .compare_years(proto::CompareYearsRequest {
            params: req.params.clone(),
            period_a: range(2023, 2023),
            period_b: range(2024, 2024),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(by_period.themes, cmp.themes);
    assert_eq!((by_period.period_a, by_period.period_b), (range(2023, 2023), range(2024, 2024)));
    let period = |a: (i32, i32), b: (i32, i32)| proto::CompareYearsRequest {
        params: req.params.clone(),
        period_a: range(a.0, a.1),
        period_b: range(b.0, b.1),
        ..Default::default()
    };
    let outside = c.compare_years(period((2023, 2023), (2030, 2034))).await.unwrap_err();
    assert_eq!(outside.code(), Code::NotFound);
    assert!(outside.message().contains("span 2023–2024"), "{}", outside.message());
    let inverted = c.compare_years(period((2024, 2023), (2025, 2026))).await.unwrap_err();
    assert!(inverted.code() == Code::InvalidArgument && inverted.message().contains("2023–2024"), "{}", inverted.message());
    let overlap = c.compare_years(period((2020, 2023), (2023, 2024))).await.unwrap_err();
    assert!(overlap.code() == Code::InvalidArgument && overlap.message().contains("overlap"), "{}", overlap.message());
    let nothing = proto::CompareYearsRequest { params: req.params.clone(), ..Default::default() };
    assert_eq!(code(c.compare_years(nothing).await), Code::InvalidArgument);

    // Buckets of ten years: 2023 and 2024 fall into 2020–2029; one life cycle per theme.
    let decade = c
        .themes_over_time(proto::ThemesOverTimeRequest { params: req.params.clone(), bucket_years: 10, presence_share: 0.0 })
        .await
        .unwrap()
        .into_inner();
    assert_eq!((decade.bucket_years, decade.presence_share), (10, 0.02));
    assert!(decade.entries.iter().all(|e| e.year.is_none() || (e.year == Some(2020) && e.year_end == Some(2029))));
    assert_eq!(decade.lifecycles.len(), first.themes.len());
    assert!(decade.lifecycles.iter().all(|l| l.peak_year.is_none() || l.peak_year == Some(2020)));
    assert!(over.lifecycles.iter().any(|l| l.first_year.is_some() && l.peak_share > 0.0));
    let too_wide = proto::ThemesOverTimeRequest { params: req.params.clone(), bucket_years: 1000, presence_share: 0.0 };
    assert_eq!(code(c.themes_over_time(too_wide).await), Code::InvalidArgument);
    let bad_presence = proto::ThemesOverTimeRequest { params: req.params.clone(), bucket_years: 1, presence_share: 1.5 };
    assert_eq!(code(c.themes_over_time(bad_presence).await), Code::InvalidArgument);

    let assigned = c
        .assign_theme(proto::AssignThemeRequest {
            params: req.params.clone(),
            query: Some(proto::assign_theme_request::Query::Text("推动绿色低碳转型和节能降碳".into())),
            top: 2,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(assigned.themes.len(), 2);
    assert!(assigned.themes[0].score >= assigned.themes[1].score);
    let too_many = proto::ClusterThemesRequest { params: Some(proto::ThemeParams { target_themes: 10_000, ..Default::default() }) };
    assert_eq!(code(c.cluster_themes(too_many).await), Code::InvalidArgument);
}

/// Reflection v1 (grpcurl 1.8 speaks only v1alpha, newer clients v1): the service list and the
/// descriptor of the SimThemeService service.
async fn check_reflection_v1(server: &common::Server) {
    use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
    use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
    use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;
    use tonic_reflection::pb::v1::ServerReflectionRequest;

    let channel = tonic::transport::Channel::from_shared(server.url()).unwrap().connect().await.unwrap();
    let mut client = ServerReflectionClient::new(channel);
    let ask = |m: MessageRequest| ServerReflectionRequest { host: String::new(), message_request: Some(m) };
    let requests = vec![
        ask(MessageRequest::ListServices(String::new())),
        ask(MessageRequest::FileContainingSymbol("simtheme.v1.SimThemeService".into())),
    ];
    let mut answers = client.server_reflection_info(tokio_stream::iter(requests)).await.unwrap().into_inner();
    match answers.message().await.unwrap().and_then(|r| r.message_response) {
        Some(MessageResponse::ListServicesResponse(list)) => {
            let names: Vec<&str> = list.service.iter().map(|s| s.name.as_str()).collect();
            for svc in ["simtheme.v1.SimThemeService", "grpc.health.v1.Health"] {
                assert!(names.contains(&svc), "v1 reflection lists {names:?}");
            }
        }
        other => panic!("v1 reflection answered {other:?}"),
    }
    match answers.message().await.unwrap().and_then(|r| r.message_response) {
        Some(MessageResponse::FileDescriptorResponse(files)) => assert!(!files.file_descriptor_proto.is_empty()),
        other => panic!("v1 reflection answered {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_embedding_queue_answers_resource_exhausted_and_recovers() {
    let tmp = tempfile::tempdir().unwrap();
    // One request may wait while another is embedded; the rest are refused at once.
    let server = Server::start(tmp.path(), &["--no-seed", "--queue-capacity", "1"]);
    let c = server.client().await;
    let texts: Vec<String> =
        (0..16).map(|i| format!("第{i}段：{}", "推动制造业高端化、智能化、绿色化发展，培育新质生产力。".repeat(4))).collect();
    let mut tasks = Vec::new();
    for _ in 0..24 {
        let mut c = c.clone();
        let texts = texts.clone();
        tasks.push(tokio::spawn(async move { c.embed(proto::EmbedRequest { texts, mode: 0 }).await }));
    }
    let (mut ok, mut refused) = (0, 0);
    for t in tasks {
        match t.await.unwrap() {
            Ok(r) => {
                assert_eq!(r.into_inner().vectors.len(), texts.len());
                ok += 1;
            }
            Err(s) => {
                assert_eq!(s.code(), Code::ResourceExhausted, "{s:?}");
                assert!(s.message().contains("queue is full") && s.message().contains("retry"), "{}", s.message());
                refused += 1;
            }
        }
    }
    assert!(ok >= 1 && refused >= 1, "{ok} served, {refused} refused");
    // The server is still healthy and answers once the queue has drained.
    let mut c = c;
    let r = c.similarity(proto::SimilarityRequest { text_a: "低碳".into(), text_b: "low carbon".into(), mode: 0 }).await.unwrap();
    assert!(r.into_inner().cosine > 0.5);
    let stats = c.stats(proto::StatsRequest {}).await.unwrap().into_inner();
    assert_eq!(stats.embed_requests, ok + 1, "refused requests never reach the model: {stats:?}");
}

/// `StreamDocuments`' deadline is per message: a stream that lasts longer than
/// `--request-timeout-secs` succeeds while documents keep coming; one that stalls longer than
/// that gets DEADLINE_EXCEEDED naming the flag, and what arrived before the stall is stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stream_documents_deadline_is_per_message() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(tmp.path(), &["--no-seed", "--request-timeout-secs", "1"]);
    let mut c = server.client().await;
    let doc = |i: usize| proto::DocumentInput {
        text: format!("第{i}篇：推动制造业高端化、智能化、绿色化发展，培育新质生产力。"),
        name: format!("doc-{i}"),
        ..Default::default()
    };
    // Sends `docs` with `gap` between them, on a stream the test controls.
    let paced = |docs: Vec<proto::DocumentInput>, gap: std::time::Duration| {
        let (tx, rx) = tokio::sync::mpsc::channel(1);
        tokio::spawn(async move {
            for d in docs {
                if tx.send(proto::StreamDocumentsRequest { document: Some(d) }).await.is_err() {
                    return;
                }
                tokio::time::sleep(gap).await;
            }
        });
        tokio_stream::wrappers::ReceiverStream::new(rx)
    };
    let started = std::time::Instant::now();
    let r = c.stream_documents(paced((0..5).map(doc).collect(), std::time::Duration::from_millis(400))).await.unwrap().into_inner();
    assert!(started.elapsed() > std::time::Duration::from_secs(1), "the stream must outlast the 1 s deadline");
    assert_eq!((r.inserted, r.failed), (5, 0), "{r:?}");

    let err = c.stream_documents(paced(vec![doc(5), doc(6)], std::time::Duration::from_millis(2_500))).await.unwrap_err();
    assert_eq!(err.code(), Code::DeadlineExceeded, "{err:?}");
    assert!(err.message().contains("--request-timeout-secs") && err.message().contains("first 1"), "{}", err.message());
    let docs = c.list_documents(proto::ListDocumentsRequest { page_size: 100, ..Default::default() }).await.unwrap().into_inner();
    assert_eq!(docs.documents.len(), 6, "the five streamed documents and the one before the stall are stored");
}
