use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = ipmat::cli::Cli::parse();
    ipmat::cli::run(cli)
}
