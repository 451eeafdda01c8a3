//! ThemeTree and TextReuse: engine queries from their requests, protobuf answers from the
//! engine's tree runs and reuse reports.

use crate::engine::{EngineError, ReuseQuery, ReuseScope, ThemeTreeQuery, ThemeTreeRun};
use crate::proto;
use crate::reuse::{DiffOp, ReuseEntry, ReuseKind, ReuseParagraph, ReuseParams, ReuseReport};
use crate::themes::{PolicyTheme, Theme, TreeNode};

use super::convert::theme_request;

fn positive(n: u32) -> Option<usize> {
    (n > 0).then_some(n as usize)
}

/// The engine query of a ThemeTree request (the engine applies defaults and checks limits).
pub fn tree_query(r: &proto::ThemeTreeRequest) -> Result<ThemeTreeQuery, EngineError> {
    Ok(ThemeTreeQuery { themes: theme_request(r.params.clone())?, levels: positive(r.levels), min_split: positive(r.min_split) })
}

fn quote(run: &ThemeTreeRun, id: i64, similarity: f32) -> Option<proto::ThemeParagraph> {
    let r = run.records.get(&id)?;
    Some(proto::ThemeParagraph { paragraph_id: id, document_id: r.document_id.clone(), year: r.year, text: r.text.clone(), similarity })
}

/// The parts a tree node and a policy theme share: keywords, years and the representatives
/// quoted with their cosine to the theme's centre.
struct ThemeParts {
    keywords: Vec<proto::Keyword>,
    years: Vec<proto::ThemeYearShare>,
    representatives: Vec<proto::ThemeParagraph>,
}

fn parts(run: &ThemeTreeRun, t: &Theme) -> ThemeParts {
    let quoted = |id: &i64| -> Option<proto::ThemeParagraph> {
        let v = &run.inputs.iter().find(|i| i.id == *id)?.vector;
        quote(run, *id, crate::embed::cosine(v, &t.centroid))
    };
    ThemeParts {
        keywords: t.keywords.iter().map(|k| proto::Keyword { word: k.word.clone(), weight: k.weight }).collect(),
        years: t.years.iter().map(|y| proto::ThemeYearShare { year: y.year, count: y.count, share: y.share }).collect(),
        representatives: t.representatives.iter().filter_map(quoted).collect(),
    }
}

fn node(run: &ThemeTreeRun, n: &TreeNode, members: bool, per_year: usize) -> proto::ThemeNode {
    let t = &n.theme;
    let ThemeParts { keywords, years, representatives } = parts(run, t);
    let mut member_ids = if members { n.paragraphs.iter().map(|p| p.id).collect() } else { Vec::new() };
    member_ids.sort_unstable();
    proto::ThemeNode {
        id: t.id,
        parent: n.parent,
        level: n.level,
        children: n.children.clone(),
        label: t.label.clone(),
        keywords,
        size: t.size,
        share: t.share,
        cohesion: t.cohesion,
        years,
        representatives,
        member_ids,
        year_examples: run.year_examples(n, per_year).into_iter().filter_map(|(id, sim)| quote(run, id, sim)).collect(),
    }
}

fn policy(run: &ThemeTreeRun, p: &PolicyTheme, members: bool) -> proto::PolicyTheme {
    let t = &p.theme;
    let ThemeParts { keywords, years, representatives } = parts(run, t);
    proto::PolicyTheme {
        id: t.id,
        label: t.label.clone(),
        terms: p.terms.clone(),
        first_year: p.first_year,
        peak_year: p.peak_year,
        last_year: p.last_year,
        size: t.size,
        share: t.share,
        coherence: p.coherence,
        broad_theme: p.broad_theme,
        keywords,
        years,
        representatives,
        member_ids: if members { p.paragraphs.iter().map(|w| w.id).collect() } else { Vec::new() },
    }
}

/// What a ThemeTree response holds besides the tree: whether it came from the cache, member
/// ids, quoted members per year, and the policy themes (with how many there are).
pub struct TreeAnswer<'a> {
    /// Served from the cache.
    pub cached: bool,
    /// Member ids of every node and policy theme.
    pub members: bool,
    /// Members quoted per year and node.
    pub per_year: usize,
    /// The policy themes to list.
    pub policies: Vec<&'a PolicyTheme>,
    /// Policy themes there are before the limit.
    pub policies_found: usize,
}

/// ThemeTree response with the `nodes` selected from `run` and what `answer` asks for.
pub fn tree_response(run: &ThemeTreeRun, nodes: &[&TreeNode], answer: &TreeAnswer) -> proto::ThemeTreeResponse {
    let TreeAnswer { cached, members, per_year, .. } = *answer;
    proto::ThemeTreeResponse {
        policies: answer.policies.iter().map(|p| policy(run, p, members)).collect(),
        policies_found: answer.policies_found as u32,
        result_id: run.result_id.clone(),
        nodes: nodes.iter().map(|n| node(run, n, members, per_year)).collect(),
        depth: run.tree.depth(),
        paragraphs: run.tree.input_count,
        outlier_ids: run.tree.outliers.clone(),
        boilerplate_ids: run.tree.boilerplate.clone(),
        corpus_version: run.corpus_version,
        cached,
        elapsed_ms: if cached { 0.0 } else { run.elapsed_ms },
    }
}

