//! The textual address form: parsing, display, and the limits of `sun_path`.

use ipcwire::{Address, AddressError};

#[test]
fn every_form_round_trips_through_text() {
    for text in [
        "unix:/tmp/app.sock",
        "unix:relative/path.sock",
        "abstract:app",
        "abstract:with spaces:and:colons",
        "tcp:127.0.0.1:8080",
        "tcp:0.0.0.0:0",
        "tcp:[::1]:0",
        "tcp:[2001:db8::7]:65535",
    ] {
        let addr: Address = text.parse().unwrap();
        assert_eq!(addr.to_string(), text);
        assert_eq!(addr.to_string().parse::<Address>(), Ok(addr));
    }
}

#[test]
fn families_are_what_the_text_says() {
    assert!(matches!("unix:/a".parse(), Ok(Address::Unix(p)) if p.as_bytes() == b"/a"));
    assert!(matches!("abstract:a".parse(), Ok(Address::Abstract(n)) if n.as_bytes() == b"a"));
    let tcp: Address = "tcp:[::1]:9".parse().unwrap();
    assert_eq!(tcp, Address::Tcp("[::1]:9".parse().unwrap()));
}

#[test]
fn paths_that_do_not_fit_are_refused_not_cut() {
    let max = Address::MAX_PATH_LEN;
    assert_eq!(max, 107);
    let fits = format!("unix:/{}", "a".repeat(max - 1));
    assert!(fits.parse::<Address>().is_ok());
    let long = format!("unix:/{}", "a".repeat(max));
    assert_eq!(
        long.parse::<Address>(),
        Err(AddressError::TooLong { len: max + 1, max })
    );
    let name = format!("abstract:{}", "n".repeat(Address::MAX_ABSTRACT_LEN + 1));
    assert!(matches!(
        name.parse::<Address>(),
        Err(AddressError::TooLong { .. })
    ));
}

#[test]
fn bad_text_gets_a_clear_error() {
    assert_eq!("unix:".parse::<Address>(), Err(AddressError::Empty));
    assert_eq!("abstract:".parse::<Address>(), Err(AddressError::Empty));
    assert_eq!(Address::unix(b""), Err(AddressError::Empty));
    assert_eq!(Address::unix(b"/tmp/a\0b"), Err(AddressError::Nul));
    assert_eq!("unix:/tmp/a\0b".parse::<Address>(), Err(AddressError::Nul));
    for text in [
        "",
        "/tmp/a.sock",
        "udp:1.2.3.4:5",
        "UNIX:/a",
        "unix/tmp/x",
        "tcp",
    ] {
        assert_eq!(
            text.parse::<Address>(),
            Err(AddressError::UnknownScheme),
            "{text:?}"
        );
    }
    for text in [
        "tcp:",
        "tcp:localhost:80",
        "tcp:127.0.0.1",
        "tcp:::1:80",
        "tcp:1.2.3.4:65536",
    ] {
        assert_eq!(
            text.parse::<Address>(),
            Err(AddressError::BadTcp),
            "{text:?}"
        );
    }
}

#[test]
fn unnamed_shows_but_does_not_parse() {
    assert_eq!(Address::Unnamed.to_string(), "unnamed");
    assert!("unnamed".parse::<Address>().is_err());
}

/// Names the kernel accepts that are not printable UTF-8: every byte
/// value alone and in company, broken UTF-8, control characters, the
/// escape character itself, and text that looks like an escape.
fn awkward_names() -> Vec<Vec<u8>> {
    let mut names: Vec<Vec<u8>> = (0..=255u8).map(|b| vec![b]).collect();
    names.extend((0..=255u8).map(|b| vec![b'a', b, b'z']));
    for name in [
        &b"\xff\xfe"[..],
        b"caf\xc3",
        b"caf\xc3\xa9",
        b"\xe2\x82",
        b"tab\tnew\nline\r",
        b"\x7f\x1b[0m",
        b"\\",
        b"\\x41",
        b"\\\\x41",
        b"a\\xzz",
        b"\xc2\x85next-line",
        "\u{fffd}".as_bytes(),
        b"nul\0inside",
    ] {
        names.push(name.to_vec());
    }
    names.push(vec![0xff; Address::MAX_ABSTRACT_LEN]);
    names.push(vec![b'\\'; Address::MAX_ABSTRACT_LEN]);
    names
}

#[test]
fn every_name_round_trips_through_text() {
    for name in awkward_names() {
        let mut addrs = vec![Address::abstract_name(&name).unwrap()];
        if !name.contains(&0) {
            addrs.push(Address::unix(&name).unwrap());
        }
        for addr in addrs {
            let text = addr.to_string();
            assert_eq!(
                text.parse::<Address>(),
                Ok(addr),
                "{name:?} shown as {text:?}"
            );
            assert!(
                !text.chars().any(|c| c.is_control() || c == '\u{fffd}'),
                "{name:?} shown as {text:?}"
            );
        }
    }
}

#[test]
fn printable_names_show_as_themselves() {
    for text in ["abstract:café", "unix:/tmp/ünï cödé.sock", "abstract:日本"] {
        let addr: Address = text.parse().unwrap();
        assert_eq!(addr.to_string(), text);
    }
}

#[test]
fn escapes_in_text_are_bytes() {
    let addr: Address = r"abstract:\x00app\xff\\".parse().unwrap();
    assert_eq!(addr, Address::abstract_name(b"\0app\xff\\").unwrap());
    for bad in [
        r"abstract:\x",
        r"abstract:\x4",
        r"abstract:\xzz",
        r"abstract:\q",
        r"abstract:a\",
    ] {
        assert_eq!(
            bad.parse::<Address>(),
            Err(AddressError::BadEscape),
            "{bad}"
        );
    }
    assert_eq!(r"unix:/tmp/\x00".parse::<Address>(), Err(AddressError::Nul));
}
