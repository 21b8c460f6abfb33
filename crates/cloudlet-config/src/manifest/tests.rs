use super::*;

const GOOD: &str = r#"
name = "shop"

[[service]]
name = "api"
command = ["python3", "app.py"]
route = "/api/"
health = "/healthz"
env = { GREETING = "hi" }
scale = { min = 2, max = 4 }
limits = { timeout = "5s", body = "1MiB" }

[[service]]
name = "worker"
command = ["./worker"]
"#;

#[test]
fn a_valid_manifest_reads_with_defaults_filled_in() {
    let manifest = Manifest::parse(GOOD).expect("valid");
    assert_eq!(manifest.name, "shop");
    let api = manifest.service("api").expect("api");
    assert_eq!(api.command, ["python3", "app.py"]);
    let route = api.route.as_ref().expect("route");
    assert_eq!(route.path, "/api", "trailing slash is normalised away");
    assert_eq!(route.location.map(|l| l.line), Some(7));
    assert_eq!(api.scale.min, 2);
    assert_eq!(api.scale.max, 4);
    assert_eq!(api.scale.target_concurrency, 100);
    assert_eq!(api.limits.timeout, Duration::from_secs(5));
    assert_eq!(api.limits.body, 1 << 20);
    assert_eq!(api.env.get("GREETING").map(String::as_str), Some("hi"));
    let worker = manifest.service("worker").expect("worker");
    assert_eq!(worker.route, None);
    assert_eq!(worker.scale, Scale::default());
    assert_eq!(worker.stop_timeout, Duration::from_secs(10));
    assert_eq!(manifest.routes().count(), 1);
}

fn problems(text: &str) -> Vec<Problem> {
    Manifest::parse(text).expect_err("must be rejected")
}

#[test]
fn every_problem_is_listed_with_its_line() {
    let text = r#"name = "Shop"
[[service]]
name = "api"
rout = "/api"
scale = { min = 3, max = 2 }
limits = { timeout = "soon", body = "12 parsecs" }

[[service]]
name = "api"
"#;
    let found = problems(text);
    let rendered: Vec<String> = found.iter().map(|p| p.render("cloudlet.toml")).collect();
    let expected = [
        "cloudlet.toml:1: \"Shop\" is not a valid name",
        "cloudlet.toml:2: missing required field \"command\"",
        "cloudlet.toml:4: unknown field \"rout\", expected \"route\"",
        "cloudlet.toml:5: \"min\" (3) is greater than \"max\" (2)",
        "cloudlet.toml:6: bad duration for \"timeout\"",
        "cloudlet.toml:6: bad size for \"body\"",
        "cloudlet.toml:8: missing required field \"command\"",
        "cloudlet.toml:9: duplicate workload name \"api\"",
    ];
    assert_eq!(rendered.len(), expected.len(), "{rendered:#?}");
    for (line, prefix) in rendered.iter().zip(expected) {
        assert!(line.starts_with(prefix), "{line:?} should start with {prefix:?}");
    }
}

#[test]
fn missing_name_and_workloads_are_reported() {
    let found = problems("# nothing here\n");
    let messages: Vec<&str> = found.iter().map(|p| p.message.as_str()).collect();
    assert!(messages.contains(&"missing required field \"name\""), "{messages:?}");
    assert!(messages.contains(&"the manifest declares no workloads"), "{messages:?}");
}

#[test]
fn routes_must_be_clean_paths_and_unique_within_the_app() {
    let text = r#"name = "a"
[[service]]
name = "one"
command = ["x"]
route = "api"
[[service]]
name = "two"
command = ["x"]
route = "/b/../c"
[[service]]
name = "three"
command = ["x"]
route = "/same"
[[service]]
name = "four"
command = ["x"]
route = "/same/"
host = "Example.COM"
[[service]]
name = "five"
command = ["x"]
route = "/same"
"#;
    let found = problems(text);
    let messages: Vec<&str> = found.iter().map(|p| p.message.as_str()).collect();
    assert_eq!(messages.len(), 3, "{messages:#?}");
    assert!(messages[0].contains("must start with"));
    assert!(messages[1].contains("\"..\" segment"));
    assert_eq!(messages[2], "route \"/same\" is already used by workload \"three\"");
}

