//! Malformed input: brace and quote errors with positions, includes (relative paths, globs,
//! missing files, cycles, depth limit), and property tests that nothing ever panics.

use kaconf::{Diagnostic, FatalError, MemLoader, Severity, parse_str};
use proptest::prelude::*;

fn parse_with(loader: &MemLoader, name: &str, text: &str) -> Vec<Diagnostic> {
    parse_str(name, text, loader).expect("no fatal").1
}

#[track_caller]
fn expect_at(diags: &[Diagnostic], file: &str, message: &str, line: u32, col: u32) {
    let found = diags
        .iter()
        .find(|d| d.message == message)
        .unwrap_or_else(|| panic!("no diagnostic {message:?} in {diags:#?}"));
    assert_eq!(
        (found.file.as_str(), found.line, found.col),
        (file, line, col),
        "{message}"
    );
}

const INSTANCE: &str = "vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 7\n    virtual_ipaddress { 10.0.0.1 } }\n";

#[test]
fn unmatched_quote() {
    let text = "global_defs {\n    router_id \"abc def\n    vrrp_notify_fifo /x\n}\n";
    let diags = parse_with(&MemLoader::new(), "q.conf", text);
    expect_at(
        &diags,
        "q.conf",
        "Unmatched quote: 'router_id \"abc def'",
        2,
        15,
    );
    expect_at(
        &diags,
        "q.conf",
        "Configuration line starting `router_id` is missing a parameter after keyword `router_id` at word position 2",
        2,
        5,
    );
    assert_eq!(diags.len(), 2);
    let (config, _) = parse_str("q.conf", text, &MemLoader::new()).unwrap();
    assert_eq!(
        config.global.router_id, None,
        "the unterminated word is dropped"
    );
    assert_eq!(config.global.notify_fifo.as_deref(), Some("/x"));
}

#[test]
fn extra_closing_brace() {
    let text = format!("{INSTANCE}}}\n   }} # again\n");
    let diags = parse_with(&MemLoader::new(), "b.conf", &text);
    let extra: Vec<(u32, u32)> = diags
        .iter()
        .filter(|d| d.message == "Extra '}' found")
        .map(|d| (d.line, d.col))
        .collect();
    assert_eq!(extra, [(5, 1), (6, 4)]);
    assert_eq!(diags.len(), 2);
}

#[test]
fn missing_opening_brace_still_reads_the_block() {
    let text = "vrrp_instance VI_1\n    interface eth0\n    virtual_router_id 7\n    virtual_ipaddress { 10.0.0.1 } }\n";
    let (config, diags) = parse_str("m.conf", text, &MemLoader::new()).unwrap();
    expect_at(
        &diags,
        "m.conf",
        "Missing '{' at beginning of configuration block",
        2,
        5,
    );
    assert_eq!(diags.len(), 1);
    assert_eq!(config.instances[0].vrid, 7);
}

#[test]
fn missing_closing_brace_at_end_of_file() {
    let text =
        "vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 7\n    authentication {\n";
    let diags = parse_with(&MemLoader::new(), "e.conf", text);
    expect_at(
        &diags,
        "e.conf",
        "Missing '}' at end of configuration block 'authentication'",
        4,
        5,
    );
    expect_at(
        &diags,
        "e.conf",
        "Missing '}' at end of configuration block 'vrrp_instance'",
        1,
        1,
    );
}

#[test]
fn missing_values_and_names() {
    let text = "vrrp_instance {\n    priority 5\n}\nvrrp_instance VI_2 {\n    interface eth0\n    virtual_router_id\n    virtual_router_id 3\n    virtual_ipaddress { 10.0.0.1 } }\n";
    let (config, diags) = parse_str("v.conf", text, &MemLoader::new()).unwrap();
    expect_at(
        &diags,
        "v.conf",
        "'vrrp_instance' requires a name - ignoring block",
        1,
        1,
    );
    expect_at(
        &diags,
        "v.conf",
        "Configuration line starting `virtual_router_id` is missing a parameter after keyword `virtual_router_id` at word position 2",
        6,
        5,
    );
    assert_eq!(config.instances.len(), 1);
    assert_eq!(config.instances[0].vrid, 3);
}

