use super::*;

fn vars(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

#[test]
fn defaults_need_no_variables() {
    let c = Config::from_vars(&HashMap::new()).unwrap();
    assert_eq!(c.mode, Mode::Development);
    assert_eq!(c.bind.to_string(), "127.0.0.1:8000");
    assert_eq!(c.database_url.expose(), "sqlite://data/ipmat.db");
    assert_eq!(c.storage, StorageConfig::File("data/media".into()));
    assert_eq!(c.media_base_url, "/media");
    assert_eq!(c.seed, SeedMode::Auto);
}

#[test]
fn a_bad_webhook_is_reported_under_the_name_that_was_set() {
    let e = Config::from_vars(&vars(&[("IPMAT_SLACK_URL", "not a url")])).unwrap_err();
    assert_eq!(e.var, "IPMAT_SLACK_URL");
    let e = Config::from_vars(&vars(&[("IPMAT_NOTIFY_URL", "ftp://x")])).unwrap_err();
    assert_eq!(e.var, "IPMAT_NOTIFY_URL");
}

#[test]
fn new_site_variables_parse_and_name_themselves_when_wrong() {
    let c = Config::from_vars(&vars(&[
        ("IPMAT_PUBLIC_URL", "https://ipmat.example/"),
        ("IPMAT_MAP_LINKS", "naver"),
        ("IPMAT_REPORT_HIDE_AT", "3"),
    ]))
    .unwrap();
    assert_eq!(c.public_url.as_deref(), Some("https://ipmat.example"));
    assert_eq!(c.map_links, vec![MapLink::Naver]);
    assert_eq!(c.report_hide_at, 3);
    let c = Config::from_vars(&vars(&[("IPMAT_MAP_LINKS", "")])).unwrap();
    assert!(c.map_links.is_empty());
    let defaults = Config::from_vars(&HashMap::new()).unwrap();
    assert_eq!(defaults.map_links, vec![MapLink::Kakao, MapLink::Naver]);
    assert_eq!(defaults.report_hide_at, 5);
    for (var, value) in [
        ("IPMAT_PUBLIC_URL", "ipmat.example"),
        ("IPMAT_MAP_LINKS", "google"),
        ("IPMAT_REPORT_HIDE_AT", "0"),
    ] {
        let e = Config::from_vars(&vars(&[(var, value)])).unwrap_err();
        assert_eq!(e.var, var);
    }
}

#[test]
fn the_originals_db_variables_build_a_mysql_url() {
    let c = Config::from_vars(&vars(&[
        ("IPMAT_DB_HOST", "db.example.com"),
        ("IPMAT_DB_NAME", "ipmat"),
        ("IPMAT_DB_USER", "app"),
        ("IPMAT_DB_PASSWORD", "p@ss/word"),
    ]))
    .unwrap();
    assert_eq!(
        c.database_url.expose(),
        "mysql://app:p%40ss%2Fword@db.example.com:3306/ipmat"
    );
    let shown = format!("{c:?}");
    assert!(!shown.contains("p%40ss"), "{shown}");
    assert!(shown.contains("***"));
}

#[test]
fn database_url_wins_over_db_host() {
    let c = Config::from_vars(&vars(&[
        ("IPMAT_DATABASE_URL", "postgres://u@h/db"),
        ("IPMAT_DB_HOST", "ignored"),
        ("IPMAT_DB_NAME", "x"),
        ("IPMAT_DB_USER", "y"),
    ]))
    .unwrap();
    assert_eq!(c.database_url.expose(), "postgres://u@h/db");
}

#[test]
fn malformed_values_name_their_variable() {
    let cases = [
        ("IPMAT_MODE", "staging"),
        ("IPMAT_BIND", "localhost"),
        ("IPMAT_DATABASE_URL", "oracle://x"),
        ("IPMAT_STORAGE", "ftp://x"),
        ("IPMAT_STORAGE", "s3://Bad_Bucket"),
        ("IPMAT_MEDIA_BASE_URL", "cdn.example.com"),
        ("IPMAT_NOTIFY_URL", "not a url"),
        ("IPMAT_SEED", "yes"),
        ("IPMAT_LOG_FORMAT", "xml"),
        ("IPMAT_TRUSTED_PROXIES", "10.0.0.0/99"),
        ("IPMAT_WORLDCUP_MAX_AGE_HOURS", "0"),
        ("IPMAT_DB_PORT", "99999"),
        ("IPMAT_SECRET_KEY", "too short"),
        ("IPMAT_PASSWORD_HASH_CONCURRENCY", "0"),
    ];
    for (var, value) in cases {
        let mut v = vars(&[(var, value)]);
        if var == "IPMAT_DB_PORT" {
            v.extend(vars(&[
                ("IPMAT_DB_HOST", "h"),
                ("IPMAT_DB_NAME", "n"),
                ("IPMAT_DB_USER", "u"),
            ]));
        }
        let err = Config::from_vars(&v).expect_err(var);
        assert_eq!(err.var, var, "{value}: {err}");
    }
}

#[test]
fn unknown_variables_are_reported() {
    let c = Config::from_vars(&vars(&[("IPMAT_SEDE", "off"), ("OTHER", "x")])).unwrap();
    assert_eq!(c.unknown_variables, ["IPMAT_SEDE"]);
}

#[test]
fn secrets_can_come_from_files() {
    let dir = std::env::temp_dir().join(format!("ipmat-config-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("pw");
    std::fs::write(&file, "s3cret\n").unwrap();
    let c = Config::from_vars(&vars(&[
        ("IPMAT_DB_HOST", "h"),
        ("IPMAT_DB_NAME", "n"),
        ("IPMAT_DB_USER", "u"),
        ("IPMAT_DB_PASSWORD_FILE", file.to_str().unwrap()),
    ]))
    .unwrap();
    assert_eq!(c.database_url.expose(), "mysql://u:s3cret@h:3306/n");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn the_bucket_alias_of_the_original_selects_s3() {
    let c = Config::from_vars(&vars(&[("IPMAT_S3_BUCKETNAME", "ipmat-upload")])).unwrap();
    assert_eq!(
        c.storage,
        StorageConfig::S3 {
            bucket: "ipmat-upload".into(),
            prefix: String::new()
        }
    );
}

#[test]
fn networks_contain_their_addresses() {
    let net: IpNet = "172.16.0.0/12".parse().unwrap();
    assert!(net.contains("172.20.1.2".parse().unwrap()));
    assert!(!net.contains("172.32.0.1".parse().unwrap()));
    assert!(net.contains("::ffff:172.20.1.2".parse().unwrap()));
    let one: IpNet = "127.0.0.1".parse().unwrap();
    assert!(one.contains("127.0.0.1".parse().unwrap()));
    assert!(!one.contains("127.0.0.2".parse().unwrap()));
}
