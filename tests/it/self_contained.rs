//! The repository explains itself: every tracked text file cites only documents that are in
//! the repository, and every citation of a section of `docs/` names a section that exists.
//!
//! * No file cites the outside specifications (`sdk-c-api.md`, `http-api.md`, `shared/spec`),
//!   their section numbers (`§` and a digit; an RFC's sections are fine) or their tags for open
//!   questions (`U` and one or two digits, as a word), and none carries the numbers of planning
//!   issues or stops (`issue 8`, `stop 12`) or a section number in a name (`_section_3_5`).
//! * A citation is written `docs/<file>.md, "<Section>"` on one line (see docs/c-api.md), and
//!   `<Section>` is the text of a heading (`#` … line) of that file. Markdown links into `docs/`
//!   name an existing file and, after `#`, the anchor of one of its headings.
//!
//! Cargo.lock, binary files and this file are not read.

use std::collections::BTreeSet;
use std::path::{Component, Path, PathBuf};
use std::process::Command;

const THIS_FILE: &str = "tests/it/self_contained.rs";

/// The repository's tracked text files as (path relative to the root, text); None when the
/// sources are not a git checkout.
fn tracked_text_files() -> Option<Vec<(String, String)>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = Command::new("git").args(["ls-files", "-z"]).current_dir(root).output().ok()?;
    if !out.status.success() {
        return None;
    }
    let mut files = Vec::new();
    for name in out.stdout.split(|b| *b == 0).filter(|n| !n.is_empty()) {
        let name = String::from_utf8_lossy(name).into_owned();
        if name == "Cargo.lock" || name.ends_with("/Cargo.lock") || name == THIS_FILE {
            continue;
        }
        // A tracked file deleted in the working tree has nothing to check.
        let Ok(bytes) = std::fs::read(root.join(&name)) else { continue };
        if bytes.contains(&0) {
            continue;
        }
        if let Ok(text) = String::from_utf8(bytes) {
            files.push((name, text));
        }
    }
    Some(files)
}

fn files_or_skip() -> Option<Vec<(String, String)>> {
    let files = tracked_text_files();
    if files.is_none() {
        eprintln!("SKIPPED: not a git checkout (git ls-files failed)");
    }
    files
}

