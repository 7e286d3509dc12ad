//! alp: one static binary that installs prebuilt packages from static repositories and
//! runs as a container entrypoint. `main` parses, dispatches, and turns every error into
//! one `alp: error: …` line and a documented exit code (and, under `--json`, an error
//! document on stdout).

use alp::{cli, cmd, error, log, pathtext, ui};

fn main() {
    // An argument that is not UTF-8 (a file name) arrives in alp's escaped form, never a panic.
    let args: Vec<String> = std::env::args_os()
        .skip(1)
        .map(|a| a.into_string().unwrap_or_else(|a| pathtext::encode(a.as_encoded_bytes()).into_owned()))
        .collect();
    let code = match run(&args) {
        Ok(code) => code,
        // A stop by signal is not an error: one plain line says what became of the change.
        Err(e) if e.kind == error::Kind::Interrupted => {
            eprintln!("alp: {}", e.msg);
            e.exit_code()
        }
        Err(e) => {
            ui::error(&e.msg);
            if cli::wants_json(&args) && !cmd::json_printed() {
                cmd::print_json(&cmd::error_document(&e));
            }
            e.exit_code()
        }
    };
    log::flush();
    std::process::exit(code);
}

fn run(args: &[String]) -> error::Result<i32> {
    if args.is_empty() {
        print!("{}", cmd::help::overview());
        return Ok(2);
    }
    match cli::parse(args)? {
        cli::Parsed::Version => {
            println!("{}", cmd::version_line());
            Ok(0)
        }
        cli::Parsed::Help(topic) => cmd::help::help(topic.as_deref()),
        cli::Parsed::Run(globals, command) => cmd::dispatch(globals, *command),
    }
}
