//! The `# System calls` sections of the docs and `sys::inventory` say the
//! same thing, so neither can drift from the other unnoticed.
//!
//! This reads the crate's own source (`src/`, which the published package
//! includes too) and finds every `# System calls` section in a doc comment,
//! the item it documents, and the system calls it names. A name is every
//! code span in the section (`` `poll` ``, `` `fcntl(F_GETFL)` ``) whose
//! leading identifier, before any `(`, is lowercase, except link labels
//! (`` [`pipe`](crate::pipe) `` names a Rust item) and the documented
//! function's own parameters (`` `buf` ``). Then:
//!
//! - a public function's section names only calls its inventory entry
//!   lists: the kernel's names, as `strace` prints them, never the C
//!   library's (`waitpid`, `sigaction`, `_exit`). What other systems call
//!   instead belongs under `# Platforms`, as the inventory names Linux's
//!   calls only;
//! - a section that says "None" belongs to a function without an entry,
//!   and every other public function with a section has one;
//! - every inventory entry belongs to a function with a section;
//! - sections of items without an entry of their own (crate-private
//!   helpers, items built only on other systems) name only calls that the
//!   inventory lists for some function.
//!
//! The items are named as the inventory names them: `ipcwire::pipe` for a
//! function at the crate root, `sys::read` for one in a public module,
//! `Connection::poll` for a method (trait methods too: `Direction::open`),
//! `drop(Listener)` for a `Drop` impl, or for the type's own docs where
//! dropping it runs no `Drop` impl of its own (`drop(Connection)`),
//! `OwnedFd::from(Connection)` for a `From` impl,
//! `Connection::try_from` for a `TryFrom` impl and
//! `Connection::into_raw_fd` for an `IntoRawFd` impl.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use ipcwire::sys::inventory::INVENTORY;

#[test]
fn system_call_sections_match_the_inventory() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let lib = fs::read_to_string(src.join("lib.rs")).expect("src/lib.rs");
    let crate_root = CrateRoot::parse(&lib);

    let mut sections = Vec::new();
    for file in rust_files(&src) {
        let text = fs::read_to_string(&file).expect("a source file");
        let rel = file.strip_prefix(&src).expect("under src/");
        sections.extend(sections_of(rel, &text, &crate_root));
    }

    let mut problems = Vec::new();
    let mut entries: BTreeMap<&str, &[&str]> = BTreeMap::new();
    for e in INVENTORY {
        if entries.insert(e.function, e.syscalls).is_some() {
            problems.push(format!("inventory: `{}` has two entries", e.function));
        }
    }
    let listed: BTreeSet<&str> = INVENTORY
        .iter()
        .flat_map(|e| e.syscalls.iter().copied())
        .collect();

    let mut documented = BTreeSet::new();
    for s in &sections {
        let at = format!("{}:{}", s.file, s.line);
        let with_entry = match &s.item {
            Item::Public(name) if s.on_linux => Some(name.as_str()),
            Item::Public(_) | Item::Private(_) => None,
            Item::Unknown(what) => {
                problems.push(format!(
                    "{at}: a `# System calls` section on {what}, which this test cannot name"
                ));
                continue;
            }
        };
        let Some(name) = with_entry else {
            for call in &s.calls {
                if !listed.contains(call.as_str()) {
                    problems.push(format!(
                        "{at}: {} names `{call}`, which no inventory entry lists (not a kernel name?)",
                        s.item.describe()
                    ));
                }
            }
            continue;
        };
        documented.insert(name.to_owned());
        match (s.says_none, entries.get(name)) {
            (true, None) => {}
            (true, Some(_)) => problems.push(format!(
                "{at}: `{name}` says it makes no system calls, but has an inventory entry"
            )),
            (false, None) => problems.push(format!(
                "{at}: `{name}` documents system calls but has no inventory entry"
            )),
            (false, Some(calls)) => {
                for call in &s.calls {
                    if !calls.contains(&call.as_str()) {
                        problems.push(format!(
                            "{at}: `{name}` names `{call}`, which its inventory entry does not list"
                        ));
                    }
                }
            }
        }
    }
    for function in entries.keys() {
        if !documented.contains(*function) {
            problems.push(format!(
                "inventory: `{function}` has an entry but no `# System calls` section documents it"
            ));
        }
    }

    eprintln!(
        "syscall docs: {} sections checked against {} inventory entries",
        sections.len(),
        entries.len()
    );
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

