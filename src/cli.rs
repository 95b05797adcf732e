//! The command line: `ipmat [serve|migrate|import|import-django|export|user create|user
//! reset-password|healthcheck]`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::config::{Config, LogFormat};

#[derive(Debug, Parser)]
#[command(
    name = "ipmat",
    version,
    about = "ipmat (입맛): food world cup and taste quiz server"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the API, the web app and media (the default).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Import a catalog folder (catalog.json and its images); running it twice changes nothing.
    Import {
        /// Folder holding catalog.json.
        path: PathBuf,
    },
    /// Move in from the original 2019 Django server: its MySQL database and its images (see
    /// docs/migrate-from-django.md). Running it twice changes nothing the second time.
    ImportDjango {
        /// The original database: mysql://USER:PASS@HOST[:PORT]/DB.
        #[arg(long, value_name = "URL")]
        from: String,
        /// A local copy of the image bucket (same key layout, e.g. from `aws s3 sync`).
        #[arg(long, value_name = "DIR", conflicts_with = "media_url")]
        media: Option<PathBuf>,
        /// The bucket's public base URL, to download the images from.
        #[arg(long, value_name = "URL")]
        media_url: Option<String>,
        /// Read and check everything, write nothing.
        #[arg(long)]
        dry_run: bool,
        /// Also write the report as JSON to this file.
        #[arg(long, value_name = "FILE")]
        report: Option<PathBuf>,
    },
    /// Export the whole catalog (catalog.json and images) into a new or empty folder.
    Export {
        /// Folder to write; created when missing.
        path: PathBuf,
    },
    /// Manage members.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Exit 0 when the server's /readyz answers 200 (the container health check).
    Healthcheck {
        /// URL to check; defaults to /readyz on IPMAT_BIND (0.0.0.0 becomes 127.0.0.1).
        #[arg(long)]
        url: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a member; the password comes from IPMAT_PASSWORD or a prompt.
    Create {
        name: String,
        /// Make the member an administrator.
        #[arg(long)]
        admin: bool,
    },
    /// Set a member's password (from IPMAT_PASSWORD, a prompt, or --generate) and end their
    /// sessions; the way members imported by import-django get a password.
    ResetPassword {
        name: String,
        /// Draw a random password and print it.
        #[arg(long)]
        generate: bool,
    },
}