fn scope(side: Option<proto::ReuseSide>, name: &str) -> Result<ReuseScope, EngineError> {
    match side.and_then(|s| s.side) {
        Some(proto::reuse_side::Side::DocumentId(id)) => Ok(ReuseScope::Document(id)),
        Some(proto::reuse_side::Side::Years(y)) => Ok(ReuseScope::Years { from: y.from, to: y.to }),
        None => Err(EngineError::InvalidArgument(format!(
            "set {name} to a document_id (from ListDocuments) or to years (e.g. from 2019 to 2019)"
        ))),
    }
}

/// The engine query of a TextReuse request, and the kinds of entries to keep (empty: all).
pub fn reuse_query(r: &proto::TextReuseRequest) -> Result<(ReuseQuery, Vec<ReuseKind>), EngineError> {
    let d = ReuseParams::default();
    let params = ReuseParams {
        edited_min_similarity: if r.edited_min_similarity == 0.0 { d.edited_min_similarity } else { r.edited_min_similarity },
        rewritten_min_cosine: r.rewritten_min_cosine.unwrap_or(d.rewritten_min_cosine),
        ..d
    };
    let kinds = r
        .kinds
        .iter()
        .map(|&k| match proto::ReuseKind::try_from(k) {
            Ok(proto::ReuseKind::Verbatim) => Ok(ReuseKind::Verbatim),
            Ok(proto::ReuseKind::Edited) => Ok(ReuseKind::Edited),
            Ok(proto::ReuseKind::Rewritten) => Ok(ReuseKind::Rewritten),
            Ok(proto::ReuseKind::Dropped) => Ok(ReuseKind::Dropped),
            Ok(proto::ReuseKind::New) => Ok(ReuseKind::New),
            _ => Err(EngineError::InvalidArgument(format!(
                "kinds: {k} is not a reuse kind; use VERBATIM, EDITED, REWRITTEN, DROPPED or NEW"
            ))),
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok((ReuseQuery { from: scope(r.from.clone(), "from")?, to: scope(r.to.clone(), "to")?, params }, kinds))
}

fn kind(k: ReuseKind) -> proto::ReuseKind {
    match k {
        ReuseKind::Verbatim => proto::ReuseKind::Verbatim,
        ReuseKind::Edited => proto::ReuseKind::Edited,
        ReuseKind::Rewritten => proto::ReuseKind::Rewritten,
        ReuseKind::Dropped => proto::ReuseKind::Dropped,
        ReuseKind::New => proto::ReuseKind::New,
    }
}

fn paragraph(p: &ReuseParagraph) -> proto::ReuseParagraph {
    proto::ReuseParagraph {
        paragraph_id: p.id,
        document_id: p.document_id.clone(),
        document_title: p.document_title.clone().unwrap_or_default(),
        year: p.year,
        position: p.position,
        text: p.text.clone(),
    }
}

fn entry(e: &ReuseEntry) -> proto::ReuseEntry {
    let op = |o: DiffOp| match o {
        DiffOp::Equal => proto::diff_segment::Op::Equal,
        DiffOp::Delete => proto::diff_segment::Op::Delete,
        DiffOp::Insert => proto::diff_segment::Op::Insert,
    };
    proto::ReuseEntry {
        kind: kind(e.kind) as i32,
        from: e.from.as_ref().map(paragraph),
        to: e.to.as_ref().map(paragraph),
        similarity: e.similarity,
        cosine: e.cosine,
        diff: e.diff.iter().map(|s| proto::DiffSegment { op: op(s.op) as i32, text: s.text.clone() }).collect(),
    }
}

/// TextReuse response: every count, the entries of `kinds` (all when empty), at most `limit`
/// (0: all).
pub fn reuse_response(r: &ReuseReport, kinds: &[ReuseKind], limit: u32) -> proto::TextReuseResponse {
    let limit = if limit == 0 { usize::MAX } else { limit as usize };
    let c = &r.counts;
    proto::TextReuseResponse {
        from_label: r.from_label.clone(),
        to_label: r.to_label.clone(),
        from_paragraphs: c.from_paragraphs,
        to_paragraphs: c.to_paragraphs,
        verbatim: c.verbatim,
        edited: c.edited,
        rewritten: c.rewritten,
        dropped: c.dropped,
        new: c.new,
        reused_share: c.reused_share,
        entries: r.entries.iter().filter(|e| kinds.is_empty() || kinds.contains(&e.kind)).take(limit).map(entry).collect(),
        elapsed_ms: r.elapsed_ms,
    }
}