/// Every `.rs` file under `dir`, in a stable order.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut entries: Vec<_> = fs::read_dir(dir)
        .expect("a source directory")
        .map(|e| e.expect("a directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            out.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    out
}

// ---------------------------------------------------------------------------
// Sections and the items they document.
// ---------------------------------------------------------------------------

/// One `# System calls` section.
struct Section {
    file: String,
    /// The heading's line, from 1.
    line: usize,
    item: Item,
    /// Whether the item is built on Linux (no `#[cfg]` of its own limits it
    /// to other systems).
    on_linux: bool,
    /// The section says "None": no system calls.
    says_none: bool,
    calls: Vec<String>,
}

/// What a section documents.
enum Item {
    /// Part of the public API, by its inventory name.
    Public(String),
    /// Not callable from outside the crate.
    Private(String),
    /// Something this test does not know how to name.
    Unknown(String),
}

impl Item {
    fn describe(&self) -> String {
        match self {
            Item::Public(name) => format!("`{name}`"),
            Item::Private(name) => format!("`{name}` (not public)"),
            Item::Unknown(what) => what.clone(),
        }
    }
}

/// The modules and re-exports of `src/lib.rs`, which decide public names.
struct CrateRoot {
    /// `pub mod` names.
    public_mods: BTreeSet<String>,
    /// `(module, item)` pairs that `pub use module::...::item` brings to the
    /// crate root.
    reexports: BTreeSet<(String, String)>,
}

impl CrateRoot {
    fn parse(lib: &str) -> CrateRoot {
        let code = code_only(lib);
        let mut public_mods = BTreeSet::new();
        let mut reexports = BTreeSet::new();
        for statement in code.split(';') {
            let statement = strip_attributes(&squash(statement));
            if let Some(name) = statement.strip_prefix("pub mod ") {
                public_mods.insert(name.trim().to_owned());
            } else if let Some(tree) = statement.strip_prefix("pub use ") {
                for path in use_paths(tree) {
                    if let (Some(first), Some(last)) = (path.first(), path.last()) {
                        reexports.insert((first.clone(), last.clone()));
                    }
                }
            }
        }
        CrateRoot {
            public_mods,
            reexports,
        }
    }

    /// The public name of free function `name` defined in the top-level
    /// module `module` (`""` for `lib.rs`), if it has one.
    fn function(&self, module: &str, name: &str) -> Option<String> {
        if module.is_empty()
            || self
                .reexports
                .contains(&(module.to_owned(), name.to_owned()))
        {
            Some(format!("ipcwire::{name}"))
        } else if self.public_mods.contains(module) {
            Some(format!("{module}::{name}"))
        } else {
            None
        }
    }
}

/// The paths a use tree (`sys::{fork_with_pipe, Child}`) names, each as its
/// segments; an `as` rename keeps the original name.
fn use_paths(tree: &str) -> Vec<Vec<String>> {
    fn walk(tokens: &[String], i: &mut usize, prefix: &[String], out: &mut Vec<Vec<String>>) {
        let mut path = prefix.to_vec();
        while *i < tokens.len() {
            let t = tokens[*i].as_str();
            *i += 1;
            match t {
                "::" => {}
                "{" => {
                    loop {
                        walk(tokens, i, &path, out);
                        match tokens.get(*i).map(String::as_str) {
                            Some(",") => *i += 1,
                            _ => break,
                        }
                        if tokens.get(*i).map(String::as_str) == Some("}") {
                            break;
                        }
                    }
                    *i += 1; // the closing brace
                    return;
                }
                "as" => *i += 1, // the new name
                "," | "}" => {
                    *i -= 1;
                    break;
                }
                ident => path.push(ident.to_owned()),
            }
        }
        out.push(path);
    }
    let mut tokens = Vec::new();
    let mut word = String::new();
    for c in tree.chars() {
        if c.is_alphanumeric() || c == '_' || c == '*' {
            word.push(c);
            continue;
        }
        if !word.is_empty() {
            tokens.push(std::mem::take(&mut word));
        }
        match c {
            '{' | '}' | ',' => tokens.push(c.to_string()),
            // `::` arrives as two colons: one token for the pair.
            ':' if tokens.last().map(String::as_str) != Some("::") => tokens.push("::".into()),
            _ => {}
        }
    }
    if !word.is_empty() {
        tokens.push(word);
    }
    let mut out = Vec::new();
    walk(&tokens, &mut 0, &[], &mut out);
    out
}

/// Every `# System calls` section in `text`, the source of `src/<rel>`.
fn sections_of(rel: &Path, text: &str, root: &CrateRoot) -> Vec<Section> {
    let lines: Vec<&str> = text.lines().collect();
    let stacks = brace_stacks(&code_only(text));
    let source = without_comments(text);
    let code_lines: Vec<&str> = source.lines().collect();
    let module = top_module(rel);
    let file = Path::new("src").join(rel).display().to_string();

    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let Some(marker) = doc_marker(lines[i]) else {
            i += 1;
            continue;
        };
        let start = i;
        while i < lines.len() && doc_marker(lines[i]) == Some(marker) {
            i += 1;
        }
        let doc: Vec<&str> = lines[start..i].iter().map(|l| doc_text(l)).collect();
        for (offset, body) in system_call_sections(&doc) {
            let item = if marker == "//!" {
                (Item::Unknown("a module".into()), Vec::new(), true)
            } else {
                documented_item(&code_lines, i, &stacks, &module, root)
            };
            let (item, params, on_linux) = item;
            let says_none = body.trim_start().starts_with("None");
            let calls = call_names(&body)
                .into_iter()
                .filter(|c| !params.contains(c))
                .collect();
            out.push(Section {
                file: file.clone(),
                line: start + offset + 1,
                item,
                on_linux,
                says_none,
                calls,
            });
        }
    }
    out
}