#[test]
fn includes_relative_glob_and_missing() {
    let loader = MemLoader::new()
        .with_file(
            "/etc/ka/conf.d/20-b.conf",
            "vrrp_instance VI_B {\n    interface eth1\n    virtual_router_id 2\n    virtual_ipaddress { 10.0.0.2 } }\n",
        )
        .with_file(
            "/etc/ka/conf.d/10-a.conf",
            "vrrp_instance VI_A {\n    interface eth0\n    virtual_router_id 1\n    bogus_a\n    virtual_ipaddress { 10.0.0.1 } }\n",
        )
        .with_file("/etc/ka/conf.d/notes.txt", "this is not a config\n")
        .with_file(
            "/etc/ka/extra/c.conf",
            "global_defs {\n    router_id from-c\n}\n",
        );
    let main = "include conf.d/*.conf\ninclude missing.conf   # silently ignored\ninclude ../ka/extra/{c,d}.conf\nbogus_main\n";
    let (config, diags) = parse_str("/etc/ka/keepalived.conf", main, &loader).unwrap();
    let names: Vec<&str> = config.instances.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(names, ["VI_A", "VI_B"], "sorted glob order");
    assert_eq!(config.global.router_id.as_deref(), Some("from-c"));
    expect_at(
        &diags,
        "/etc/ka/conf.d/10-a.conf",
        "Unknown keyword 'bogus_a'",
        4,
        5,
    );
    expect_at(
        &diags,
        "/etc/ka/keepalived.conf",
        "Unknown keyword 'bogus_main'",
        4,
        1,
    );
    assert_eq!(diags.len(), 2, "{diags:#?}");
}

#[test]
fn include_inside_a_block() {
    let loader = MemLoader::new().with_file("/k/vips.inc", "10.0.0.1/24\n10.0.0.2/24\n");
    let text = "vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 7\n    virtual_ipaddress {\n        include vips.inc\n    }\n}\n";
    let (config, diags) = parse_str("/k/main.conf", text, &loader).unwrap();
    assert!(diags.is_empty(), "{diags:#?}");
    assert_eq!(config.instances[0].vips.len(), 2);
}

#[test]
fn include_cycle_is_an_error() {
    let loader = MemLoader::new()
        .with_file("/c/a.conf", "include b.conf\n")
        .with_file("/c/b.conf", "include ./a.conf\n");
    let diags = parse_with(&loader, "/c/a.conf", "include b.conf\n");
    assert_eq!(diags.len(), 1, "{diags:#?}");
    assert_eq!(diags[0].severity, Severity::Error);
    assert_eq!(
        (diags[0].file.as_str(), diags[0].line, diags[0].col),
        ("/c/b.conf", 1, 9)
    );
    assert_eq!(
        diags[0].message,
        "include cycle: '/c/a.conf' is already being read - ignoring"
    );
    // A file including itself through a glob.
    let loader = MemLoader::new().with_file("/g/x.conf", "include *.conf\n");
    let diags = parse_with(&loader, "/g/x.conf", "include *.conf\n");
    assert_eq!(diags.len(), 1);
    assert!(diags[0].message.starts_with("include cycle"));
}

#[test]
fn deep_include_chain_is_capped() {
    let mut loader = MemLoader::new();
    for depth in 0..40 {
        loader.insert(
            format!("/d/{depth}.conf"),
            format!("include {}.conf\n", depth + 1),
        );
    }
    loader.insert("/d/40.conf", INSTANCE);
    let (config, diags) = parse_str("/d/0.conf", "include 1.conf\n", &loader).unwrap();
    assert_eq!(diags.len(), 1, "{diags:#?}");
    assert!(diags[0].message.starts_with(&format!(
        "includes nested more than {} deep",
        kaconf::MAX_INCLUDE_DEPTH
    )));
    assert!(config.instances.is_empty());
    // Within the limit, the chain works.
    let (config, diags) = parse_str("/d/30.conf", "include 31.conf\n", &loader).unwrap();
    assert!(diags.is_empty());
    assert_eq!(config.instances.len(), 1);
}

