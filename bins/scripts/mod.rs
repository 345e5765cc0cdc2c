//! One tiny entry point per legacy script: parse the legacy arguments, call the library,
//! print what the legacy script printed, return its exit status.

use adt::cli::Ctx;

mod adjust_scaling;
mod autoscaler;
mod check_build_style;
mod check_config_datastore;
mod check_config_value;
mod daily_scale;
mod delete_from_config_datastore;
mod dns;
mod extract_build_style_values;
mod extract_config_value;
mod extract_config_values;
mod get_db_credential;
mod get_from_config_datastore;
mod get_ip;
mod health_sweep;
mod initialise_cron;
mod layout;
mod list_from_config_datastore;
mod local_cloud;
mod manually_scale;
mod put_to_config_datastore;
mod scaling_profile;
mod server;
mod setup_firewall;
mod setup_infrastructure_ips;
mod store_config_value;
mod store_config_value_webserver;
mod store_database_credentials;
mod sync_from_datastore_tunnel;
mod sync_to_datastore_tunnel;
mod update_ip;

pub type Entry = fn(&Ctx, &[String]) -> i32;

pub const TABLE: &[(&str, Entry)] = &[
    ("AddIPToDNS", dns::add),
    ("AdjustScaling", adjust_scaling::main),
    ("AutoscaleFromCron", autoscaler::autoscale_from_cron),
    ("DailyScaledown", daily_scale::down),
    ("DeadOrAlive", autoscaler::dead_or_alive),
    ("DeadOrAliveFromCron", autoscaler::dead_or_alive_from_cron),
    ("DeleteFromNativeFirewall", setup_firewall::native_delete),
    ("DailyScaleup", daily_scale::up),
    ("CreateServer", server::create),
    ("DestroyServer", server::destroy),
    ("GetServerIPAddresses", server::public_ips),
    ("GetServerPrivateIPAddresses", server::private_ips),
    ("GetServerIPAddressByPrivateIP", server::public_by_private),
    ("GetServerPrivateIPAddressByIP", server::private_by_public),
    ("GetServerName", server::name),
    ("ListServerIDs", server::ids),
    ("NumberOfServers", server::count),
    ("ManuallyScale", manually_scale::main),
    ("CheckBuildStyle", check_build_style::main),
    ("CheckConfigDatastore", check_config_datastore::main),
    ("CheckConfigValue", check_config_value::main),
    (
        "DeleteFromConfigDatastore",
        delete_from_config_datastore::main,
    ),
    ("ExtractBuildStyleValues", extract_build_style_values::main),
    ("ExtractConfigValue", extract_config_value::main),
    ("ExtractConfigValues", extract_config_values::main),
    ("GetDBCredential", get_db_credential::main),
    ("GetDNSIPs", dns::get),
    ("GetZoneID", dns::zone_id),
    ("GetRecordID", dns::record_id),
    ("GetIPAddresses", dns::ip_addresses),
    ("AddRecord", dns::add_record),
    ("DeleteRecord", dns::delete_record),
    ("GetFromConfigDatastore", get_from_config_datastore::main),
    ("GetIP", get_ip::private),
    ("GetPublicIP", get_ip::public),
    ("InitialiseCron", initialise_cron::main),
    ("ListFromConfigDatastore", list_from_config_datastore::main),
    ("PutToConfigDatastore", put_to_config_datastore::main),
    ("MonitorForSlowBuilds", autoscaler::monitor_for_slow_builds),
    ("PerformScaling", autoscaler::perform_scaling),
    ("PurgeDetachedIPs", autoscaler::purge_detached_ips),
    ("RemoveIPFromDNS", dns::remove),
    ("SetupFirewall", setup_firewall::main),
    ("SetupFirewallFromCron", setup_firewall::from_cron),
    ("SetupInfrastructureIPs", setup_infrastructure_ips::main),
    ("StoreConfigValue", store_config_value::main),
    (
        "StoreConfigValueWebserver",
        store_config_value_webserver::main,
    ),
    ("StoreDatabaseCredentials", store_database_credentials::main),
    ("SyncFromDatastoreTunnel", sync_from_datastore_tunnel::main),
    ("SyncToDatastoreTunnel", sync_to_datastore_tunnel::main),
    ("TightenDBaaSFirewall", setup_firewall::dbaas),
    ("UpdateIP", update_ip::main),
    ("UpdateNativeFirewall", setup_firewall::native),
    ("cloudflare-ranges", setup_firewall::cloudflare),
    ("health-sweep", health_sweep::main),
    ("layout", layout::main),
    ("local-cloud", local_cloud::main),
    ("scaling-profile", scaling_profile::main),
];

pub fn find(name: &str) -> Option<Entry> {
    TABLE.iter().find(|(n, _)| *n == name).map(|(_, e)| *e)
}

/// The legacy scripts' positional arguments: a missing one is the empty string.
pub fn arg(args: &[String], i: usize) -> &str {
    args.get(i).map(String::as_str).unwrap_or("")
}

/// Print a wrapper's outcome and return its status.
pub fn finish(o: adt::cli::Outcome) -> i32 {
    adt::cli::out(o.stdout.as_bytes());
    o.status
}

/// Open this machine's config datastore and run `f` on it; if it cannot be opened, report why
/// and return `failed` (the status the legacy script gave when s3cmd failed).
pub fn with_store(
    ctx: &Ctx,
    failed: i32,
    f: impl FnOnce(&dyn adt::datastore::Backend) -> adt::cli::Outcome,
) -> i32 {
    match ctx.store() {
        Ok(store) => finish(f(store.as_ref())),
        Err(e) => {
            ctx.report(&e);
            failed
        }
    }
}