#[test]
fn wrong_types_and_reserved_env_are_rejected() {
    let text = r#"name = "a"
[[service]]
name = "one"
command = "python3 app.py"
env = { PORT = "1", "BAD-NAME" = "x", COUNT = 3 }
health = "healthz"
host = "a.example"
"#;
    let found = problems(text);
    let messages: Vec<&str> = found.iter().map(|p| p.message.as_str()).collect();
    assert!(messages.contains(&"\"command\" must be an array of strings, found string"), "{messages:#?}");
    assert!(messages.contains(&"\"PORT\" is set by Cloudlet and cannot be overridden"), "{messages:#?}");
    assert!(messages.contains(&"\"BAD-NAME\" is not a valid environment variable name"), "{messages:#?}");
    assert!(messages.contains(&"\"COUNT\" must be a string, found integer"), "{messages:#?}");
    assert!(messages.contains(&"health check path \"healthz\" must start with \"/\""), "{messages:#?}");
    assert!(messages.contains(&"\"host\" needs a \"route\""), "{messages:#?}");
}

#[test]
fn syntax_errors_come_back_as_one_located_problem() {
    let found = problems("name = \"a\"\n[[service]\n");
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].location.map(|l| l.line), Some(2));
}

#[test]
fn scale_defaults_follow_min() {
    let text = "name = \"a\"\n[[service]]\nname = \"s\"\ncommand = [\"x\"]\nscale = { min = 3 }\n";
    let manifest = Manifest::parse(text).expect("valid");
    assert_eq!(manifest.services[0].scale.max, 3);
    let text = "name = \"a\"\n[[service]]\nname = \"s\"\ncommand = [\"x\"]\nscale = { min = 0 }\n";
    let manifest = Manifest::parse(text).expect("valid");
    assert_eq!(manifest.services[0].scale.max, 1);
}

#[test]
fn functions_read_with_their_defaults_and_share_names_and_routes_with_services() {
    let text = r#"name = "shop"
[[function]]
name = "hello"
source = "hello.wasm"
route = "/hello"
allowed_outbound_hosts = ["https://api.example.com", "http://127.0.0.1:*"]
files = { "/static" = "static" }
vars = { greeting = "hi" }
keyvalue = true
limits = { memory = "32MiB", timeout = "2s", instances = 4, queue = 8 }

[[function]]
name = "cgi"
source = "bin/cgi.wasm"
executor = "wagi"
route = "/cgi"
"#;
    let manifest = Manifest::parse(text).expect("valid");
    let hello = manifest.function("hello").expect("hello");
    assert_eq!(hello.executor, Executor::WasiHttp);
    assert_eq!(hello.limits.memory, 32 << 20);
    assert_eq!(hello.limits.timeout, Duration::from_secs(2));
    assert_eq!(hello.limits.instances, 4);
    assert_eq!(hello.limits.body, FunctionLimits::default().body);
    assert_eq!(hello.files.get("/static").map(String::as_str), Some("static"));
    assert_eq!(hello.vars.get("greeting").map(String::as_str), Some("hi"));
    assert_eq!(hello.allowed_outbound_hosts.len(), 2);
    assert_eq!(hello.keyvalue, Some(KeyValueStore::Kv));
    let cgi = manifest.function("cgi").expect("cgi");
    assert_eq!(cgi.executor, Executor::Wagi);
    assert_eq!(cgi.keyvalue, None);
    assert_eq!(cgi.limits, FunctionLimits::default());
    assert_eq!(manifest.routes().count(), 2);

    let clash = "name = \"a\"\n[[function]]\nname = \"x\"\nsource = \"x.wasm\"\nroute = \"/x\"\n[[service]]\nname = \"x\"\ncommand = [\"y\"]\nroute = \"/x\"\n";
    let messages: Vec<String> = problems(clash).into_iter().map(|p| p.message).collect();
    assert!(messages.contains(&"duplicate workload name \"x\"".to_string()), "{messages:?}");
    assert!(messages.contains(&"route \"/x\" is already used by workload \"x\"".to_string()), "{messages:?}");
}