#[test]
fn exponential_include_fan_out_is_bounded() {
    let mut loader = MemLoader::new();
    for level in 0..12 {
        loader.insert(
            format!("/f/{level}.conf"),
            format!("include {0}.conf\ninclude {0}.conf\n", level + 1),
        );
    }
    loader.insert("/f/12.conf", "global_defs {\n router_id x\n}\n");
    let diags = parse_with(&loader, "/f/0.conf", "include 1.conf\ninclude 1.conf\n");
    assert!(diags.iter().any(|d| d.message.starts_with("more than")));
}

#[test]
fn filesystem_loader_with_includes() {
    let dir = std::env::temp_dir().join(format!("kaconf-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("conf.d")).unwrap();
    std::fs::write(dir.join("keepalived.conf"), "include conf.d/*.conf\n").unwrap();
    std::fs::write(dir.join("conf.d/a.conf"), INSTANCE).unwrap();
    let result = kaconf::load(dir.join("keepalived.conf"));
    let missing = kaconf::load(dir.join("nope.conf"));
    std::fs::remove_dir_all(&dir).unwrap();
    let (config, diags) = result.unwrap();
    assert!(diags.is_empty(), "{diags:#?}");
    assert_eq!(config.instances[0].name, "VI_1");
    assert!(matches!(missing, Err(FatalError::Unreadable { .. })));
}

// ----- never panic -------------------------------------------------------------------------

const FIXTURES: [&str; 5] = [
    include_str!("fixtures/example1.conf"),
    include_str!("fixtures/example2.conf"),
    include_str!("fixtures/example3.conf"),
    include_str!("fixtures/example4.conf"),
    include_str!("fixtures/example5.conf"),
];

/// Words the generator assembles into configurations.
const WORDS: &[&str] = &[
    "{",
    "}",
    "\"",
    "'",
    "#",
    "!",
    "\\",
    "\\#",
    "\n",
    "\n",
    "\n",
    " ",
    "global_defs",
    "vrrp_instance",
    "VI_1",
    "VI_2",
    "vrrp_sync_group",
    "group",
    "vrrp_script",
    "track_file",
    "state",
    "MASTER",
    "BACKUP",
    "interface",
    "eth0",
    "eth1",
    "virtual_router_id",
    "priority",
    "advert_int",
    "authentication",
    "auth_type",
    "AH",
    "PASS",
    "auth_pass",
    "nopreempt",
    "preempt_delay",
    "virtual_ipaddress",
    "virtual_ipaddress_excluded",
    "virtual_routes",
    "track_interface",
    "track_script",
    "weight",
    "-300",
    "0",
    "1",
    "0.5",
    "255",
    "256",
    "99999999999999999999",
    "10.0.0.1/24",
    "fe80::1",
    "brd",
    "+",
    "-",
    "dev",
    "label",
    "scope",
    "link",
    "unicast_peer",
    "min_ttl",
    "notify_master",
    "\"/bin/x 'a b'\"",
    "include",
    "x.conf",
    "*.conf",
    "lvs_sync_daemon",
    "inst",
    "id",
    "vrrp_version",
    "3",
    "use_vmac",
    "script",
    "interval",
    "file",
    "init_file",
    "smtp_alert",
    "é",
];

fn check_invariants(text: &str, diags: &[Diagnostic]) {
    let lines = text.lines().count().max(1) as u32;
    for d in diags {
        assert!(d.line >= 1 && d.col >= 1, "{d}");
        if d.file == "p.conf" {
            assert!(d.line <= lines, "{d} beyond {lines} lines");
        }
    }
}

fn run(text: &str) {
    let loader = MemLoader::new().with_file("x.conf", "include p.conf\nvrrp_instance");
    match parse_str("p.conf", text, &loader) {
        Ok((_, diags)) => check_invariants(text, &diags),
        Err(FatalError::Invalid { diagnostics, first }) => {
            assert_eq!(first.severity, Severity::Fatal);
            check_invariants(text, &diagnostics);
        }
        Err(other) => panic!("unexpected {other}"),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn random_word_soup_never_panics(words in proptest::collection::vec(0..WORDS.len(), 0..200)) {
        let mut text = String::new();
        for index in words {
            text.push_str(WORDS[index]);
            text.push(' ');
        }
        run(&text);
    }

    #[test]
    fn mutated_examples_never_panic(
        which in 0..FIXTURES.len(),
        edits in proptest::collection::vec((any::<u16>(), 0u8..4, any::<char>()), 1..12),
    ) {
        let mut chars: Vec<char> = FIXTURES[which].chars().collect();
        for (at, op, c) in edits {
            let at = usize::from(at) % (chars.len() + 1);
            match op {
                0 if at < chars.len() => { chars.remove(at); }
                1 => chars.insert(at, c),
                2 if at < chars.len() => chars[at] = c,
                _ => chars.insert(at, ['{', '}', '"', '\n'][usize::from(at as u8 % 4)]),
            }
        }
        let text: String = chars.into_iter().collect();
        run(&text);
    }

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,400}") {
        run(&text);
    }
}

#[test]
fn every_single_line_deletion_of_the_examples_is_handled() {
    for fixture in FIXTURES {
        let lines: Vec<&str> = fixture.lines().collect();
        for skip in 0..lines.len() {
            let text: Vec<&str> = lines
                .iter()
                .enumerate()
                .filter(|(i, _)| *i != skip)
                .map(|(_, l)| *l)
                .collect();
            run(&text.join("\n"));
        }
    }
}

#[test]
fn relative_names_and_globs_in_the_current_directory() {
    let loader = MemLoader::new()
        .with_file("sub/a.conf", INSTANCE)
        .with_file("top-b.conf", "global_defs {\n    router_id rel\n}\n");
    let (config, diags) = parse_str(
        "k.conf",
        "include sub/*.conf\ninclude top-?.conf\n",
        &loader,
    )
    .unwrap();
    assert!(diags.is_empty(), "{diags:#?}");
    assert_eq!(config.instances.len(), 1);
    assert_eq!(config.global.router_id.as_deref(), Some("rel"));
}

#[test]
fn extra_arguments_after_a_single_value_are_ignored_with_a_warning() {
    let text = "vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 7\n    priority 100 200\n    advert_int 1 2 3\n    virtual_ipaddress { 10.0.0.1 }\n}\n";
    let (config, diags) = parse_str("x.conf", text, &MemLoader::new()).expect("no fatal");
    expect_at(
        &diags,
        "x.conf",
        "extra argument(s) ignored after 'priority': '200'",
        4,
        18,
    );
    expect_at(
        &diags,
        "x.conf",
        "extra argument(s) ignored after 'advert_int': '2'",
        5,
        18,
    );
    assert!(
        diags.iter().all(|d| d.severity == Severity::Warning),
        "{diags:#?}"
    );
    assert_eq!(kaconf::config_test_status(&diags), 0);
    let inst = &config.instances[0];
    assert_eq!(inst.priority, 100);
}

#[test]
fn huge_words_are_cut_in_diagnostics() {
    let word = "q".repeat(100_000);
    let text = format!(
        "vrrp_instance VI_1 {{\n    interface {word}\n    virtual_router_id {word}\n    {word} 1\n    virtual_ipaddress {{ {word} }}\n}}\n"
    );
    let diags = parse_with(&MemLoader::new(), "h.conf", &text);
    assert!(diags.len() >= 3, "{diags:#?}");
    for d in &diags {
        let line = d.to_string();
        assert!(
            line.len() < 700,
            "diagnostic of {} bytes: {}",
            line.len(),
            &line[..200]
        );
        assert!(!line.contains(&"q".repeat(65)), "{line}");
    }
    let iface = diags
        .iter()
        .find(|d| d.message.contains("invalid interface name"))
        .expect("interface diagnostic");
    assert_eq!(
        iface.message,
        format!(
            "(VI_1) invalid interface name '{}…' - ignoring",
            "q".repeat(63)
        )
    );
}
