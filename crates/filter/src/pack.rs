//! Rule packs: the TOML format, loading from a file or a directory, and validation.
//!
//! A [`RulePack`] is a validated, not yet compiled, set of rules, shared patterns, lists
//! and groups. [`crate::Ruleset::compile`] turns it into Hyperscan databases. The format
//! reference is `docs/rules.md`.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

use serde::Deserialize;
use smppguard_text::{NormalizeOptions, Normalizer};
use toml::Spanned;

use crate::digest::Fnv64;
use crate::error::{Diagnostic, Error, Location, Problem};
use crate::expr::{self, Expr};
use crate::list::{List, ListKind};
use crate::model::{Action, ActionKind, Category, DEFAULT_REJECT_STATUS, Field, Mode};

#[cfg(test)]
mod tests;

/// The rule-pack format version this build reads.
pub const FORMAT_VERSION: i64 = 1;

/// Longest `@rule` reference chain accepted; bounds the evaluator's recursion.
pub(crate) const MAX_REF_DEPTH: usize = 16;

// === raw (serde) model ===

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    format: Option<Spanned<i64>>,
    pack: Option<Spanned<RawHeader>>,
    normalize: Option<Spanned<toml::Table>>,
    #[serde(default)]
    groups: BTreeMap<Spanned<String>, Vec<String>>,
    #[serde(default)]
    lists: BTreeMap<Spanned<String>, RawList>,
    #[serde(default)]
    patterns: BTreeMap<Spanned<String>, RawPattern>,
    #[serde(default)]
    rule: Vec<RawRule>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHeader {
    name: String,
    version: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    allow_drop: bool,
    reject_status: Option<Spanned<u32>>,
    mode: Option<Mode>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawList {
    kind: ListKind,
    file: Option<String>,
    entries: Option<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    fn into_vec(self) -> Vec<String> {
        match self {
            Self::One(s) => vec![s],
            Self::Many(v) => v,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPattern {
    field: Option<Field>,
    literal: Option<OneOrMany>,
    regex: Option<OneOrMany>,
    list: Option<String>,
    caseless: Option<bool>,
    dotall: Option<bool>,
    ucp: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    id: Spanned<String>,
    description: String,
    category: Category,
    action: Spanned<ActionKind>,
    status: Option<Spanned<u32>>,
    #[serde(default)]
    priority: i32,
    mode: Option<Mode>,
    when: Option<Spanned<String>>,
    #[serde(default)]
    patterns: BTreeMap<Spanned<String>, RawPattern>,
    #[serde(default)]
    scope: RawScope,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScope {
    #[serde(default)]
    accounts: Vec<String>,
    #[serde(default)]
    groups: Vec<String>,
    #[serde(default)]
    senders: Vec<String>,
    #[serde(default)]
    destinations: Vec<String>,
    #[serde(default)]
    except_accounts: Vec<String>,
    #[serde(default)]
    except_groups: Vec<String>,
}

// === validated model ===

/// Hyperscan flags of one expression, as the pack asked for them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct ExprFlags {
    pub(crate) caseless: bool,
    pub(crate) dotall: bool,
    pub(crate) utf8: bool,
    pub(crate) ucp: bool,
}

/// One Hyperscan expression of a pattern.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct HsExpr {
    /// The expression handed to Hyperscan (a literal is escaped).
    pub(crate) expression: String,
    pub(crate) flags: ExprFlags,
    /// For a literal, its bytes: the match start is then `end - len` (no SOM needed).
    pub(crate) literal: Option<String>,
}

/// What a term tests.
#[derive(Clone, Debug)]
pub(crate) enum TermKind {
    /// True when any of these expressions matches the field.
    Exprs(Vec<HsExpr>),
    /// True when a value of the field is in the list (index into `RulePack::lists`).
    List(u32),
}

/// A named pattern: a rule-local one or a shared one.
#[derive(Clone, Debug)]
pub(crate) struct TermDef {
    pub(crate) name: String,
    pub(crate) field: Field,
    pub(crate) kind: TermKind,
    pub(crate) location: Location,
    /// The rule that owns a local pattern; `None` for a shared one.
    pub(crate) owner: Option<u32>,
}

/// A resolved condition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Cond {
    Term(u32),
    Rule(u32),
    Not(Box<Cond>),
    And(Box<[Cond]>),
    Or(Box<[Cond]>),
}

/// A node of the rule conditions flattened into one array ([`Cond`] without boxes): the
/// evaluator walks it on every message, and one contiguous array stays in cache where the
/// boxed tree does not. Indices are into the same array; an `and`/`or`'s operands are
/// `len` consecutive nodes from `start`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Node {
    Term(u32),
    Rule(u32),
    Not(u32),
    And { start: u32, len: u32 },
    Or { start: u32, len: u32 },
}

impl Cond {
    /// Appends this condition to `nodes` and returns its root's index.
    pub(crate) fn flatten(&self, nodes: &mut Vec<Node>) -> u32 {
        let node = match self {
            Cond::Term(t) => Node::Term(*t),
            Cond::Rule(r) => Node::Rule(*r),
            Cond::Not(c) => Node::Not(c.flatten(nodes)),
            Cond::And(cs) | Cond::Or(cs) => {
                // The operands' roots, copied side by side after their subtrees.
                let roots: Vec<u32> = cs.iter().map(|c| c.flatten(nodes)).collect();
                let start = index(nodes.len());
                for r in roots {
                    if let Some(&n) = nodes.get(r as usize) {
                        nodes.push(n);
                    }
                }
                let len = index(nodes.len()).saturating_sub(start);
                match self {
                    Cond::And(_) => Node::And { start, len },
                    _ => Node::Or { start, len },
                }
            }
        };
        nodes.push(node);
        index(nodes.len().saturating_sub(1))
    }
}

/// A node index (packs are far below `u32::MAX` nodes).
fn index(i: usize) -> u32 {
    u32::try_from(i).unwrap_or(u32::MAX)
}

impl Scope {
    /// Whether the scope can exclude anyone: when not, a rule applies to every message.
    pub(crate) fn restricts(&self) -> bool {
        self.restricted
            || !self.except_accounts.is_empty()
            || !self.except_groups.is_empty()
            || !self.senders.is_empty()
            || !self.destinations.is_empty()
    }
}

/// Who a rule applies to. Empty lists mean "everyone".
#[derive(Clone, Debug, Default)]
pub(crate) struct Scope {
    /// Accounts named directly or through a pack-defined group.
    pub(crate) accounts: HashSet<String, crate::FastHash>,
    /// Group names, matched against the groups the proxy supplies in the envelope.
    pub(crate) groups: Vec<String>,
    /// Whether `accounts`/`groups` restrict anything (both empty → all accounts).
    pub(crate) restricted: bool,
    pub(crate) except_accounts: HashSet<String, crate::FastHash>,
    pub(crate) except_groups: Vec<String>,
    /// Sender IDs, ASCII lower-case.
    pub(crate) senders: Vec<String>,
    /// Destination prefixes, digits only.
    pub(crate) destinations: Vec<String>,
}

/// A validated rule.
#[derive(Clone, Debug)]
pub(crate) struct RuleDef {
    pub(crate) id: String,
    pub(crate) description: String,
    pub(crate) category: Category,
    pub(crate) action: Action,
    pub(crate) priority: i32,
    pub(crate) mode: Mode,
    pub(crate) cond: Cond,
    pub(crate) scope: Scope,
    pub(crate) location: Location,
}

/// A loaded and validated rule pack, ready to compile.
///
/// Loading checks everything that can be checked without building the databases: the
/// TOML, names and references, conditions, lists, and each pattern's syntax through
/// Hyperscan's expression analysis.
#[derive(Debug)]
pub struct RulePack {
    pub(crate) name: String,
    pub(crate) version: String,
    pub(crate) description: String,
    pub(crate) allow_drop: bool,
    pub(crate) normalizer: Normalizer,
    pub(crate) lists: Vec<List>,
    pub(crate) terms: Vec<TermDef>,
    pub(crate) rules: Vec<RuleDef>,
    pub(crate) digest: u64,
    pub(crate) files: Vec<PathBuf>,
    pub(crate) warnings: Vec<Diagnostic>,
}

// === impl RulePack ===

impl RulePack {
    /// Loads a pack from a `.toml` file or from a directory of them (read in name order;
    /// exactly one file carries the `[pack]` header). List files are found relative to
    /// the file that declares them.
    pub fn load(path: impl AsRef<Path>) -> Result<Self, Error> {
        Self::load_with(path.as_ref(), Loader::default())
    }

    /// Loads a pack like [`RulePack::load`] but normalizes with `opts` instead of the
    /// pack's `[normalize]` table, so the same rules can be measured against text that
    /// was not normalized (a raw-byte matcher's view).
    pub fn load_with_normalize(
        path: impl AsRef<Path>,
        opts: NormalizeOptions,
    ) -> Result<Self, Error> {
        let loader = Loader {
            normalize_override: Some(opts),
            ..Loader::default()
        };
        Self::load_with(path.as_ref(), loader)
    }

    fn load_with(path: &Path, loader: Loader) -> Result<Self, Error> {
        let meta = std::fs::metadata(path).map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let files = if meta.is_dir() {
            let mut files = Vec::new();
            let rd = std::fs::read_dir(path).map_err(|source| Error::Io {
                path: path.to_path_buf(),
                source,
            })?;
            for entry in rd {
                let entry = entry.map_err(|source| Error::Io {
                    path: path.to_path_buf(),
                    source,
                })?;
                let p = entry.path();
                if p.extension().is_some_and(|e| e == "toml") && p.is_file() {
                    files.push(p);
                }
            }
            files.sort();
            if files.is_empty() {
                return Err(Error::Invalid(vec![Diagnostic {
                    location: Location::file(path),
                    rule: None,
                    pattern: None,
                    problem: Problem::NoFiles,
                }]));
            }
            files
        } else {
            vec![path.to_path_buf()]
        };
        let mut sources = Vec::with_capacity(files.len());
        for f in files {
            let text = std::fs::read_to_string(&f).map_err(|source| Error::Io {
                path: f.clone(),
                source,
            })?;
            sources.push((f, text));
        }
        loader.load(sources)
    }

    /// Parses a pack held in memory; `origin` names it in diagnostics and list files are
    /// found relative to its directory.
    pub fn from_toml(source: &str, origin: impl AsRef<Path>) -> Result<Self, Error> {
        Loader::default().load(vec![(origin.as_ref().to_path_buf(), source.to_owned())])
    }

    /// The pack's `name`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The pack's own `version` string.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// Whether the pack permits action `drop` (`allow_drop = true`).
    pub fn allow_drop(&self) -> bool {
        self.allow_drop
    }

    /// The pack's `description`.
    pub fn description(&self) -> &str {
        &self.description
    }

    /// Number of rules.
    pub fn rule_count(&self) -> usize {
        self.rules.len()
    }

    /// Number of Hyperscan expressions (each literal or regex of every used pattern).
    pub fn expression_count(&self) -> usize {
        self.terms
            .iter()
            .map(|t| match &t.kind {
                TermKind::Exprs(e) => e.len(),
                TermKind::List(_) => 0,
            })
            .sum()
    }

    /// Number of lists and their total entries.
    pub fn list_stats(&self) -> (usize, usize) {
        (self.lists.len(), self.lists.iter().map(List::len).sum())
    }

    /// Problems that do not stop the pack from loading (unused patterns, groups only
    /// the proxy can supply).
    pub fn warnings(&self) -> &[Diagnostic] {
        &self.warnings
    }

    /// The files the pack was read from.
    pub fn files(&self) -> &[PathBuf] {
        &self.files
    }

    /// The text normalization the pack's `[normalize]` table asks for.
    pub fn normalize_options(&self) -> &NormalizeOptions {
        self.normalizer.options()
    }

    /// The content digest: the same files give the same digest on every machine.
    pub fn digest(&self) -> u64 {
        self.digest
    }
}

// === validation helpers ===

/// Whether `id` is a valid rule id: ASCII letters, digits and `_ - . :`, starting with a
/// letter or digit, at most 64 bytes (ids end up in logs and admin API paths).
fn check_rule_id(id: &str) -> Result<(), &'static str> {
    let mut chars = id.chars();
    match chars.next() {
        None => Err("empty"),
        Some(c) if !c.is_ascii_alphanumeric() => Err("must start with a letter or digit"),
        _ if id.len() > 64 => Err("longer than 64 bytes"),
        _ if !chars.all(expr::is_rule_id_char) => {
            Err("only ASCII letters, digits and `_ - . :` are allowed")
        }
        _ => Ok(()),
    }
}

