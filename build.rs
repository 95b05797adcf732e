//! Reads `IPMAT_TEST_ENGINES` (a comma-separated subset of `sqlite,mariadb,postgres`; default
//! all three) so that the integration tests of the engines left out are compiled as ignored:
//! reported as such by `cargo test`, never run and never counted as passed.

fn main() {
    println!("cargo::rerun-if-env-changed=IPMAT_TEST_ENGINES");
    println!(
        "cargo::rustc-check-cfg=cfg(ipmat_skip_mariadb, ipmat_skip_postgres, ipmat_skip_sqlite)"
    );
    let Ok(list) = std::env::var("IPMAT_TEST_ENGINES") else {
        return;
    };
    let wanted: Vec<String> = list
        .split(',')
        .map(|s| s.trim().to_ascii_lowercase())
        .filter(|s| !s.is_empty())
        .collect();
    for name in &wanted {
        if !matches!(
            name.as_str(),
            "sqlite" | "mariadb" | "mysql" | "postgres" | "postgresql"
        ) {
            panic!("IPMAT_TEST_ENGINES: `{name}` is not an engine (sqlite, mariadb, postgres)");
        }
    }
    let has = |names: &[&str]| wanted.iter().any(|w| names.contains(&w.as_str()));
    if !has(&["sqlite"]) {
        println!("cargo::rustc-cfg=ipmat_skip_sqlite");
    }
    if !has(&["mariadb", "mysql"]) {
        println!("cargo::rustc-cfg=ipmat_skip_mariadb");
    }
    if !has(&["postgres", "postgresql"]) {
        println!("cargo::rustc-cfg=ipmat_skip_postgres");
    }
}