/// `///` or `//!` when the line is an outer or inner doc comment.
fn doc_marker(line: &str) -> Option<&'static str> {
    let t = line.trim_start();
    if t.starts_with("////") {
        None
    } else if t.starts_with("///") {
        Some("///")
    } else if t.starts_with("//!") {
        Some("//!")
    } else {
        None
    }
}

/// A doc line's Markdown.
fn doc_text(line: &str) -> &str {
    let t = line.trim_start();
    let t = &t[3..];
    t.strip_prefix(' ').unwrap_or(t)
}

/// Each `# System calls` section of a doc comment: its heading's index in
/// `doc` and its text, up to the next heading. Lines in code blocks are
/// not headings (a `# ` line there is a hidden line of a doctest).
fn system_call_sections(doc: &[&str]) -> Vec<(usize, String)> {
    let mut out: Vec<(usize, String)> = Vec::new();
    let mut in_code = false;
    let mut current: Option<(usize, String)> = None;
    for (n, line) in doc.iter().enumerate() {
        let t = line.trim_start();
        if t.starts_with("```") {
            in_code = !in_code;
        }
        let heading = !in_code && t.starts_with('#') && t.trim_start_matches('#').starts_with(' ');
        if heading {
            out.extend(current.take());
            if t.trim_start_matches('#').trim() == "System calls" {
                current = Some((n, String::new()));
            }
        } else if let Some((_, body)) = &mut current {
            body.push_str(line);
            body.push('\n');
        }
    }
    out.extend(current);
    out
}

/// The system call names a section's text mentions: see the file's docs.
fn call_names(body: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = body;
    while let Some(open) = rest.find('`') {
        let before = rest[..open].chars().next_back();
        let after_open = &rest[open + 1..];
        let Some(close) = after_open.find('`') else {
            break;
        };
        let span = &after_open[..close];
        let after = after_open[close + 1..].chars().next();
        rest = &after_open[close + 1..];
        if before == Some('[') && after == Some(']') {
            continue; // a link to a Rust item
        }
        let ident_len = span
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(span.len());
        let (ident, tail) = span.split_at(ident_len);
        let lowercase = ident.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
            && !ident.contains(|c: char| c.is_ascii_uppercase());
        let call_shape = tail.is_empty() || (tail.starts_with('(') && tail.ends_with(')'));
        if lowercase && call_shape {
            out.push(ident.to_owned());
        }
    }
    out
}

/// `sys` for `sys/net.rs`, `pipe` for `pipe.rs`, `""` for `lib.rs`.
fn top_module(rel: &Path) -> String {
    let first = rel
        .components()
        .next()
        .expect("a file")
        .as_os_str()
        .to_string_lossy()
        .into_owned();
    match first.strip_suffix(".rs") {
        Some("lib") => String::new(),
        Some(m) => m.to_owned(),
        None => first,
    }
}

