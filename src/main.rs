//! The `ws-book` command line. Parsing and printing only; the work is in the library.

use clap::Parser;

mod cli;

fn main() {
    let cli = cli::Cli::parse();
    let code = match cli.run() {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            cli::exit_code_for(&e)
        }
    };
    std::process::exit(code);
}