/// Pattern, list and group names: identifiers usable in a condition.
fn check_name(name: &str) -> Result<(), &'static str> {
    let mut chars = name.chars();
    match chars.next() {
        None => Err("empty"),
        Some(c) if !(c.is_ascii_alphabetic() || c == '_') => Err("must start with a letter or `_`"),
        _ if name.len() > 64 => Err("longer than 64 bytes"),
        _ if !chars.all(|c| c.is_ascii_alphanumeric() || c == '_') => {
            Err("only ASCII letters, digits and `_` are allowed")
        }
        _ if matches!(name, "and" | "or" | "not" | "AND" | "OR" | "NOT") => {
            Err("`and`, `or` and `not` are keywords")
        }
        _ => Ok(()),
    }
}

/// Escapes a literal for Hyperscan: ASCII letters, digits and non-ASCII characters stay,
/// everything else becomes `\xHH`, so no byte can act as regex syntax (or be a NUL that
/// ends the C string).
pub(crate) fn escape_literal(lit: &str) -> String {
    let mut out = String::with_capacity(lit.len() * 2);
    for c in lit.chars() {
        if c.is_ascii_alphanumeric() || !c.is_ascii() {
            out.push(c);
        } else {
            out.push_str(&format!("\\x{:02x}", c as u32));
        }
    }
    out
}