/// The item that starts at or after line `from` (past its attributes):
/// its name, its parameters' names, and whether it is built on Linux.
fn documented_item(
    code: &[&str],
    from: usize,
    stacks: &[Vec<String>],
    module: &str,
    root: &CrateRoot,
) -> (Item, Vec<String>, bool) {
    let (attributes, header) = item_header(&code[from.min(code.len())..].join("\n"));
    let on_linux = attributes.iter().all(|a| built_on_linux(a));
    let (visibility, header) = split_visibility(&header);
    let words: Vec<&str> = header.split_whitespace().collect();
    let enclosing = stacks
        .get(from)
        .and_then(|s| s.last())
        .map(String::as_str)
        .unwrap_or("");

    if let Some(pos) = words.iter().position(|w| *w == "fn") {
        let name = ident_at(words.get(pos + 1).copied().unwrap_or(""));
        let params = parameter_names(&header);
        let item = if enclosing.is_empty() || split_visibility(enclosing).1.starts_with("mod ") {
            match (visibility, root.function(module, &name)) {
                ("pub", Some(public)) => Item::Public(public),
                _ => Item::Private(name),
            }
        } else if let Some(imp) = Impl::parse(enclosing) {
            match imp.trait_ {
                Some(_) => imp.method_name(&name),
                None if visibility == "pub" => Item::Public(format!("{}::{name}", imp.type_)),
                None => Item::Private(format!("{}::{name}", imp.type_)),
            }
        } else {
            Item::Unknown(format!("`fn {name}` inside `{enclosing}`"))
        };
        return (item, params, on_linux);
    }
    if let Some(imp) = Impl::parse(&header) {
        let method = match imp.trait_.as_deref() {
            Some("Drop") => "drop",
            Some("From") => "from",
            Some("TryFrom") => "try_from",
            Some("IntoRawFd") => "into_raw_fd",
            _ => return (Item::Unknown(format!("`{header}`")), Vec::new(), on_linux),
        };
        return (imp.method_name(method), Vec::new(), on_linux);
    }
    if let Some(pos) = words.iter().position(|w| *w == "struct" || *w == "enum") {
        let name = ident_at(words.get(pos + 1).copied().unwrap_or(""));
        // A type's own section is what dropping it does.
        let item = match visibility {
            "pub" => Item::Public(format!("drop({name})")),
            _ => Item::Private(format!("drop({name})")),
        };
        return (item, Vec::new(), on_linux);
    }
    (Item::Unknown(format!("`{header}`")), Vec::new(), on_linux)
}

/// An item's attributes and its header (up to its body or `;`), from code
/// with comments blanked.
fn item_header(code: &str) -> (Vec<String>, String) {
    let code = code.replace("->", "~~");
    let mut attributes = Vec::new();
    let mut rest = code.trim_start();
    while rest.starts_with("#[") {
        let end = matching(rest, 1).expect("an attribute's closing bracket");
        attributes.push(squash(&rest[2..end]));
        rest = rest[end + 1..].trim_start();
    }
    let mut depth = 0i32;
    let mut end = rest.len();
    for (i, c) in rest.char_indices() {
        match c {
            '(' | '[' | '<' => depth += 1,
            ')' | ']' | '>' => depth -= 1,
            '{' | ';' if depth <= 0 => {
                end = i;
                break;
            }
            _ => {}
        }
    }
    (attributes, header_text(&rest[..end]))
}

/// The index of the bracket closing the one at byte `open` of `s`.
fn matching(s: &str, open: usize) -> Option<usize> {
    let (o, c) = match s.as_bytes()[open] {
        b'(' => (b'(', b')'),
        b'[' => (b'[', b']'),
        b'{' => (b'{', b'}'),
        b'<' => (b'<', b'>'),
        _ => return None,
    };
    let mut depth = 0;
    for (i, &b) in s.as_bytes().iter().enumerate().skip(open) {
        if b == o {
            depth += 1;
        } else if b == c {
            depth -= 1;
            if depth == 0 {
                return Some(i);
            }
        }
    }
    None
}

/// Whether an item with `#[<attribute>]` is built for Linux: only a `cfg`
/// naming other systems and not Linux (`cfg(target_vendor = "apple")`)
/// leaves it out.
fn built_on_linux(attribute: &str) -> bool {
    let Some(predicate) = attribute.strip_prefix("cfg(") else {
        return true;
    };
    let names_a_system = predicate.contains("target_os") || predicate.contains("target_vendor");
    !names_a_system || predicate.contains("\"linux\"") || predicate.contains("not(")
}

