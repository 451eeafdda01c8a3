//! End-to-end keyword and hybrid search: the real server over the seeds, queried in every
//! mode over gRPC; the keyword index's lifecycle (delete, kill -9 during ingestion, rebuild).

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use common::{code, Server};
use simtheme::corpus::to_simplified;
use simtheme::proto::sim_theme_service_client::SimThemeServiceClient;
use simtheme::proto::{self, nearest_paragraphs_request::Query, SearchMode};
use tonic::transport::Channel;
use tonic::Code;

type Client = SimThemeServiceClient<Channel>;

fn req(text: &str, k: u32, mode: SearchMode) -> proto::NearestParagraphsRequest {
    proto::NearestParagraphsRequest { query: Some(Query::Text(text.into())), k, mode: mode as i32, ..Default::default() }
}

async fn search(c: &mut Client, r: proto::NearestParagraphsRequest) -> Vec<proto::ParagraphHit> {
    c.nearest_paragraphs(r).await.unwrap().into_inner().hits
}

fn text_of(h: &proto::ParagraphHit) -> String {
    to_simplified(&h.paragraph.as_ref().unwrap().text)
}

fn id_of(h: &proto::ParagraphHit) -> i64 {
    h.paragraph.as_ref().unwrap().id
}

/// Every paragraph of the corpus (ids and simplified texts): each listed document's paragraphs
/// through a DENSE search restricted to it (paragraph ids are small integers on the embedded
/// backend and 63-bit hashes on Qdrant, so they cannot be enumerated).
async fn all_paragraphs(c: &mut Client) -> Vec<(i64, String)> {
    let docs = c.list_documents(proto::ListDocumentsRequest { page_size: 100, ..Default::default() }).await.unwrap().into_inner();
    let mut out = Vec::new();
    for d in docs.documents {
        assert!(d.paragraphs <= 100, "{}: {} paragraphs", d.id, d.paragraphs);
        let mut r = req("文", 100, SearchMode::Dense);
        r.filter = Some(proto::ParagraphFilter { document_ids: vec![d.id.clone()], ..Default::default() });
        let hits = search(c, r).await;
        assert_eq!(hits.len(), d.paragraphs as usize, "{}", d.id);
        out.extend(hits.iter().map(|h| (id_of(h), text_of(h))));
    }
    out
}

async fn keyword_agrees_with_store(c: &mut Client) -> proto::StatsResponse {
    let s = c.stats(proto::StatsRequest {}).await.unwrap().into_inner();
    let k = s.keyword.expect("the backend reports its keyword index");
    assert_eq!((k.documents, k.chunks), (s.documents, s.chunks), "{s:?}");
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keyword_and_hybrid_modes_over_grpc() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(tmp.path(), &[]);
    modes_suite(&server).await;
    server.stop();
}

/// The same suite on the Qdrant backend: BM25 from Qdrant's sparse vectors with IDF, no local
/// keyword index, `must_contain` as a phrase filter inside Qdrant.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keyword_and_hybrid_modes_on_qdrant() {
    let Some(bin) = common::qdrant::qdrant_binary("keyword_and_hybrid_modes_on_qdrant") else { return };
    let qdir = tempfile::tempdir().unwrap();
    let node = common::qdrant::QdrantNode::start(&bin, qdir.path());
    let url = node.grpc_url();
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(tmp.path(), &["--backend", "qdrant", "--qdrant-url", &url, "--collection", "modes"]);
    modes_suite(&server).await;
    assert!(!tmp.path().join("keyword").exists(), "the Qdrant backend keeps no local keyword index");
    server.stop();
}