/// Writes the non-ASCII characters of a `text` regex in match-text form, so `貸款.{0,6}秒批`
/// meets the Simplified, folded match text as `贷款.{0,6}秒批`. Escapes, ASCII and
/// characters whose form is empty or, inside a class, longer than one character are kept.
///
/// When the match text is case-folded, ASCII letters outside escapes are lower-cased (so
/// `LINE` meets `line` without a caseless automaton). When its digits are folded to
/// ASCII, `\d` becomes `[0-9]`: the same matches, and in UCP mode a far smaller automaton
/// (a 10-digit phone regex compiles in about 1 ms instead of 200 ms).
pub(crate) fn normalize_regex(re: &str, normalizer: &Normalizer) -> String {
    let ascii_digits = normalizer.options().fold_digits;
    let fold_case = normalizer.options().case_fold;
    let mut out = String::with_capacity(re.len());
    let mut chars = re.chars().peekable();
    let mut in_class = false;
    let mut buf = [0u8; 4];
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('d') if ascii_digits => out.push_str(if in_class { "0-9" } else { "[0-9]" }),
                Some('D') if ascii_digits && !in_class => out.push_str("[^0-9]"),
                // Escapes with a braced argument (`\p{Han}`, `\x{8cb8}`) keep it as is.
                Some(n @ ('p' | 'P' | 'x' | 'o' | 'N')) => {
                    out.push(c);
                    out.push(n);
                    if chars.peek() == Some(&'{') {
                        for b in chars.by_ref() {
                            out.push(b);
                            if b == '}' {
                                break;
                            }
                        }
                    }
                }
                Some(n) => {
                    out.push(c);
                    out.push(n);
                }
                None => out.push(c),
            },
            c if fold_case && c.is_ascii_uppercase() => out.push(c.to_ascii_lowercase()),
            '[' if !in_class => {
                in_class = true;
                out.push(c);
                for lead in ['^', ']'] {
                    if let Some(n) = chars.next_if_eq(&lead) {
                        out.push(n);
                    }
                }
            }
            ']' if in_class => {
                in_class = false;
                out.push(c);
            }
            c if c.is_ascii() => out.push(c),
            c => {
                let n = normalizer.normalize_literal(c.encode_utf8(&mut buf));
                if n.is_empty() || (in_class && n.chars().count() != 1) {
                    out.push(c);
                } else {
                    out.push_str(&escape_literal(&n));
                }
            }
        }
    }
    out
}