/// `("pub", rest)`, `("pub(crate)", rest)` or `("", header)`.
fn split_visibility(header: &str) -> (&str, String) {
    if let Some(rest) = header.strip_prefix("pub(") {
        let end = rest.find(')').expect("a closed visibility");
        return ("pub(restricted)", rest[end + 1..].trim().to_owned());
    }
    match header.strip_prefix("pub ") {
        Some(rest) => ("pub", rest.trim().to_owned()),
        None => ("", header.to_owned()),
    }
}

/// The identifier at the start of `word` (`open` of `open(self)`).
fn ident_at(word: &str) -> String {
    word.chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect()
}

/// The names bound by a function's parameters (`fd`, `buf`), `self` aside.
fn parameter_names(header: &str) -> Vec<String> {
    let after_fn = &header[header.find("fn ").expect("a fn header")..];
    let mut open = after_fn.find(['(', '<']).expect("parameters");
    if after_fn.as_bytes()[open] == b'<' {
        let end = matching(after_fn, open).expect("closed generics");
        open = end + after_fn[end..].find('(').expect("parameters");
    }
    let close = matching(after_fn, open).expect("closed parameters");
    let params = &after_fn[open + 1..close];
    let mut names = Vec::new();
    let mut depth = 0i32;
    let mut segment = String::new();
    for c in params.chars().chain([',']) {
        match c {
            '(' | '[' | '<' | '{' => depth += 1,
            ')' | ']' | '>' | '}' => depth -= 1,
            ',' if depth == 0 => {
                if let Some((pattern, _)) = segment.split_once(':') {
                    let name = pattern.trim().trim_start_matches("mut ").trim();
                    if name != "self" && !name.is_empty() {
                        names.push(name.to_owned());
                    }
                }
                segment.clear();
                continue;
            }
            _ => {}
        }
        segment.push(c);
    }
    names
}

/// An `impl` block's header, parsed.
struct Impl {
    /// The trait's last path segment, without arguments.
    trait_: Option<String>,
    /// The trait's first type argument (`Connection` in `From<Connection>`).
    trait_arg: Option<String>,
    /// The implementing type's last path segment, without arguments.
    type_: String,
}

impl Impl {
    fn parse(header: &str) -> Option<Impl> {
        let header = header.strip_prefix("unsafe ").unwrap_or(header);
        let rest = header.strip_prefix("impl")?;
        let mut rest = rest.trim_start();
        if rest.starts_with('<') {
            rest = rest[matching(rest, 0)? + 1..].trim_start();
        }
        let rest = match rest.find(" where ") {
            Some(w) => &rest[..w],
            None => rest,
        };
        let (trait_, type_) = match rest.split_once(" for ") {
            Some((t, ty)) => (Some(t.trim()), ty.trim()),
            None => (None, rest.trim()),
        };
        let (trait_, trait_arg) = match trait_ {
            Some(t) => {
                let (name, arg) = path_and_argument(t);
                (Some(name), arg)
            }
            None => (None, None),
        };
        Some(Impl {
            trait_,
            trait_arg,
            type_: path_and_argument(type_).0,
        })
    }

    /// The inventory's name for this impl's method `method`.
    fn method_name(&self, method: &str) -> Item {
        let ty = &self.type_;
        Item::Public(match (self.trait_.as_deref(), &self.trait_arg) {
            (Some("Drop"), _) => format!("drop({ty})"),
            (Some("From"), Some(arg)) => format!("{ty}::from({arg})"),
            _ => format!("{ty}::{method}"),
        })
    }
}

/// `("From", Some("Connection"))` for `core::convert::From<Connection>`.
fn path_and_argument(path: &str) -> (String, Option<String>) {
    let (path, arg) = match path.find('<') {
        Some(lt) => (
            &path[..lt],
            Some(&path[lt + 1..path.rfind('>').unwrap_or(path.len())]),
        ),
        None => (path, None),
    };
    let last = |p: &str| p.trim().rsplit("::").next().unwrap_or("").trim().to_owned();
    let arg = arg.map(|a| last(a.split(',').next().unwrap_or("")));
    (last(path), arg)
}

/// An item's or block's header as the parsers here take it: attributes
/// gone, whitespace squashed, and `->` spelled `~~` so that every `>` closes
/// a `<`.
fn header_text(code: &str) -> String {
    strip_attributes(&squash(code)).replace("->", "~~")
}