/// Every mode over gRPC on the seeds: rare terms, must_contain, fusion, filters, bad inputs,
/// delete. Leaves one seed document deleted.
async fn modes_suite(server: &Server) {
    let mut c = server.client().await;
    let stats = keyword_agrees_with_store(&mut c).await;
    assert_eq!(stats.documents, 5);
    assert!(stats.keyword.unwrap().user_dictionary_words >= 20);
    let paragraphs = all_paragraphs(&mut c).await;
    assert_eq!(paragraphs.len(), stats.paragraphs as usize);
    let containing = |t: &str| -> BTreeSet<i64> {
        let t = to_simplified(t);
        paragraphs.iter().filter(|(_, p)| p.contains(&t)).map(|(id, _)| *id).collect()
    };

    // KEYWORD: rare terms rank the paragraphs holding them first, with highlights on them.
    for term in ["缺基少核", "首台套", "粮食饭碗", "低空经济", "燈塔工廠", "工业母机", "算力网络"] {
        let expected = containing(term);
        assert!((1..=2).contains(&expected.len()), "{term}: {expected:?}");
        let hits = search(&mut c, req(term, 5, SearchMode::Keyword)).await;
        let top: BTreeSet<i64> = hits.iter().take(expected.len()).map(id_of).collect();
        assert_eq!(top, expected, "{term}");
        let h = &hits[0];
        let prov = h.provenance.unwrap();
        assert_eq!((prov.keyword_rank, prov.dense_rank, prov.fused_score), (Some(1), None, None));
        assert!(prov.keyword_score.unwrap() > 0.0 && h.score == prov.keyword_score.unwrap());
        let chars: Vec<char> = h.paragraph.as_ref().unwrap().text.chars().collect();
        let marked: Vec<String> =
            h.highlights.iter().map(|s| to_simplified(&chars[s.start as usize..s.end as usize].iter().collect::<String>())).collect();
        assert!(marked.contains(&to_simplified(term)), "{term}: {marked:?}");
    }

    // must_contain in traditional script finds the simplified occurrences and nothing else,
    // in every mode.
    let expected = containing("工业母机");
    for mode in [SearchMode::Dense, SearchMode::Keyword, SearchMode::Hybrid] {
        let mut r = req("工業母機 industrial machine tools", 10, mode);
        r.must_contain = vec!["工業母機".into()];
        let got: BTreeSet<i64> = search(&mut c, r).await.iter().map(id_of).collect();
        assert_eq!(got, expected, "{mode:?}");
    }

    // HYBRID: ranks match the separate rankings, a paragraph both rank first stays first,
    // answers are deterministic.
    let mut agreed = 0;
    for q in ["专精特新中小企业 小巨人", "缺基少核", "低空经济", "工业母机 新能源汽车", "How do central SOEs push digital transformation?"]
    {
        let dense = search(&mut c, req(q, 50, SearchMode::Dense)).await;
        let keyword = search(&mut c, req(q, 50, SearchMode::Keyword)).await;
        let hybrid = search(&mut c, req(q, 10, SearchMode::Hybrid)).await;
        assert_eq!(
            hybrid.iter().map(|h| (id_of(h), h.score)).collect::<Vec<_>>(),
            search(&mut c, req(q, 10, SearchMode::Hybrid)).await.iter().map(|h| (id_of(h), h.score)).collect::<Vec<_>>()
        );
        for h in &hybrid {
            let p = h.provenance.unwrap();
            assert!(p.fused_score.is_some() && p.dense_score.is_some());
            if let Some(r) = p.dense_rank {
                assert_eq!(id_of(&dense[r as usize - 1]), id_of(h), "{q}");
            }
            if let Some(r) = p.keyword_rank {
                assert_eq!(id_of(&keyword[r as usize - 1]), id_of(h), "{q}");
            }
            assert!(p.dense_rank.is_some() || p.keyword_rank.is_some());
        }
        assert!(hybrid.windows(2).all(|w| w[0].score >= w[1].score));
        if !keyword.is_empty() && id_of(&dense[0]) == id_of(&keyword[0]) {
            agreed += 1;
            assert_eq!(id_of(&hybrid[0]), id_of(&dense[0]), "{q}");
        }
    }
    assert!(agreed >= 1, "no query where both rankings agree: the check above did nothing");

    // No mode: text queries run HYBRID with a keyword weight adapted to the query; paragraph
    // queries run DENSE.
    let unset = |text: &str| proto::NearestParagraphsRequest { query: Some(Query::Text(text.into())), k: 10, ..Default::default() };
    for q in ["缺基少核", "How do central SOEs push digital transformation?"] {
        let default = c.nearest_paragraphs(unset(q)).await.unwrap().into_inner();
        let hybrid = c.nearest_paragraphs(req(q, 10, SearchMode::Hybrid)).await.unwrap().into_inner();
        assert_eq!(default.hits.iter().map(id_of).collect::<Vec<_>>(), hybrid.hits.iter().map(id_of).collect::<Vec<_>>(), "{q}");
        assert!(default.search_path.ends_with("+bm25"), "{q}: {}", default.search_path);
        assert_eq!(default.keyword_weight, hybrid.keyword_weight);
    }
    let exact_term = c.nearest_paragraphs(unset("缺基少核")).await.unwrap().into_inner();
    assert_eq!(exact_term.keyword_weight, 1.5, "every term of the query is in its best keyword hit");
    let question =
        c.nearest_paragraphs(unset("中央企业如何通过数字化转型和智能制造提升竞争力并带动产业链上下游协同发展")).await.unwrap().into_inner();
    assert!(question.keyword_weight < 1.0, "a long question: {}", question.keyword_weight);
    let mut fixed = req("缺基少核", 10, SearchMode::Hybrid);
    fixed.rrf = Some(proto::RrfParams { keyword_weight: Some(0.25), ..Default::default() });
    assert_eq!(c.nearest_paragraphs(fixed).await.unwrap().into_inner().keyword_weight, 0.25);
    let pid = id_of(&exact_term.hits[0]);
    let by_paragraph = proto::NearestParagraphsRequest { query: Some(Query::ParagraphId(pid)), k: 3, ..Default::default() };
    let similar = c.nearest_paragraphs(by_paragraph).await.unwrap().into_inner();
    assert!(!similar.search_path.contains("bm25") && similar.keyword_weight == 0.0, "{}", similar.search_path);
    assert!(similar.hits.iter().all(|h| id_of(h) != pid && h.score <= 1.0));

    // Filters and min_score apply in every mode.
    for mode in [SearchMode::Dense, SearchMode::Keyword, SearchMode::Hybrid] {
        let mut r = req("产业链 供应链", 10, mode);
        r.filter = Some(proto::ParagraphFilter {
            years: Some(proto::YearFilter { years: vec![2023], ..Default::default() }),
            ..Default::default()
        });
        let hits = search(&mut c, r).await;
        assert!(!hits.is_empty(), "{mode:?}");
        assert!(hits.iter().all(|h| h.paragraph.as_ref().unwrap().year == Some(2023)), "{mode:?}");
        let mut r = req("产业链 供应链", 10, mode);
        r.min_score = 0.86;
        for h in search(&mut c, r).await {
            assert!(h.provenance.unwrap().dense_score.unwrap() >= 0.86, "{mode:?}");
        }
    }

    // Bad inputs: a clear INVALID_ARGUMENT, never an internal error or a tantivy message.
    let mut bad = vec![
        req("的 了 吗", 5, SearchMode::Keyword),
        req("\"*:(\"", 5, SearchMode::Keyword),
        req("  ", 5, SearchMode::Keyword),
        proto::NearestParagraphsRequest { query: Some(Query::ParagraphId(1)), mode: SearchMode::Keyword as i32, ..Default::default() },
        proto::NearestParagraphsRequest { mode: 99, ..req("x", 5, SearchMode::Dense) },
        proto::NearestParagraphsRequest { must_contain: vec!["".into()], ..req("产业", 5, SearchMode::Dense) },
    ];
    for rrf in [
        proto::RrfParams { k: Some(-1.0), ..Default::default() },
        proto::RrfParams { dense_weight: Some(0.0), keyword_weight: Some(0.0), ..Default::default() },
        proto::RrfParams { candidates: 5, ..Default::default() },
    ] {
        bad.push(proto::NearestParagraphsRequest { rrf: Some(rrf), ..req("产业", 10, SearchMode::Hybrid) });
    }
    for r in bad {
        let err = c.nearest_paragraphs(r.clone()).await.unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument, "{r:?}: {err:?}");
        assert!(!err.message().to_lowercase().contains("tantivy"), "{}", err.message());
    }
    // HYBRID without a searchable term is the dense ranking.
    let stop_only = "的 了 吗 the of";
    let dense: Vec<i64> = search(&mut c, req(stop_only, 5, SearchMode::Dense)).await.iter().map(id_of).collect();
    let hybrid: Vec<i64> = search(&mut c, req(stop_only, 5, SearchMode::Hybrid)).await.iter().map(id_of).collect();
    assert_eq!(hybrid, dense);
    // Query syntax characters are plain text: a sane answer.
    for q in ["AI* title:(5G", "\"两业融合", "a:b:(c*) 新能源"] {
        assert!(c.nearest_paragraphs(req(q, 5, SearchMode::Keyword)).await.is_ok(), "{q}");
    }

    // Delete: the document's terms stop matching, the index follows the store.
    let doc = search(&mut c, req("缺基少核", 1, SearchMode::Keyword)).await[0].paragraph.clone().unwrap().document_id;
    c.delete_document(proto::DeleteDocumentRequest { document_id: doc, ..Default::default() }).await.unwrap();
    assert!(search(&mut c, req("缺基少核", 5, SearchMode::Keyword)).await.is_empty());
    assert!(search(&mut c, req("缺基少核", 5, SearchMode::Hybrid)).await.iter().all(|h| !text_of(h).contains("缺基少核")));
    assert_eq!(keyword_agrees_with_store(&mut c).await.documents, 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keyword_index_agrees_with_store_after_kill_9_and_rebuild() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(tmp.path(), &["--no-seed"]);
    let mut c = server.client().await;
    let documents: Vec<proto::DocumentInput> = simtheme::engine::SEED_DOCUMENTS
        .iter()
        .map(|(name, text)| proto::DocumentInput { text: text.to_string(), name: name.to_string(), ..Default::default() })
        .collect();
    let mut writer = c.clone();
    let ingest = tokio::spawn(async move { writer.add_documents(proto::AddDocumentsRequest { documents }).await });
    // Kill -9 as soon as the first document is stored, while the others are being ingested.
    for _ in 0..1200 {
        let s = c.stats(proto::StatsRequest {}).await.unwrap().into_inner();
        if s.documents >= 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    drop(server); // SIGKILL
    let _ = ingest.await;

    let server = Server::start(tmp.path(), &["--no-seed"]);
    let mut c = server.client().await;
    let s = keyword_agrees_with_store(&mut c).await;
    assert!(s.documents >= 1, "{s:?}");
    let before = search(&mut c, req("中央企业 产业链", 10, SearchMode::Keyword)).await;
    server.stop();

    // A missing index is rebuilt from the store, with the same answers.
    std::fs::remove_dir_all(tmp.path().join("keyword")).unwrap();
    let server = Server::start(tmp.path(), &["--no-seed"]);
    let mut c = server.client().await;
    let s = keyword_agrees_with_store(&mut c).await;
    assert_eq!(s.keyword.unwrap().reconciled_at_start, s.documents);
    let after = search(&mut c, req("中央企业 产业链", 10, SearchMode::Keyword)).await;
    assert_eq!(before.iter().map(id_of).collect::<Vec<_>>(), after.iter().map(id_of).collect::<Vec<_>>());
    assert_eq!(code(c.nearest_paragraphs(req("的", 5, SearchMode::Keyword)).await), Code::InvalidArgument);
    server.stop();
}
