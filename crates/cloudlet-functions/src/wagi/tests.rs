use super::*;

#[test]
fn cgi_output_becomes_a_response() {
    let response = parse_cgi(b"Content-Type: text/plain\nX-Extra: 1\n\nhello").expect("valid");
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/plain");
    assert_eq!(response.headers()["x-extra"], "1");
    assert_eq!(response.body(), "hello");

    let response = parse_cgi(b"Status: 404 Not Found\r\nContent-Type: text/plain\r\n\r\nnope").expect("valid");
    assert_eq!(response.status(), 404);
    assert_eq!(response.body(), "nope");

    let response = parse_cgi(b"Location: /elsewhere\n\n").expect("valid");
    assert_eq!(response.status(), 302);
    let response = parse_cgi(b"Location: /x\nStatus: 301\n\n").expect("valid");
    assert_eq!(response.status(), 301);
}

#[test]
fn bad_cgi_output_is_an_error_not_a_panic() {
    assert!(parse_cgi(b"just a body").is_err());
    assert!(parse_cgi(b"X-Only: header\n\nbody").is_err());
    assert!(parse_cgi(b"Status: twelve\n\n").is_err());
    assert!(parse_cgi(b"no colon here\n\n").is_err());
    assert!(parse_cgi(b"").is_err());
    assert!(parse_cgi(&[0xff, 0xfe, b'\n', b'\n']).is_err());
}

#[test]
fn the_environment_follows_cgi() {
    let request = http::Request::post("/cgi/sub/p%20ath?a=1&b=two+words")
        .header("host", "example.com:8080")
        .header("content-type", "text/plain")
        .header("x-custom", "v")
        .header("authorization", "secret")
        .body(())
        .expect("request");
    let (parts, ()) = request.into_parts();
    let client = SocketAddr::from(([10, 0, 0, 7], 5000));
    let vars = std::collections::BTreeMap::from([("GREETING".to_string(), "hi".to_string())]);
    let environment: std::collections::HashMap<String, String> =
        cgi_environment(&parts, client, "/cgi", 5, &vars).into_iter().collect();
    assert_eq!(environment["REQUEST_METHOD"], "POST");
    assert_eq!(environment["SCRIPT_NAME"], "/cgi");
    assert_eq!(environment["PATH_INFO"], "/sub/p ath");
    assert_eq!(environment["X_RAW_PATH_INFO"], "/sub/p%20ath");
    assert_eq!(environment["QUERY_STRING"], "a=1&b=two+words");
    assert_eq!(environment["CONTENT_LENGTH"], "5");
    assert_eq!(environment["CONTENT_TYPE"], "text/plain");
    assert_eq!(environment["SERVER_NAME"], "example.com");
    assert_eq!(environment["SERVER_PORT"], "8080");
    assert_eq!(environment["REMOTE_ADDR"], "10.0.0.7");
    assert_eq!(environment["HTTP_X_CUSTOM"], "v");
    assert_eq!(environment["GREETING"], "hi");
    assert!(!environment.contains_key("HTTP_AUTHORIZATION"), "credentials never reach the script");
    assert_eq!(cgi_arguments(&parts, "app.wasm"), ["app.wasm", "a=1", "b=two words"]);
}

#[test]
fn percent_decoding_leaves_bad_escapes_alone() {
    assert_eq!(percent_decode("a%20b"), "a b");
    assert_eq!(percent_decode("100%"), "100%");
    assert_eq!(percent_decode("%zz"), "%zz");
    assert_eq!(percent_decode("%4"), "%4");
    assert_eq!(percent_decode("%aé"), "%aé", "a multi-byte character after % is not a boundary problem");
    assert_eq!(percent_decode("%C3%A9"), "é");
}
