//! `adt`: one multicall binary behind every legacy script path.
//!
//! Dispatch: on the name it was called by (argv[0], `.sh` dropped: a link named
//! `ExtractConfigValue.sh` runs ExtractConfigValue), else on the first argument. Launchers put
//! `--adt-machine=TYPE` and `--adt-generation=GEN` before the command.

mod scripts;

use adt::home::Machine;
use adt::layout::Generation;

fn usage() -> String {
    let mut s = String::from(
        "adt: the Agile Deployment Toolkit's scripts as one program\n\n\
         usage: adt [--adt-machine=TYPE] [--adt-generation=GEN] COMMAND [ARGS...]\n\
         \x20      adt layout install --home DIR --machine TYPE [--generation 2022] [--bin PATH] [SCRIPT...]\n\
         \x20      adt layout uninstall --home DIR [SCRIPT...]\n\
         \x20      adt layout render DIR [--generation 2022]\n\n\
         Commands (each takes the legacy script's arguments):\n",
    );
    for (name, _) in scripts::TABLE {
        s.push_str("  ");
        s.push_str(name);
        s.push('\n');
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
    let mut cmd = if scripts::find(&called).is_some() {
        Some(called)
    } else {
        None
    };
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
    let Some(run) = scripts::find(&cmd) else {
        eprintln!("adt: unknown command {cmd:?} (adt --help lists them)");
        std::process::exit(2);
    };
    let mut ctx = adt::cli::Ctx::new(&format!("{cmd}.sh"), machine, gen);
    ctx.argv0 = script_path;
    std::process::exit(run(&ctx, &args));
}
