//! adt local-cloud attach NS N | list | stop-web NAME | teardown: the local cloud's namespaces
//! (for the demo; state in ADT_LOCAL_CLOUD or ~/.adt-rs/localcloud).
use adt::cli::Ctx;
use adt::cloud::local::LocalCloud;

pub fn main(ctx: &Ctx, args: &[String]) -> i32 {
    let cloud = LocalCloud {
        state: std::env::var_os("ADT_LOCAL_CLOUD")
            .map(Into::into)
            .unwrap_or_else(|| ctx.home.join(".adt-rs").join("localcloud")),
        server_home: ctx.home.clone(),
        ssh_port: 22,
        authorized_key: Default::default(),
    };
    let a = |i: usize| args.get(i).map(String::as_str).unwrap_or("");
    let r = match a(0) {
        "attach" => match a(2).parse::<u8>() {
            Ok(n) => LocalCloud::attach(a(1), n).map(|_| String::new()),
            Err(_) => Err(adt::Error::Usage(
                "attach NS N (N: the last octet of 10.78.0.N)".into(),
            )),
        },
        "list" => cloud
            .list()
            .map(|l| l.iter().map(|(n, ip)| format!("{n} {ip}\n")).collect()),
        "stop-web" => cloud.stop_web(a(1)).map(|_| String::new()),
        "teardown" => {
            cloud.teardown();
            Ok(String::new())
        }
        _ => Err(adt::Error::Usage(
            "adt local-cloud attach NS N | list | stop-web NAME | teardown".into(),
        )),
    };
    match r {
        Ok(s) => {
            adt::cli::out(s.as_bytes());
            0
        }
        Err(e) => {
            eprintln!("adt local-cloud: {e}");
            1
        }
    }
}