/// Whether a regex uses `\b` or `\B` outside a character class. Hyperscan rejects word
/// boundaries in UCP mode, so such patterns default to ASCII word semantics.
pub(crate) fn has_word_boundary(re: &str) -> bool {
    let mut chars = re.chars().peekable();
    let mut in_class = false;
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('b' | 'B') if !in_class => return true,
                _ => {}
            },
            '[' if !in_class => {
                in_class = true;
                // A `]` right after `[` or `[^` is a literal member.
                chars.next_if_eq(&'^');
                chars.next_if_eq(&']');
            }
            ']' if in_class => in_class = false,
            _ => {}
        }
    }
    false
}

/// The digits of a destination prefix, or why it is rejected.
fn normalize_prefix(p: &str) -> Result<String, &'static str> {
    let p = p.trim();
    let p = p.strip_prefix('+').unwrap_or(p);
    if p.is_empty() || p.len() > 20 || !p.bytes().all(|b| b.is_ascii_digit()) {
        return Err("a destination prefix is 1 to 20 digits, optionally after `+`");
    }
    Ok(p.to_owned())
}

// === the loader ===

/// Shared state while loading the files of one pack.
#[derive(Default)]
struct Loader {
    diags: Vec<Diagnostic>,
    warnings: Vec<Diagnostic>,
    /// The pack's normalizer, which `text` literals and regexes are written through.
    normalizer: Normalizer,
    /// Options that replace the pack's `[normalize]` table.
    normalize_override: Option<NormalizeOptions>,
}

/// A rule collected from one file, before its condition is resolved.
struct PendingRule {
    file: usize,
    raw: RawRule,
    location: Location,
}

struct FileCtx {
    path: PathBuf,
    text: String,
}

impl FileCtx {
    fn loc(&self, offset: usize) -> Location {
        Location::at(&self.path, &self.text, offset)
    }

    fn dir(&self) -> &Path {
        self.path.parent().unwrap_or(Path::new("."))
    }
}

impl Loader {
    fn push(
        &mut self,
        location: Location,
        rule: Option<&str>,
        pattern: Option<&str>,
        problem: Problem,
    ) {
        self.diags.push(Diagnostic {
            location,
            rule: rule.map(str::to_owned),
            pattern: pattern.map(str::to_owned),
            problem,
        });
    }

    /// Checks a new group, list or shared-pattern name: valid and not yet defined
    /// (`first` finds an earlier definition). Returns the name and where it is.
    fn claim(
        &mut self,
        what: &'static str,
        name: Spanned<String>,
        ctx: &FileCtx,
        first: impl Fn(&str) -> Option<Location>,
    ) -> Option<(String, Location)> {
        let loc = ctx.loc(name.span().start);
        let name = name.into_inner();
        if let Err(why) = check_name(&name) {
            self.push(loc, None, None, Problem::InvalidName(name, why));
            return None;
        }
        if let Some(first) = first(&name) {
            self.push(loc, None, None, Problem::DuplicateName { what, first });
            return None;
        }
        Some((name, loc))
    }

    fn warn(
        &mut self,
        location: Location,
        rule: Option<&str>,
        pattern: Option<&str>,
        problem: Problem,
    ) {
        self.warnings.push(Diagnostic {
            location,
            rule: rule.map(str::to_owned),
            pattern: pattern.map(str::to_owned),
            problem,
        });
    }