fn is_word(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// `U` and one or two digits as a whole word (`U4`, `U11`), at each position it occurs.
fn u_tags(line: &str) -> Vec<String> {
    let chars: Vec<char> = line.chars().collect();
    let mut found = Vec::new();
    for i in 0..chars.len() {
        if chars[i] != 'U' || (i > 0 && is_word(chars[i - 1])) {
            continue;
        }
        let digits = chars[i + 1..].iter().take_while(|c| c.is_ascii_digit()).count();
        let after = chars.get(i + 1 + digits).copied();
        if (1..=2).contains(&digits) && !after.is_some_and(is_word) {
            found.push(chars[i..=i + digits].iter().collect());
        }
    }
    found
}

/// `word <number>` (case-insensitive, `#` allowed before the number): `issue 8`, `Stop 12`.
fn numbered(line: &str, word: &str) -> Vec<String> {
    let lower = line.to_lowercase();
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(at) = lower[from..].find(word).map(|i| from + i) {
        from = at + word.len();
        if lower[..at].chars().next_back().is_some_and(is_word) {
            continue;
        }
        let rest = &lower[from..];
        let after_space = rest.trim_start_matches([' ', '\t']);
        if after_space.len() == rest.len() {
            continue; // no space: `issues`, `stopped`, `stop.`
        }
        let number = after_space.strip_prefix('#').unwrap_or(after_space);
        if number.starts_with(|c: char| c.is_ascii_digit()) {
            let n: String = number.chars().take_while(char::is_ascii_digit).collect();
            found.push(format!("{word} {n}"));
        }
    }
    found
}

/// `§` followed by a digit, unless it is an RFC's section (`RFC 9112 §6.3`).
fn section_signs(line: &str) -> usize {
    let mut n = 0;
    for (at, _) in line.match_indices('§') {
        let after = line[at + '§'.len_utf8()..].trim_start();
        if !after.starts_with(|c: char| c.is_ascii_digit()) {
            continue;
        }
        let before = line[..at].trim_end();
        let rfc = before.trim_end_matches(|c: char| c.is_ascii_digit());
        if rfc.len() < before.len() && rfc.trim_end().to_ascii_uppercase().ends_with("RFC") {
            continue;
        }
        n += 1;
    }
    n
}

#[test]
fn nothing_cites_documents_outside_the_repository() {
    let Some(files) = files_or_skip() else { return };
    let mut offences = Vec::new();
    for (path, text) in &files {
        for (i, line) in text.lines().enumerate() {
            let at = format!("{path}:{}", i + 1);
            for outside in ["sdk-c-api.md", "http-api.md", "shared/spec"] {
                if line.contains(outside) {
                    offences.push(format!("{at}: cites {outside}, which is not in the repository"));
                }
            }
            for tag in u_tags(line) {
                offences.push(format!("{at}: open-question tag {tag}: describe the choice and cite docs/c-api.md"));
            }
            for tag in numbered(line, "issue").into_iter().chain(numbered(line, "stop")) {
                offences.push(format!("{at}: internal tag \"{tag}\": say what it means instead"));
            }
            if section_signs(line) > 0 {
                offences.push(format!("{at}: section number (§): cite a section of docs/ by title"));
            }
            if line.contains("_section_")
                && line.split("_section_").skip(1).any(|rest| rest.starts_with(|c: char| c.is_ascii_digit()))
            {
                offences.push(format!(
                    "{at}: a name carries an outside section number (`_section_<n>`): name what it tests"
                ));
            }
        }
    }
    assert!(
        offences.is_empty(),
        "{} citation(s) of documents outside the repository:\n{}",
        offences.len(),
        offences.join("\n")
    );
}

/// Heading texts of a Markdown file (outside fenced code blocks).
fn headings(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut fenced = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if fenced {
            continue;
        }
        let hashes = line.chars().take_while(|c| *c == '#').count();
        if (1..=6).contains(&hashes) && line[hashes..].starts_with(' ') {
            out.push(line[hashes..].trim().trim_end_matches('#').trim_end().to_owned());
        }
    }
    out
}

