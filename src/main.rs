//! `atelier`: the service's one binary. All behaviour lives in the `server` crate.

fn main() -> std::process::ExitCode {
    server::cli::main()
}
