//! The Lisp test suite: every `tests/lisp/{core,cl,mp}/*.lisp` file runs
//! through the netlisp binary and its standard output must equal the
//! `.out` file next to it, which `tests/regen-expected.sh` produces with
//! `sbcl --script` from the same file.
//!
//! Both outputs are normalised only where CL leaves the text to the
//! implementation: the identity part of unreadable objects (`{10013B1203}`).
//! A file whose first line says `;; netlisp-exit: N` must exit with N
//! (the default is 0).

use std::path::{Path, PathBuf};
use std::process::Command;

fn lisp_files() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/lisp");
    let mut files = Vec::new();
    for dir in ["core", "cl", "mp"] {
        let Ok(entries) = std::fs::read_dir(root.join(dir)) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.extension().is_some_and(|x| x == "lisp") {
                files.push(p);
            }
        }
    }
    files.sort();
    files
}

/// Replace `{hex digits}` identities of unreadable objects.
fn normalise(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find('{') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        let hex = after.chars().take_while(|c| c.is_ascii_hexdigit()).count();
        if hex >= 4 && after[hex..].starts_with('}') {
            out.push_str("{…}");
            rest = &after[hex + 1..];
        } else {
            out.push('{');
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

fn expected_exit(source: &str) -> i32 {
    source
        .lines()
        .next()
        .and_then(|l| l.split("netlisp-exit:").nth(1))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0)
}

/// The first differing line, with context, for a readable failure.
fn first_difference(expected: &str, actual: &str) -> String {
    let (e, a): (Vec<&str>, Vec<&str>) = (expected.lines().collect(), actual.lines().collect());
    let n = e.iter().zip(a.iter()).take_while(|(x, y)| x == y).count();
    format!(
        "line {}:\n  SBCL:    {:?}\n  netlisp: {:?}",
        n + 1,
        e.get(n).unwrap_or(&"<end of output>"),
        a.get(n).unwrap_or(&"<end of output>")
    )
}

fn run_one(file: &Path) -> Result<usize, String> {
    let source = std::fs::read_to_string(file).map_err(|e| e.to_string())?;
    let expected_path = file.with_extension("out");
    let expected = std::fs::read_to_string(&expected_path).map_err(|_| {
        format!(
            "{}: no expected output; run tests/regen-expected.sh",
            file.display()
        )
    })?;
    let work = std::env::temp_dir().join(format!(
        "netlisp-suite-{}-{}",
        std::process::id(),
        file.file_stem().unwrap().to_string_lossy()
    ));
    std::fs::create_dir_all(&work).map_err(|e| e.to_string())?;
    let out = Command::new(env!("CARGO_BIN_EXE_netlisp"))
        .arg(file)
        .current_dir(&work)
        .output()
        .map_err(|e| e.to_string())?;
    let _ = std::fs::remove_dir_all(&work);
    let actual = String::from_utf8_lossy(&out.stdout);
    let code = out.status.code().unwrap_or(-1);
    let want_code = expected_exit(&source);
    let name = file
        .strip_prefix(env!("CARGO_MANIFEST_DIR"))
        .unwrap_or(file)
        .display()
        .to_string();
    if code != want_code {
        return Err(format!(
            "{name}: exit code {code}, expected {want_code}\nstderr:\n{}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let (e, a) = (normalise(&expected), normalise(&actual));
    if e != a {
        return Err(format!(
            "{name}: output differs from SBCL's at {}\nstderr:\n{}",
            first_difference(&e, &a),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(expected.lines().filter(|l| l.contains(" => ")).count())
}

#[test]
fn lisp_files_match_sbcl() {
    let files = lisp_files();
    assert!(!files.is_empty(), "no Lisp test files found");
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2);
    let next = std::sync::atomic::AtomicUsize::new(0);
    let results = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let Some(f) = files.get(i) else { break };
                let r = run_one(f);
                results.lock().unwrap().push(r);
            });
        }
    });
    let results = results.into_inner().unwrap();
    let checks: usize = results.iter().filter_map(|r| r.as_ref().ok()).sum();
    let failures: Vec<&String> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    eprintln!(
        "{} files, {} checked results, {} failing",
        files.len(),
        checks,
        failures.len()
    );
    if !failures.is_empty() {
        for f in &failures {
            eprintln!("\n{f}");
        }
        panic!(
            "{} of {} Lisp test files differ from SBCL",
            failures.len(),
            files.len()
        );
    }
}

#[test]
fn normalise_hides_identities_only() {
    assert_eq!(
        normalise("#<HASH-TABLE :COUNT 0 {10013B1203}>"),
        "#<HASH-TABLE :COUNT 0 {…}>"
    );
    assert_eq!(normalise("{a}"), "{a}");
}