/// Whitespace runs as single spaces, trimmed.
fn squash(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `s` without leading `#[...]` and `#![...]` attributes.
fn strip_attributes(s: &str) -> String {
    let mut rest = s.trim_start();
    while rest.starts_with("#[") || rest.starts_with("#![") {
        match matching(rest, rest.find('[').unwrap_or(0)) {
            Some(end) => rest = rest[end + 1..].trim_start(),
            None => break,
        }
    }
    rest.to_owned()
}

// ---------------------------------------------------------------------------
// Just enough of Rust's lexical structure to count braces.
// ---------------------------------------------------------------------------

/// `src` with comments, string and character literals replaced by spaces
/// (line breaks kept, so lines still line up with the source).
fn code_only(src: &str) -> String {
    lex(src, false)
}

/// `src` with comments replaced by spaces, literals kept (for attributes:
/// `cfg(target_os = "linux")`).
fn without_comments(src: &str) -> String {
    lex(src, true)
}

/// [`code_only`], or with `keep_literals` [`without_comments`].
fn lex(src: &str, keep_literals: bool) -> String {
    let chars: Vec<char> = src.chars().collect();
    let mut out = String::with_capacity(src.len());
    let blank = |c: char| if c == '\n' { '\n' } else { ' ' };
    let literal = |c: char| if keep_literals { c } else { blank(c) };
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                out.push(' ');
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                    depth += 1;
                    out.push_str("  ");
                    i += 2;
                } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    out.push_str("  ");
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    out.push(blank(chars[i]));
                    i += 1;
                }
            }
        } else if let Some(len) = raw_string_len(&chars[i..]).filter(|_| !ident_before(&chars, i)) {
            chars[i..i + len].iter().for_each(|&c| out.push(literal(c)));
            i += len;
        } else if c == '"' || (c == 'b' && next == Some('"') && !ident_before(&chars, i)) {
            let start = i;
            i += if c == 'b' { 2 } else { 1 };
            while i < chars.len() && chars[i] != '"' {
                i += if chars[i] == '\\' { 2 } else { 1 };
            }
            i = (i + 1).min(chars.len());
            chars[start..i].iter().for_each(|&c| out.push(literal(c)));
        } else if c == '\'' {
            // A character literal, or a lifetime (left as it is).
            let len = match (next, chars.get(i + 2)) {
                (Some('\\'), _) => {
                    let mut j = i + 2;
                    while j < chars.len() && chars[j] != '\'' {
                        j += if chars[j] == '\\' { 2 } else { 1 };
                    }
                    j + 1 - i
                }
                (Some(_), Some('\'')) => 3,
                _ => 1,
            };
            if len == 1 {
                out.push(c);
            } else {
                chars[i..i + len].iter().for_each(|&c| out.push(literal(c)));
            }
            i += len;
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

/// Whether an identifier character comes right before index `i`.
fn ident_before(chars: &[char], i: usize) -> bool {
    i > 0 && (chars[i - 1].is_alphanumeric() || chars[i - 1] == '_')
}

/// The length of a raw string literal (`r"..."`, `br#"..."#`) at the start
/// of `s`, if one starts there.
fn raw_string_len(s: &[char]) -> Option<usize> {
    let mut i = 0;
    if s.first() == Some(&'b') {
        i += 1;
    }
    if s.get(i) != Some(&'r') {
        return None;
    }
    i += 1;
    let hashes = s[i..].iter().take_while(|&&c| c == '#').count();
    i += hashes;
    if s.get(i) != Some(&'"') {
        return None;
    }
    i += 1;
    while i < s.len() {
        if s[i] == '"'
            && s[i + 1..]
                .iter()
                .take(hashes)
                .filter(|&&c| c == '#')
                .count()
                == hashes
        {
            return Some(i + 1 + hashes);
        }
        i += 1;
    }
    Some(s.len())
}

/// For each line of `code`, the headers of the blocks open at its start,
/// outermost first: `impl Drop for Listener`, `fn drop(&mut self)`.
fn brace_stacks(code: &str) -> Vec<Vec<String>> {
    let mut stacks = Vec::new();
    let mut stack: Vec<String> = Vec::new();
    let mut header = String::new();
    for line in code.split('\n') {
        stacks.push(stack.clone());
        for c in line.chars().chain(['\n']) {
            match c {
                '{' => {
                    stack.push(header_text(&header));
                    header.clear();
                }
                '}' => {
                    stack.pop();
                    header.clear();
                }
                ';' => header.clear(),
                _ => header.push(c),
            }
        }
    }
    stacks
}
