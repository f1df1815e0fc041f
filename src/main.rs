//! `atelier`: the service's one binary. All behaviour lives in the `server` crate.

/// jemalloc: least memory per open connection of the allocators measured
/// (BENCHMARKS.md, "Event streams").
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> std::process::ExitCode {
    server::cli::main()
}