    fn load(mut self, sources: Vec<(PathBuf, String)>) -> Result<RulePack, Error> {
        let mut digest = Fnv64::new();
        let mut raws: Vec<(FileCtx, RawFile)> = Vec::new();
        for (path, text) in sources {
            digest.write_chunk(text.as_bytes());
            let ctx = FileCtx { path, text };
            match toml::from_str::<RawFile>(&ctx.text) {
                Ok(raw) => raws.push((ctx, raw)),
                Err(e) => {
                    let location = e
                        .span()
                        .map_or_else(|| Location::file(&ctx.path), |s| ctx.loc(s.start));
                    let mut msg = e.message().trim().to_owned();
                    truncate(&mut msg, 300);
                    self.push(location, None, None, Problem::Syntax(msg));
                }
            }
        }
        if !self.diags.is_empty() {
            return Err(Error::Invalid(self.diags));
        }

        // Header, format, normalize.
        let mut header: Option<(RawHeader, Location)> = None;
        let mut normalize = None;
        for (ctx, raw) in &mut raws {
            if let Some(fmt) = &raw.format
                && *fmt.get_ref() != FORMAT_VERSION
            {
                self.push(
                    ctx.loc(fmt.span().start),
                    None,
                    None,
                    Problem::UnsupportedFormat(*fmt.get_ref()),
                );
            }
            if let Some(h) = raw.pack.take() {
                let loc = ctx.loc(h.span().start);
                if raw.format.is_none() {
                    self.push(loc.clone(), None, None, Problem::MissingFormat);
                }
                match &header {
                    Some((_, first)) => {
                        let first = first.clone();
                        self.push(loc, None, None, Problem::DuplicateHeader { first });
                    }
                    None => header = Some((h.into_inner(), loc)),
                }
            }
            if let Some(n) = raw.normalize.take() {
                let loc = ctx.loc(n.span().start);
                if normalize.is_some() {
                    let why = "defined in more than one file".into();
                    self.push(loc.clone(), None, None, Problem::Normalize(why));
                }
                match toml::Value::Table(n.into_inner()).try_into::<NormalizeOptions>() {
                    Ok(opts) => normalize = Some(opts),
                    Err(e) => {
                        let mut why = e.message().trim().to_owned();
                        truncate(&mut why, 200);
                        self.push(loc, None, None, Problem::Normalize(why));
                    }
                }
            }
        }
        let Some((header, header_loc)) = header else {
            let location = raws.first().map_or_else(
                || Location::file(Path::new(".")),
                |(f, _)| Location::file(&f.path),
            );
            self.push(location, None, None, Problem::MissingHeader);
            return Err(Error::Invalid(self.diags));
        };
        let default_status = match &header.reject_status {
            Some(s) if *s.get_ref() == 0 => {
                self.push(header_loc.clone(), None, None, Problem::ZeroStatus);
                DEFAULT_REJECT_STATUS
            }
            Some(s) => *s.get_ref(),
            None => DEFAULT_REJECT_STATUS,
        };
        let default_mode = header.mode.unwrap_or_default();
        let opts = self.normalize_override.take().or(normalize);
        self.normalizer = Normalizer::new(opts.unwrap_or_default());

        // Groups.
        let mut groups: HashMap<String, (Vec<String>, Location)> = HashMap::new();
        for (ctx, raw) in &mut raws {
            for (name, members) in std::mem::take(&mut raw.groups) {
                let first = |n: &str| groups.get(n).map(|(_, l)| l.clone());
                let Some((name, loc)) = self.claim("group", name, ctx, first) else {
                    continue;
                };
                groups.insert(name, (members, loc));
            }
        }

        // Lists.
        let mut lists = Vec::new();
        let mut list_index: HashMap<String, (u32, Location)> = HashMap::new();
        for (ctx, raw) in &mut raws {
            for (name, rl) in std::mem::take(&mut raw.lists) {
                let first = |n: &str| list_index.get(n).map(|(_, l)| l.clone());
                let Some((name, loc)) = self.claim("list", name, ctx, first) else {
                    continue;
                };
                let mut list = List::new(name.clone(), rl.kind);
                if rl.file.is_none() && rl.entries.is_none() {
                    self.push(loc.clone(), None, None, Problem::ListSource);
                }
                if let Some(entries) = &rl.entries {
                    list.add_entries(entries, &loc, &mut self.diags);
                    for e in entries {
                        digest.write_chunk(e.as_bytes());
                    }
                }
                if let Some(file) = &rl.file {
                    let path = ctx.dir().join(file);
                    if let Some(d) = list.add_file(&path, &mut self.diags) {
                        digest.write(&d.to_le_bytes());
                    }
                }
                let Ok(idx) = u32::try_from(lists.len()) else {
                    continue;
                };
                list_index.insert(name, (idx, loc));
                lists.push(list);
            }
        }

        // Shared patterns.
        let mut terms: Vec<TermDef> = Vec::new();
        let mut shared: HashMap<String, u32> = HashMap::new();
        // Shared patterns already reported as invalid: not reported again where used.
        let mut invalid_shared: HashSet<String> = HashSet::new();
        for (ctx, raw) in &mut raws {
            for (name, rp) in std::mem::take(&mut raw.patterns) {
                let first = |n: &str| {
                    let t = *shared.get(n)?;
                    terms.get(t as usize).map(|t| t.location.clone())
                };
                let Some((name, loc)) = self.claim("pattern", name, ctx, first) else {
                    continue;
                };
                match self.term(&name, None, rp, loc, None, &list_index, &lists) {
                    Some(term) => {
                        let Ok(idx) = u32::try_from(terms.len()) else {
                            continue;
                        };
                        shared.insert(name, idx);
                        terms.push(term);
                    }
                    None => {
                        invalid_shared.insert(name);
                    }
                }
            }
        }

        // Rule ids.
        let mut pending = Vec::new();
        let mut rule_index: HashMap<String, u32> = HashMap::new();
        for (fi, (ctx, raw)) in raws.iter_mut().enumerate() {
            for rr in std::mem::take(&mut raw.rule) {
                let loc = ctx.loc(rr.id.span().start);
                let id = rr.id.get_ref().clone();
                if let Err(why) = check_rule_id(&id) {
                    self.push(loc, None, None, Problem::InvalidName(id, why));
                    continue;
                }
                if let Some(&r) = rule_index.get(&id) {
                    let first = pending
                        .get(r as usize)
                        .map(|p: &PendingRule| p.location.clone());
                    if let Some(first) = first {
                        self.push(loc, Some(&id), None, Problem::DuplicateRule { first });
                    }
                    continue;
                }
                let Ok(idx) = u32::try_from(pending.len()) else {
                    continue;
                };
                rule_index.insert(id, idx);
                pending.push(PendingRule {
                    file: fi,
                    raw: rr,
                    location: loc,
                });
            }
        }

        // Rules: local patterns, conditions, actions, scopes.
        let mut rules = Vec::with_capacity(pending.len());
        let mut used_shared = HashSet::new();
        for (ri, p) in pending.into_iter().enumerate() {
            let Some((ctx, _)) = raws.get(p.file) else {
                continue;
            };
            let mut rr = p.raw;
            let id = rr.id.get_ref().clone();
            let Ok(ri) = u32::try_from(ri) else {
                continue;
            };
            let mut local: BTreeMap<String, u32> = BTreeMap::new();
            // Patterns already reported as invalid: not reported again as unknown names.
            let mut invalid: HashSet<String> = HashSet::new();
            let has_patterns = !rr.patterns.is_empty();
            for (name, rp) in std::mem::take(&mut rr.patterns) {
                let loc = ctx.loc(name.span().start);
                let name = name.into_inner();
                if let Err(why) = check_name(&name) {
                    self.push(
                        loc,
                        Some(&id),
                        None,
                        Problem::InvalidName(name.clone(), why),
                    );
                    invalid.insert(name);
                    continue;
                }
                if shared.contains_key(&name) {
                    self.push(loc, Some(&id), Some(&name), Problem::ShadowsShared);
                    continue;
                }
                match self.term(&name, Some(&id), rp, loc, Some(ri), &list_index, &lists) {
                    Some(term) => {
                        let Ok(idx) = u32::try_from(terms.len()) else {
                            continue;
                        };
                        local.insert(name, idx);
                        terms.push(term);
                    }
                    None => {
                        invalid.insert(name);
                    }
                }
            }

            let cond = match &rr.when {
                Some(when) => match expr::parse(when.get_ref()) {
                    Ok(e) => {
                        let mut unresolved = Vec::new();
                        let c = resolve(&e, &local, &shared, &rule_index, &mut unresolved);
                        for u in unresolved {
                            let reported = matches!(&u, Problem::UnknownPattern(n)
                                if invalid.contains(n) || invalid_shared.contains(n));
                            if !reported {
                                self.push(ctx.loc(when.span().start), Some(&id), None, u);
                            }
                        }
                        collect_shared(&e, &shared, &mut used_shared);
                        c
                    }
                    Err(err) => {
                        // Point into the string: +1 skips the opening quote.
                        let at = when.span().start + 1 + err.position;
                        self.push(ctx.loc(at), Some(&id), None, Problem::Condition(err));
                        None
                    }
                },
                None if local.is_empty() => {
                    if !has_patterns {
                        self.push(p.location.clone(), Some(&id), None, Problem::NoCondition);
                    }
                    None
                }
                None => {
                    let any: Vec<Cond> = local.values().map(|&t| Cond::Term(t)).collect();
                    Some(match <[Cond; 1]>::try_from(any) {
                        Ok([one]) => one,
                        Err(many) => Cond::Or(many.into_boxed_slice()),
                    })
                }
            };

            let action = self.action(&rr, &id, &header, default_status, ctx);
            let scope = self.scope(std::mem::take(&mut rr.scope), &id, &p.location, &groups);
            if let (Some(cond), Some(action), Some(scope)) = (cond, action, scope) {
                rules.push(RuleDef {
                    id,
                    description: rr.description,
                    category: rr.category,
                    action,
                    priority: rr.priority,
                    mode: rr.mode.unwrap_or(default_mode),
                    cond,
                    scope,
                    location: p.location,
                });
            }
        }

        if self.diags.is_empty() {
            self.check_references(&rules);
        }
        for (name, &t) in &shared {
            if !used_shared.contains(&t)
                && let Some(term) = terms.get(t as usize)
            {
                self.warn(
                    term.location.clone(),
                    None,
                    Some(name),
                    Problem::UnusedPattern,
                );
            }
        }
        if !self.diags.is_empty() {
            return Err(Error::Invalid(self.diags));
        }
        self.warnings.sort_by(|a, b| {
            (&a.location.file, a.location.line).cmp(&(&b.location.file, b.location.line))
        });
        Ok(RulePack {
            name: header.name,
            version: header.version,
            description: header.description,
            allow_drop: header.allow_drop,
            normalizer: self.normalizer,
            lists,
            terms,
            rules,
            digest: digest.finish(),
            files: raws.into_iter().map(|(f, _)| f.path).collect(),
            warnings: self.warnings,
        })
    }

