use proptest::prelude::*;

use super::*;

fn parse_all(input: &[u8]) -> Result<Vec<Vec<Bytes>>, ProtocolError> {
    let mut buffer = BytesMut::from(input);
    let mut commands = Vec::new();
    while let Some(command) = parse_command(&mut buffer, &Limits::default())? {
        commands.push(command);
    }
    Ok(commands)
}

fn words(command: &[Bytes]) -> Vec<&[u8]> {
    command.iter().map(|word| word.as_ref()).collect()
}

#[test]
fn multibulk_commands_parse_and_pipeline() {
    let commands = parse_all(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nv\r\nal\r\n*1\r\n$4\r\nPING\r\n").expect("valid");
    assert_eq!(commands.len(), 2);
    assert_eq!(words(&commands[0]), [&b"SET"[..], b"k", b"v\r\nal"]);
    assert_eq!(words(&commands[1]), [&b"PING"[..]]);
}

#[test]
fn inline_commands_parse_with_quotes() {
    let commands = parse_all(b"PING\r\n\r\nset k \"a b\\n\\x41\" 'c d'\n").expect("valid");
    assert_eq!(words(&commands[0]), [&b"PING"[..]]);
    assert_eq!(words(&commands[1]), [&b"set"[..], b"k", b"a b\nA", b"c d"]);
    assert!(parse_all(b"set k \"open\r\n").is_err());
}

#[test]
fn incomplete_frames_wait_for_more_bytes_without_consuming() {
    let full = b"*2\r\n$3\r\nGET\r\n$3\r\nkey\r\n";
    for cut in 1..full.len() {
        let mut buffer = BytesMut::from(&full[..cut]);
        assert_eq!(parse_command(&mut buffer, &Limits::default()), Ok(None), "cut at {cut}");
        assert_eq!(buffer.len(), cut, "nothing consumed at {cut}");
    }
}

#[test]
fn oversized_frames_are_rejected_before_allocation() {
    let limits = Limits { max_bulk: 1024, max_arguments: 8, max_inline: 16 };
    let mut huge_bulk = BytesMut::from(&b"*1\r\n$9999999999\r\n"[..]);
    assert!(parse_command(&mut huge_bulk, &limits).is_err());
    let mut many = BytesMut::from(&b"*1000000000\r\n"[..]);
    assert!(parse_command(&mut many, &limits).is_err());
    let mut long_line = BytesMut::from(&[b'a'; 64][..]);
    assert!(parse_command(&mut long_line, &limits).is_err());
    let mut endless_digits = BytesMut::from(&b"*111111111111111111111111111111"[..]);
    assert!(parse_command(&mut endless_digits, &limits).is_err());
}

#[test]
fn arguments_do_not_share_the_read_buffer() {
    let mut buffer = BytesMut::with_capacity(64 * 1024);
    buffer.extend_from_slice(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nvalue\r\n*1\r\n$4\r\nPING\r\n");
    let range = buffer.as_ptr() as usize..buffer.as_ptr() as usize + buffer.capacity();
    let args = parse_command(&mut buffer, &Limits::default()).expect("valid").expect("complete");
    // A stored value that pointed into the buffer would keep all 64 KiB of it alive.
    assert!(args.iter().all(|arg| !range.contains(&(arg.as_ptr() as usize))), "an argument borrows the buffer");
    assert_eq!(words(&args), vec![&b"SET"[..], b"k", b"value"]);
    assert_eq!(&buffer[..], b"*1\r\n$4\r\nPING\r\n");
}

#[test]
fn malformed_frames_are_errors() {
    for input in [&b"*1\r\n:1\r\n"[..], b"*1\r\n$3\r\nabcd\r\n", b"*x\r\n", b"*1\r\n$-5\r\n", b"*1\r\n$3\r\nabc\n\n"] {
        assert!(parse_all(input).is_err(), "{:?}", String::from_utf8_lossy(input));
    }
}

proptest! {
    #[test]
    fn any_bytes_parse_or_fail_without_panicking(input in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = parse_all(&input);
    }

    #[test]
    fn encoded_commands_parse_back(args in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..64), 1..8)) {
        let mut encoded = format!("*{}\r\n", args.len()).into_bytes();
        for arg in &args {
            encoded.extend(format!("${}\r\n", arg.len()).as_bytes());
            encoded.extend(arg);
            encoded.extend(b"\r\n");
        }
        let commands = parse_all(&encoded).expect("valid");
        prop_assert_eq!(commands.len(), 1);
        let parsed: Vec<Vec<u8>> = commands[0].iter().map(|word| word.to_vec()).collect();
        prop_assert_eq!(parsed, args);
    }
}
