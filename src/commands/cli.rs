//! The whole command line as one clap definition: `adt` with one subcommand per entry of
//! [`REGISTRY`](super::REGISTRY). adt's own commands bring their clap parsers (the same ones
//! that parse their arguments); a legacy command is described by its usage line and takes its
//! arguments as the legacy script did.
//!
//! The binary dispatches on the registry itself (argv[0] first, legacy `--help` rules); this
//! definition is what the packaging generates the man pages and shell completions from
//! (`examples/gen_assets.rs`, run by `scripts/build-deb`), so they can never drift from the
//! commands.

use super::REGISTRY;
use clap::{Arg, ArgAction, Command as Cli, CommandFactory};

/// adt's own command `name`'s clap definition, named as a subcommand.
fn own(name: &'static str) -> Option<Cli> {
    let cmd = match name {
        "layout" => super::layout::Layout::command(),
        "scaling-profile" => super::scaling::ProfileCmd::command(),
        "health-sweep" => super::autoscaler::HealthSweep::command(),
        "local-cloud" => super::autoscaler::LocalCloudCmd::command(),
        "cloudflare-ranges" => super::firewall::CloudflareCmd::command(),
        "doctor" => super::doctor::DoctorCmd::command(),
        "fleet" => super::fleet::FleetCmd::command(),
        "authenticator" => super::auth::Serve::command(),
        "datastore" => super::datastore::DatastoreCmd::command(),
        "mode" => super::mode::ModeCmd::command(),
        "baseline" => super::baseline::Baseline::command(),
        _ => return None,
    };
    Some(cmd.name(name))
}

/// A legacy command: its usage line, its arguments passed through as the script took them.
fn legacy(name: &'static str, usage: &'static str) -> Cli {
    Cli::new(name)
        .about(format!("{name}.sh {usage}"))
        .long_about(format!(
            "{name}.sh {usage}\n\nadt runs it in place of the legacy script of that name: the \
             launcher at the legacy path calls `adt {name}` with the script's arguments, and \
             stdout, files, datastore keys and exit status are the legacy ones. `--help` as the \
             only argument prints the usage and touches nothing."
        ))
        .disable_help_flag(true)
        .arg(
            Arg::new("ARGS")
                .help("The legacy script's arguments")
                .num_args(0..)
                .trailing_var_arg(true)
                .allow_hyphen_values(true)
                .action(ArgAction::Append),
        )
}

/// `adt` and every command it answers to.
pub fn definition() -> Cli {
    let mut root = Cli::new("adt")
        .version(env!("CARGO_PKG_VERSION"))
        .about("The Agile Deployment Toolkit's shell scripts as one program")
        .long_about(
            "adt is one multicall binary behind every legacy script path of the Agile Deployment \
             Toolkit. `adt layout install` puts a four-line launcher at each legacy path of a \
             machine's toolkit HOME; legacy callers (cron, other scripts) then run adt with the \
             script's arguments and get the same stdout, files, datastore keys and exit status. \
             HOME comes from the first line of /home/homedir.dat; settings from \
             ${HOME}/.ssh/<type>_configuration_settings.dat; S3 credentials from ${HOME}/.s3cfg.",
        )
        .subcommand_required(true)
        .arg(
            Arg::new("adt-machine")
                .long("adt-machine")
                .value_name("TYPE")
                .help("The machine type (launchers set it): autoscaler, webserver, database, build")
                .global(false),
        )
        .arg(
            Arg::new("adt-generation")
                .long("adt-generation")
                .value_name("GEN")
                .help("The toolkit generation (launchers set it): 2022 or 2025"),
        );
    for c in REGISTRY {
        let sub = if super::is_own(c.name) {
            own(c.name)
                .unwrap_or_else(|| Cli::new(c.name).about(format!("adt {} {}", c.name, c.usage)))
        } else {
            legacy(c.name, c.usage)
        };
        root = root.subcommand(sub);
    }
    root
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_command_is_in_the_definition_and_own_commands_bring_their_parser() {
        let def = definition();
        def.clone().debug_assert();
        for c in REGISTRY {
            assert!(
                def.find_subcommand(c.name).is_some(),
                "{} missing from the CLI definition",
                c.name
            );
            if super::super::is_own(c.name) {
                assert!(
                    own(c.name).is_some(),
                    "adt {} has no clap parser in commands::cli::own",
                    c.name
                );
            }
        }
        assert_eq!(def.get_subcommands().count(), REGISTRY.len());
    }
}