    /// Validates one pattern and builds its term.
    #[allow(clippy::too_many_arguments)] // ok: one call site per kind of pattern
    fn term(
        &mut self,
        name: &str,
        rule: Option<&str>,
        rp: RawPattern,
        location: Location,
        owner: Option<u32>,
        list_index: &HashMap<String, (u32, Location)>,
        lists: &[List],
    ) -> Option<TermDef> {
        let kinds = [rp.literal.is_some(), rp.regex.is_some(), rp.list.is_some()];
        if kinds.iter().filter(|&&k| k).count() != 1 {
            self.push(location, rule, Some(name), Problem::PatternKind);
            return None;
        }
        if let Some(list) = rp.list {
            if rp.caseless.is_some() || rp.dotall.is_some() || rp.ucp.is_some() {
                self.push(location.clone(), rule, Some(name), Problem::ListFlags);
            }
            let Some(&(idx, _)) = list_index.get(&list) else {
                self.push(location, rule, Some(name), Problem::UnknownList(list));
                return None;
            };
            let kind = lists.get(idx as usize)?.kind;
            let field = rp.field.unwrap_or(kind.default_field());
            if !kind.accepts(field) {
                self.push(
                    location,
                    rule,
                    Some(name),
                    Problem::ListField {
                        kind: kind.as_str(),
                        field,
                    },
                );
                return None;
            }
            return Some(TermDef {
                name: name.to_owned(),
                field,
                kind: TermKind::List(idx),
                location,
                owner,
            });
        }
        let field = rp.field.unwrap_or(Field::Text);
        let (sources, is_literal) = match (rp.literal, rp.regex) {
            (Some(l), _) => (l.into_vec(), true),
            (_, Some(r)) => (r.into_vec(), false),
            _ => return None,
        };
        if sources.is_empty() || sources.iter().any(String::is_empty) {
            self.push(location, rule, Some(name), Problem::EmptyPattern);
            return None;
        }
        // On a case-folded match text, `text` patterns are folded too (below) instead of
        // caseless: the same matches, and caseless UCP automata are the costliest kind.
        let caseless = rp.caseless.unwrap_or(false);
        let mut exprs = Vec::with_capacity(sources.len());
        let mut ok = true;
        for src in sources {
            let original = src.clone();
            let (expression, literal) = match (is_literal, field) {
                (true, Field::Text) => {
                    let lit = self.normalizer.normalize_literal(&src);
                    if lit.is_empty() {
                        self.push(location.clone(), rule, Some(name), Problem::EmptyPattern);
                        ok = false;
                        continue;
                    }
                    (escape_literal(&lit), Some(lit))
                }
                (true, _) => (escape_literal(&src), Some(src)),
                (false, Field::Text) => (normalize_regex(&src, &self.normalizer), None),
                (false, _) => (src, None),
            };
            // UCP: on for prose fields unless the regex needs ASCII word boundaries; a
            // literal only needs it to fold non-ASCII case.
            let auto_ucp = field.is_prose()
                && if is_literal {
                    caseless
                } else {
                    !has_word_boundary(&expression)
                };
            let flags = ExprFlags {
                caseless,
                dotall: rp.dotall.unwrap_or(false),
                utf8: field.is_utf8(),
                ucp: rp.ucp.unwrap_or(auto_ucp) && field.is_utf8(),
            };
            let e = HsExpr {
                expression,
                flags,
                literal,
            };
            if let Err(mut problem) = crate::compile::check_expression(&e) {
                if let Problem::Regex { expression, .. } = &mut problem
                    && e.expression != original
                {
                    *expression = Some(e.expression.clone());
                }
                self.push(location.clone(), rule, Some(name), problem);
                ok = false;
            }
            exprs.push(e);
        }
        ok.then(|| TermDef {
            name: name.to_owned(),
            field,
            kind: TermKind::Exprs(exprs),
            location,
            owner,
        })
    }