#[test]
fn bad_function_fields_are_reported() {
    let text = r#"name = "a"
[[function]]
name = "f"
source = "../outside.wasm"
executor = "docker"
allowed_outbound_hosts = ["example.com", "ftp://x.example", "https://ok.example/path"]
files = { "static" = "/etc" }
limits = { memory = "64GiB", instances = 0 }
"#;
    let found = problems(text);
    let messages: Vec<&str> = found.iter().map(|p| p.message.as_str()).collect();
    assert_eq!(found.len(), 9, "{messages:#?}");
    assert!(messages.iter().any(|m| m.contains("must be a relative path inside")));
    assert!(messages.iter().any(|m| m.contains("unknown executor \"docker\"")));
    assert!(messages.iter().any(|m| m.contains("needs a scheme")));
    assert!(messages.iter().any(|m| m.contains("the scheme must be http, https or *")));
    assert!(messages.iter().any(|m| m.contains("without a path")));
    assert!(messages.iter().any(|m| m.contains("guest path \"static\" must be absolute")));
    assert!(messages.iter().any(|m| m.contains("\"/etc\" must be a relative directory")));
    assert!(messages.iter().any(|m| m.contains("\"memory\" must be between")));
    assert!(messages.iter().any(|m| m.contains("\"instances\" must be at least 1")));
}

#[test]
fn outbound_hosts_match_scheme_host_and_port() {
    let exact = OutboundHost::parse("https://api.example.com").expect("valid");
    assert!(exact.allows("https", "API.example.com", 443));
    assert!(!exact.allows("http", "api.example.com", 80));
    assert!(!exact.allows("https", "api.example.com", 8443));
    assert!(!exact.allows("https", "evil-api.example.com", 443));

    let wildcard = OutboundHost::parse("http://*.example.com:*").expect("valid");
    assert!(wildcard.allows("http", "a.example.com", 8080));
    assert!(wildcard.allows("http", "a.b.example.com", 1));
    assert!(!wildcard.allows("http", "example.com", 80));
    assert!(!wildcard.allows("http", "notexample.com", 80));

    let local = OutboundHost::parse("*://127.0.0.1:8080").expect("valid");
    assert!(local.allows("http", "127.0.0.1", 8080));
    assert!(local.allows("https", "127.0.0.1", 8080));
    assert!(!local.allows("http", "127.0.0.1", 8081));

    assert!(OutboundHost::parse("*://*:*").expect("valid").allows("http", "anything", 1));
}

#[test]
fn keyvalue_names_a_store_and_needs_a_component() {
    let function = |extra: &str| {
        format!("name = \"a\"\n[[function]]\nname = \"f\"\nsource = \"f.wasm\"\nroute = \"/f\"\n{extra}\n")
    };
    let parsed = |extra: &str| Manifest::parse(&function(extra)).expect("valid").functions[0].keyvalue;
    assert_eq!(parsed(""), None);
    assert_eq!(parsed("keyvalue = false"), None);
    assert_eq!(parsed("keyvalue = \"kv\""), Some(KeyValueStore::Kv));
    assert_eq!(parsed("keyvalue = \"cache\""), Some(KeyValueStore::Cache));
    let wagi = problems(&function("executor = \"wagi\"\nkeyvalue = true"));
    assert_eq!(wagi.len(), 1, "{wagi:#?}");
    assert!(wagi[0].message.contains("WAGI module cannot import it"), "{wagi:#?}");
    let number = problems(&function("keyvalue = 1"));
    assert!(number[0].message.contains("must be true, false or a string"), "{number:#?}");
}
