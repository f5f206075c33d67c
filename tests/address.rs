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