/// The anchor a heading gets on GitHub: lower case, spaces as `-`, punctuation dropped.
fn slug(heading: &str) -> String {
    heading
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

/// `docs/<file>.md, "<Section>"` citations in a line: (file, section), or (file, None) for a
/// citation whose section is not on the same line.
fn citations(line: &str) -> Vec<(String, Option<String>)> {
    let mut found = Vec::new();
    for (at, _) in line.match_indices("docs/") {
        let rest = &line[at..];
        let name_len = rest["docs/".len()..]
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
            .map_or(rest.len(), |i| i + "docs/".len());
        let Some(after) = rest[name_len..].strip_prefix(".md,") else { continue };
        let file = format!("{}.md", &rest[..name_len]);
        if after.trim().is_empty() {
            found.push((file, None));
            continue;
        }
        let Some(quoted) = after.strip_prefix(" \"") else { continue };
        match quoted.find('"') {
            Some(end) => found.push((file, Some(quoted[..end].to_owned()))),
            None => found.push((file, None)),
        }
    }
    found
}

/// Resolves `target` (a link in the Markdown file `from`) to a path relative to the root.
fn resolve(from: &str, target: &str) -> PathBuf {
    let mut out = PathBuf::new();
    let base = Path::new(from).parent().unwrap_or(Path::new(""));
    for part in base.join(target).components() {
        match part {
            Component::ParentDir => {
                out.pop();
            }
            Component::Normal(p) => out.push(p),
            _ => {}
        }
    }
    out
}

#[test]
fn every_docs_citation_names_an_existing_section() {
    let Some(files) = files_or_skip() else { return };
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let heads = |file: &str| std::fs::read_to_string(root.join(file)).ok().map(|t| headings(&t));
    let mut offences = Vec::new();
    let mut cited = BTreeSet::new();
    for (path, text) in &files {
        for (i, line) in text.lines().enumerate() {
            let at = format!("{path}:{}", i + 1);
            for (file, section) in citations(line) {
                let Some(section) = section else {
                    offences.push(format!("{at}: {file} cited without \", \"<Section>\"\" on the same line"));
                    continue;
                };
                match heads(&file) {
                    None => offences.push(format!("{at}: {file} does not exist")),
                    Some(h) if !h.contains(&section) => {
                        offences.push(format!("{at}: {file} has no section \"{section}\""))
                    }
                    Some(_) => {
                        cited.insert((file, section));
                    }
                }
            }
            if !path.ends_with(".md") {
                continue;
            }
            // Markdown links into docs/: the file exists, and so does the anchor.
            for (open, _) in line.match_indices("](") {
                let target = &line[open + 2..];
                let Some(end) = target.find(')') else { continue };
                let target = &target[..end];
                if target.contains("://") || target.starts_with("mailto:") {
                    continue;
                }
                let (file, anchor) = target.split_once('#').unwrap_or((target, ""));
                let resolved = if file.is_empty() { PathBuf::from(path) } else { resolve(path, file) };
                let resolved = resolved.to_string_lossy().replace('\\', "/");
                if !(resolved.starts_with("docs/") && resolved.ends_with(".md")) {
                    continue;
                }
                match heads(&resolved) {
                    None => offences.push(format!("{at}: link to {resolved}, which does not exist")),
                    Some(h) if !anchor.is_empty() && !h.iter().any(|t| slug(t) == anchor) => {
                        offences.push(format!("{at}: link to {resolved}#{anchor}: no such heading"))
                    }
                    Some(_) => {}
                }
            }
        }
    }
    assert!(offences.is_empty(), "{} broken citation(s) or link(s):\n{}", offences.len(), offences.join("\n"));
    // The two reference documents are what the code cites.
    for doc in ["docs/c-api.md", "docs/wire-protocol.md"] {
        assert!(cited.iter().any(|(f, _)| f == doc), "nothing cites {doc}");
    }
}

#[test]
fn the_matchers_find_what_they_should() {
    assert_eq!(u_tags("(sdk U4), U11. U2"), ["U4", "U11", "U2"]);
    assert!(u_tags("UTF-8, U123, XU4, U4a, U+00A5, u4").is_empty());
    assert_eq!(numbered("Cashier benchmark (issue 8), Issue #23, stop 12:", "issue"), ["issue 8", "issue 23"]);
    assert_eq!(numbered("stop 12, stopped 3, a TLS issue, issues 4, nonstop 5", "stop"), ["stop 12"]);
    assert!(numbered("a TLS issue: 3 retries", "issue").is_empty());
    assert_eq!(section_signs("(§3.5) and RFC 9112 §6.3 and § 4"), 2);
    assert_eq!(
        citations(r#"see docs/c-api.md, "Return codes" and docs/wire-protocol.md, "nonce_str"; docs/x.md,"#),
        [
            ("docs/c-api.md".to_owned(), Some("Return codes".to_owned())),
            ("docs/wire-protocol.md".to_owned(), Some("nonce_str".to_owned())),
            ("docs/x.md".to_owned(), None),
        ]
    );
    assert!(citations("docs/integration.md (the guide), docs/c-api.md#exports").is_empty());
    assert_eq!(headings("# A\n```\n# not\n```\n### B ##\n#C"), ["A", "B"]);
    assert_eq!(slug("Strings, buffers and errmsg"), "strings-buffers-and-errmsg");
    assert_eq!(slug("internal_status values"), "internal_status-values");
    assert_eq!(resolve("sandbox/README.md", "../docs/wire-protocol.md"), PathBuf::from("docs/wire-protocol.md"));
}