/// Runs a parsed command line and answers the process exit code.
pub fn run(cli: Cli) -> ExitCode {
    crate::install_crypto_provider();
    let config = match Config::from_env() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("ipmat: configuration error: {e}");
            return ExitCode::from(2);
        }
    };
    init_tracing(&config);
    for var in &config.unknown_variables {
        tracing::warn!("{var} is not a variable ipmat knows; check its spelling");
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("ipmat: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        match cli.command.unwrap_or(Command::Serve) {
            Command::Serve => serve(config).await,
            Command::Migrate => migrate(config).await,
            Command::Import { path } => import(config, path).await,
            Command::Export { path } => export(config, path).await,
            Command::User {
                command: UserCommand::Create { name, admin },
            } => create_user(config, name, admin).await,
            Command::User {
                command: UserCommand::ResetPassword { name, generate },
            } => reset_password(config, name, generate).await,
            Command::ImportDjango {
                from,
                media,
                media_url,
                dry_run,
                report,
            } => import_django(config, from, media, media_url, dry_run, report).await,
            Command::Healthcheck { url } => healthcheck(&config, url).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ipmat: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_tracing(config: &Config) {
    let filter = tracing_subscriber::EnvFilter::try_new(&config.log_filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match config.log_format {
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .try_init(),
        LogFormat::Pretty => builder.try_init(),
    };
}

async fn serve(config: Config) -> anyhow::Result<()> {
    tracing::info!(
        mode = ?config.mode,
        database = %config.database_url.redacted(),
        storage = ?config.storage,
        "starting ipmat {}",
        env!("CARGO_PKG_VERSION")
    );
    let notify_url = config.notify_url.clone();
    let app = crate::App::build(config).await?;
    let addr = app.local_addr();
    tracing::info!("listening on http://{addr}");
    let version = env!("CARGO_PKG_VERSION");
    let instance = crate::notify::instance_name();
    if let Some(url) = notify_url.clone() {
        let text = format!("ipmat {version} started on {instance} ({addr})");
        tokio::spawn(async move { crate::notify::send(&url, &text).await });
    }
    let result = app.run().await;
    if let Some(url) = notify_url {
        let text = match &result {
            Ok(()) => format!("ipmat {version} stopped on {instance}"),
            Err(e) => format!("ipmat {version} stopped on {instance} after an error: {e}"),
        };
        let _ = tokio::time::timeout(
            std::time::Duration::from_secs(3),
            crate::notify::send(&url, &text),
        )
        .await;
    }
    result?;
    tracing::info!("stopped");
    Ok(())
}

async fn connect(config: &Config) -> anyhow::Result<crate::db::Db> {
    let db = crate::db::connect(config.database_url.expose(), 4)
        .await
        .map_err(|e| {
            anyhow::anyhow!("cannot connect to {}: {e}", config.database_url.redacted())
        })?;
    crate::db::migrate(&db).await?;
    Ok(db)
}

async fn migrate(config: Config) -> anyhow::Result<()> {
    let db = crate::db::connect(config.database_url.expose(), 2)
        .await
        .map_err(|e| {
            anyhow::anyhow!("cannot connect to {}: {e}", config.database_url.redacted())
        })?;
    let applied = crate::db::migrate(&db).await?;
    if applied.is_empty() {
        println!("the database is up to date");
    } else {
        for name in applied {
            println!("applied {name}");
        }
    }
    Ok(())
}

async fn import(config: Config, path: PathBuf) -> anyhow::Result<()> {
    anyhow::ensure!(
        crate::seed::is_catalog_dir(&path),
        "{} has no catalog.json (see docs/catalog-format.md)",
        path.display()
    );
    let db = connect(&config).await?;
    let storage = crate::media::Storage::from_config(&config).await?;
    let source = crate::seed::Source::Dir(path);
    let catalog = source.catalog()?;
    let total = catalog.foods.len() * 2 + catalog.books.len() * 2;
    let progress = crate::seed::Progress::for_terminal(total as u64, "import");
    let report = crate::seed::import(&db, &storage, &source, &progress).await?;
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}

async fn export(config: Config, path: PathBuf) -> anyhow::Result<()> {
    let db = connect(&config).await?;
    let storage = crate::media::Storage::from_config(&config).await?;
    let export = crate::seed::Export::read(&db).await?;
    let progress = crate::seed::Progress::for_terminal(export.images.len() as u64, "export");
    let report = export.write(&storage, &path, &progress).await?;
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}

async fn create_user(config: Config, name: String, admin: bool) -> anyhow::Result<()> {
    let password = match std::env::var("IPMAT_PASSWORD") {
        Ok(p) if !p.is_empty() => p,
        _ => {
            let first = rpassword_prompt("password: ")?;
            let second = rpassword_prompt("again: ")?;
            anyhow::ensure!(first == second, "the two passwords differ");
            first
        }
    };
    let db = connect(&config).await?;
    crate::accounts::create_user(&db, &name, &password, None, admin)
        .await
        .map_err(|e| anyhow::anyhow!("{}", e.problem().detail))?;
    println!(
        "created {}{name}",
        if admin { "administrator " } else { "" }
    );
    Ok(())
}

async fn reset_password(config: Config, name: String, generate: bool) -> anyhow::Result<()> {
    let password = match std::env::var("IPMAT_PASSWORD") {
        Ok(p) if !p.is_empty() => p,
        _ if generate => crate::accounts::reset::generate_password(),
        _ => {
            let first = rpassword_prompt("new password: ")?;
            let second = rpassword_prompt("again: ")?;
            anyhow::ensure!(first == second, "the two passwords differ");
            first
        }
    };
    let db = connect(&config).await?;
    crate::accounts::reset::reset_password(&db, &name, &password).await?;
    if generate && std::env::var("IPMAT_PASSWORD").is_err() {
        println!("{name}: {password}");
    } else {
        println!("set the password of {name}");
    }
    Ok(())
}

async fn import_django(
    config: Config,
    from: String,
    media: Option<PathBuf>,
    media_url: Option<String>,
    dry_run: bool,
    report_file: Option<PathBuf>,
) -> anyhow::Result<()> {
    use crate::import_django::{MediaSource, Options};
    let media = match (media, media_url) {
        (Some(dir), _) => {
            anyhow::ensure!(dir.is_dir(), "--media {} is not a folder", dir.display());
            MediaSource::Dir(dir)
        }
        (None, Some(url)) => MediaSource::Url(crate::import_django::images::base_url(&url)?),
        (None, None) => MediaSource::None,
    };
    let db = connect(&config).await?;
    let storage = crate::media::Storage::from_config(&config).await?;
    let options = Options {
        from,
        media,
        dry_run,
        quiet: false,
    };
    let report = crate::import_django::run(&db, &storage, &options).await?;
    print!("{}", report.to_text());
    if let Some(file) = report_file {
        let mut json = serde_json::to_vec_pretty(&report)?;
        json.push(b'\n');
        std::fs::write(&file, json)
            .map_err(|e| anyhow::anyhow!("writing {}: {e}", file.display()))?;
    }
    Ok(())
}

/// Reads a line from the terminal without echoing it (falls back to plain stdin).
fn rpassword_prompt(prompt: &str) -> anyhow::Result<String> {
    use std::io::{BufRead, IsTerminal, Write};
    let stdin = std::io::stdin();
    let echo_off = stdin.is_terminal() && set_echo(false);
    eprint!("{prompt}");
    std::io::stderr().flush()?;
    let mut line = String::new();
    stdin.lock().read_line(&mut line)?;
    if echo_off {
        set_echo(true);
        eprintln!();
    }
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

fn set_echo(on: bool) -> bool {
    std::process::Command::new("stty")
        .arg(if on { "echo" } else { "-echo" })
        .stdin(std::process::Stdio::inherit())
        .status()
        .is_ok_and(|s| s.success())
}

async fn healthcheck(config: &Config, url: Option<String>) -> anyhow::Result<()> {
    let url = url.unwrap_or_else(|| {
        let mut addr = config.bind;
        if addr.ip().is_unspecified() {
            addr.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
        }
        format!("http://{addr}/readyz")
    });
    let status = crate::ops::http_get_status(&url, std::time::Duration::from_secs(4)).await?;
    anyhow::ensure!(status == 200, "{url} answered {status}");
    Ok(())
}
