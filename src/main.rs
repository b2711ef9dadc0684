fn main() -> std::process::ExitCode {
    pgkeel::cli::main()
}
