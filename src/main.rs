//! alp: one static binary that installs prebuilt packages from static repositories and
//! runs as a container entrypoint. `main` parses, dispatches, and turns every error into
//! one `alp: error: …` line and a documented exit code.

use alp::{cli, cmd, error, log, ui};
use argh::FromArgs;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let code = match run(&args) {
        Ok(code) => code,
        // A stop by signal is not an error: one plain line says what became of the change.
        Err(e) if e.kind == error::Kind::Interrupted => {
            eprintln!("alp: {}", e.msg);
            e.exit_code()
        }
        Err(e) => {
            ui::error(&e.msg);
            e.exit_code()
        }
    };
    log::flush();
    std::process::exit(code);
}

fn run(args: &[String]) -> error::Result<i32> {
    if args.first().is_some_and(|a| a == "--version" || a == "-V" || a == "version") {
        println!("{}", cmd::version_line());
        return Ok(0);
    }
    if args.first().is_some_and(|a| a == "help") {
        return cmd::help::help(args.get(1).map(String::as_str));
    }
    if args.is_empty() {
        print!("{}", cmd::help::overview());
        return Ok(2);
    }
    let args = cli::normalize(args);
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let cli = match cli::Cli::from_args(&["alp"], &refs) {
        Ok(c) => c,
        Err(exit) if exit.status.is_ok() => {
            print!("{}", exit.output);
            return Ok(0);
        }
        Err(exit) => {
            let first = exit.output.lines().next().unwrap_or("bad arguments").trim().to_string();
            return Err(error::usage(format!("{first} (see 'alp help')")));
        }
    };
    cmd::dispatch(cli)
}