    fn action(
        &mut self,
        rr: &RawRule,
        id: &str,
        header: &RawHeader,
        default_status: u32,
        ctx: &FileCtx,
    ) -> Option<Action> {
        let kind = *rr.action.get_ref();
        let loc = ctx.loc(rr.action.span().start);
        if let Some(status) = &rr.status {
            let sloc = ctx.loc(status.span().start);
            if kind != ActionKind::Reject {
                self.push(sloc, Some(id), None, Problem::StatusWithoutReject(kind));
                return None;
            }
            if *status.get_ref() == 0 {
                self.push(sloc, Some(id), None, Problem::ZeroStatus);
                return None;
            }
        }
        Some(match kind {
            ActionKind::Allow => Action::Allow,
            ActionKind::Monitor => Action::Monitor,
            ActionKind::Tag => Action::Tag,
            ActionKind::Reject => Action::Reject {
                status: rr.status.as_ref().map_or(default_status, |s| *s.get_ref()),
            },
            ActionKind::Drop => {
                if !header.allow_drop {
                    self.push(loc, Some(id), None, Problem::DropNotAllowed);
                    return None;
                }
                Action::Drop
            }
            ActionKind::Quarantine => Action::Quarantine,
        })
    }

    fn scope(
        &mut self,
        raw: RawScope,
        id: &str,
        loc: &Location,
        groups: &HashMap<String, (Vec<String>, Location)>,
    ) -> Option<Scope> {
        let mut scope = Scope {
            restricted: !raw.accounts.is_empty() || !raw.groups.is_empty(),
            ..Scope::default()
        };
        scope.accounts.extend(raw.accounts);
        for g in &raw.groups {
            match groups.get(g) {
                Some((members, _)) => scope.accounts.extend(members.iter().cloned()),
                None => self.warn(
                    loc.clone(),
                    Some(id),
                    None,
                    Problem::UnknownGroup(g.clone()),
                ),
            }
        }
        scope.groups = raw.groups;
        scope.except_accounts.extend(raw.except_accounts);
        for g in &raw.except_groups {
            match groups.get(g) {
                Some((members, _)) => scope.except_accounts.extend(members.iter().cloned()),
                None => self.warn(
                    loc.clone(),
                    Some(id),
                    None,
                    Problem::UnknownGroup(g.clone()),
                ),
            }
        }
        scope.except_groups = raw.except_groups;
        scope.senders = raw
            .senders
            .iter()
            .map(|s| s.trim().to_ascii_lowercase())
            .collect();
        let mut ok = true;
        for d in &raw.destinations {
            match normalize_prefix(d) {
                Ok(p) => scope.destinations.push(p),
                Err(why) => {
                    self.push(
                        loc.clone(),
                        Some(id),
                        None,
                        Problem::InvalidName(d.clone(), why),
                    );
                    ok = false;
                }
            }
        }
        ok.then_some(scope)
    }

