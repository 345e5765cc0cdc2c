//! `adt`: one multicall binary behind every legacy script path. A dispatcher only: the
//! commands are `adt::commands::REGISTRY`.
//!
//! Dispatch: on the name it was called by (argv[0], `.sh` dropped: a link named
//! `ExtractConfigValue.sh` runs ExtractConfigValue), else on the first argument. Launchers put
//! `--adt-machine=TYPE`, `--adt-generation=GEN` and `--adt-argv0="$0"` before the command.
//! `--help` or `-h` as a legacy command's only argument prints its usage and exits 0 without
//! touching anything; every other argument keeps its legacy meaning.

use adt::commands::{self, Ctx};
use adt::home::Machine;
use adt::layout::Generation;

fn usage() -> String {
    let mut s = String::from(
        "adt: the Agile Deployment Toolkit's scripts as one program\n\n\
         usage: adt [--adt-machine=TYPE] [--adt-generation=GEN] COMMAND [ARGS...]\n\
         \x20      adt COMMAND --help\n\n\
         Legacy commands (each takes the legacy script's arguments):\n",
    );
    let width = commands::REGISTRY
        .iter()
        .map(|c| c.name.len())
        .max()
        .unwrap_or(0);
    for c in commands::REGISTRY
        .iter()
        .filter(|c| !commands::is_own(c.name))
    {
        s.push_str(&format!("  {:width$}  {}\n", c.name, c.usage));
    }
    s.push_str("\nadt's own commands:\n");
    for c in commands::REGISTRY
        .iter()
        .filter(|c| commands::is_own(c.name))
    {
        s.push_str(&format!("  {:width$}  {}\n", c.name, c.usage));
    }
    s.push_str(
        "\nEnvironment: ADT_HOMEDIR_FILE (default /home/homedir.dat), ADT_MACHINE, ADT_DATASTORE\n\
         (local:DIR or s3:FILE), S3CMD_CONFIG, ADT_TMP (default /tmp), RUST_LOG=debug.\n",
    );
    s
}

fn main() {
    let mut args: Vec<String> = std::env::args().collect();
    let argv0 = args.remove(0);
    let called = argv0.rsplit('/').next().unwrap_or(&argv0);
    let called = called.strip_suffix(".sh").unwrap_or(called).to_string();

    let mut machine: Option<Machine> = None;
    let mut gen: Option<&'static Generation> = None;
    let mut script_path: Option<String> = None;
    let mut cmd = commands::find(&called).map(|c| c.name.to_string());
    while cmd.is_none() && !args.is_empty() {
        let a = args.remove(0);
        if let Some(m) = a.strip_prefix("--adt-machine=") {
            machine = Machine::parse(m);
            if machine.is_none() {
                eprintln!("adt: unknown machine type {m:?}");
                std::process::exit(2);
            }
        } else if let Some(g) = a.strip_prefix("--adt-generation=") {
            gen = Generation::by_name(g);
            if gen.is_none() {
                eprintln!("adt: unknown generation {g:?}");
                std::process::exit(2);
            }
        } else if let Some(p) = a.strip_prefix("--adt-argv0=") {
            script_path = Some(p.to_string());
        } else if a == "--help" || a == "-h" || a == "help" {
            print!("{}", usage());
            return;
        } else if a == "--version" {
            println!("adt {}", env!("CARGO_PKG_VERSION"));
            return;
        } else {
            cmd = Some(a.strip_suffix(".sh").unwrap_or(&a).to_string());
        }
    }
    let Some(cmd) = cmd else {
        eprint!("{}", usage());
        std::process::exit(2);
    };
    let Some(command) = commands::find(&cmd) else {
        eprintln!("adt: unknown command {cmd:?} (adt --help lists them)");
        std::process::exit(2);
    };
    let prog = if commands::is_own(command.name) {
        format!("adt {}", command.name)
    } else {
        format!("{}.sh", command.name)
    };
    adt::logging::init(script_path.as_deref().unwrap_or(&prog));
    // A legacy command's usage; adt's own commands answer --help through clap.
    if !commands::is_own(command.name)
        && args.len() == 1
        && (args[0] == "--help" || args[0] == "-h")
    {
        print!("{}", commands::usage_of(command));
        return;
    }
    let ctx = Ctx::new(&prog, machine, gen);
    std::process::exit((command.run)(&ctx, &args));
}