    /// Rejects `@rule` cycles and chains deeper than [`MAX_REF_DEPTH`].
    fn check_references(&mut self, rules: &[RuleDef]) {
        fn refs(c: &Cond, out: &mut Vec<u32>) {
            match c {
                Cond::Term(_) => {}
                Cond::Rule(r) => out.push(*r),
                Cond::Not(c) => refs(c, out),
                Cond::And(cs) | Cond::Or(cs) => cs.iter().for_each(|c| refs(c, out)),
            }
        }
        let edges: Vec<Vec<u32>> = rules
            .iter()
            .map(|r| {
                let mut v = Vec::new();
                refs(&r.cond, &mut v);
                v
            })
            .collect();
        // Depth of the longest chain from each rule; `None` = on the current path.
        let mut depth: Vec<Option<Option<usize>>> = vec![None; rules.len()];
        for start in 0..rules.len() {
            let mut path = Vec::new();
            if let Err(problem) = visit(start, &edges, &mut depth, &mut path, rules) {
                let (loc, id) = rules
                    .get(start)
                    .map(|r| (r.location.clone(), r.id.clone()))
                    .unwrap_or_else(|| (Location::file(Path::new(".")), String::new()));
                self.push(loc, Some(&id), None, problem);
                return;
            }
        }

        fn visit(
            r: usize,
            edges: &[Vec<u32>],
            depth: &mut [Option<Option<usize>>],
            path: &mut Vec<usize>,
            rules: &[RuleDef],
        ) -> Result<usize, Problem> {
            match depth.get(r).copied().flatten() {
                Some(Some(d)) => return Ok(d),
                Some(None) => {
                    let from = path.iter().position(|&p| p == r).unwrap_or(0);
                    let names: Vec<&str> = path
                        .get(from..)
                        .unwrap_or_default()
                        .iter()
                        .chain(std::iter::once(&r))
                        .filter_map(|&i| rules.get(i).map(|x| x.id.as_str()))
                        .collect();
                    return Err(Problem::Cycle(names.join(" -> ")));
                }
                None => {}
            }
            if path.len() > MAX_REF_DEPTH {
                return Err(Problem::TooDeep(MAX_REF_DEPTH));
            }
            if let Some(d) = depth.get_mut(r) {
                *d = Some(None);
            }
            path.push(r);
            let mut deepest = 0;
            for &next in edges.get(r).map(Vec::as_slice).unwrap_or_default() {
                deepest = deepest.max(visit(next as usize, edges, depth, path, rules)? + 1);
            }
            path.pop();
            if deepest > MAX_REF_DEPTH {
                return Err(Problem::TooDeep(MAX_REF_DEPTH));
            }
            if let Some(d) = depth.get_mut(r) {
                *d = Some(Some(deepest));
            }
            Ok(deepest)
        }
    }
}

/// Resolves names: rule-local patterns first, then shared ones, then `@rule` ids.
fn resolve(
    e: &Expr,
    local: &BTreeMap<String, u32>,
    shared: &HashMap<String, u32>,
    rules: &HashMap<String, u32>,
    unresolved: &mut Vec<Problem>,
) -> Option<Cond> {
    match e {
        Expr::Name(n) => match local.get(n).or_else(|| shared.get(n)) {
            Some(&t) => Some(Cond::Term(t)),
            None => {
                unresolved.push(Problem::UnknownPattern(n.clone()));
                None
            }
        },
        Expr::Rule(r) => match rules.get(r) {
            Some(&i) => Some(Cond::Rule(i)),
            None => {
                unresolved.push(Problem::UnknownRule(r.clone()));
                None
            }
        },
        Expr::Not(inner) => {
            resolve(inner, local, shared, rules, unresolved).map(|c| Cond::Not(Box::new(c)))
        }
        Expr::And(items) | Expr::Or(items) => {
            let mut out = Vec::with_capacity(items.len());
            for i in items {
                if let Some(c) = resolve(i, local, shared, rules, unresolved) {
                    out.push(c);
                }
            }
            if out.len() != items.len() {
                return None;
            }
            let out = out.into_boxed_slice();
            Some(if matches!(e, Expr::And(_)) {
                Cond::And(out)
            } else {
                Cond::Or(out)
            })
        }
    }
}

fn collect_shared(e: &Expr, shared: &HashMap<String, u32>, used: &mut HashSet<u32>) {
    match e {
        Expr::Name(n) => {
            if let Some(&t) = shared.get(n) {
                used.insert(t);
            }
        }
        Expr::Rule(_) => {}
        Expr::Not(i) => collect_shared(i, shared, used),
        Expr::And(items) | Expr::Or(items) => {
            items.iter().for_each(|i| collect_shared(i, shared, used))
        }
    }
}

fn truncate(s: &mut String, max: usize) {
    if s.len() > max {
        let mut cut = max;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
        s.push('…');
    }
}
