//! The handshake state machine against the frames real CPython exchanged
//! (wire-protocol.md, section 2), and against itself.

use ipcwire::handshake::{Action, AuthError, AuthKey, Handshake, Role, FAILURE, WELCOME};

fn hex(s: &str) -> Vec<u8> {
    let digits: Vec<u8> = s.bytes().filter(u8::is_ascii_hexdigit).collect();
    digits
        .chunks(2)
        .map(|p| u8::from_str_radix(std::str::from_utf8(p).unwrap(), 16).unwrap())
        .collect()
}

/// Bytes `start..start + N`.
fn counting<const N: usize>(start: u8) -> [u8; N] {
    std::array::from_fn(|i| start + i as u8)
}

fn send(shake: &mut Handshake) -> Vec<u8> {
    match shake.action() {
        Action::Send(msg) => msg.to_vec(),
        other => panic!("expected Send, got {other:?}"),
    }
}

fn expect_receive(shake: &mut Handshake) {
    assert_eq!(shake.action(), Action::Receive);
}

const CHALLENGE_HEX: &str = "234348414c4c454e474523";
const SHA256_TAG_HEX: &str = "7b7368613235367d";

#[test]
fn listener_reproduces_python_3_13_frames() {
    let key = AuthKey::new(b"secret");
    let mut server = Handshake::new(Role::Listener, &key, counting::<40>(0), true);
    // Frame 1: our challenge, byte for byte as CPython 3.13 sent it.
    let frame1 = send(&mut server);
    assert_eq!(frame1.len(), 0x3b);
    let mut want = hex(CHALLENGE_HEX);
    want.extend(hex(SHA256_TAG_HEX));
    want.extend(counting::<40>(0));
    assert_eq!(frame1, want);
    // Frame 2: the 3.13 client's response; frame 3: our welcome.
    expect_receive(&mut server);
    server.receive(&hex(
        "7b7368613235367d fc57fbe650d6124b98215e7b5d197d5807ad69982d275a9735ea2d56f1fa6989",
    ));
    assert_eq!(send(&mut server), WELCOME);
    // Frame 4: the client's challenge; frame 5: our response, as CPython's.
    expect_receive(&mut server);
    let mut challenge = hex(CHALLENGE_HEX);
    challenge.extend(hex(SHA256_TAG_HEX));
    challenge.extend(counting::<40>(0x64));
    server.receive(&challenge);
    assert_eq!(
        send(&mut server),
        hex("7b7368613235367d ae0e87a78d52303bf1858025a924cf0bbdd4d462272cff778bea41045078e86a")
    );
    // Frame 6: the client's welcome.
    expect_receive(&mut server);
    server.receive(WELCOME);
    assert_eq!(server.action(), Action::Done(Ok(())));
}

#[test]
fn client_answers_python_3_11_legacy_challenge_with_raw_md5() {
    let key = AuthKey::new(b"secret");
    let mut client = Handshake::new(Role::Client, &key, counting::<40>(0x64), true);
    expect_receive(&mut client);
    let mut frame1 = hex(CHALLENGE_HEX);
    frame1.extend(counting::<20>(0));
    client.receive(&frame1);
    assert_eq!(send(&mut client), hex("7defa9cc46abc3583325d17ccda75190"));
    expect_receive(&mut client);
    client.receive(WELCOME);
    // Then the client delivers its own (sha256) challenge.
    let frame4 = send(&mut client);
    assert!(frame4.starts_with(b"#CHALLENGE#{sha256}"));
    assert_eq!(frame4.len(), 11 + 8 + 40);
}

#[test]
fn listener_accepts_a_python_3_11_client_raw_md5_unless_refused() {
    let key = AuthKey::new(b"secret");
    // 3.13 server / 3.11 client: frame 2 is HMAC-MD5 over `{sha256}` + nonce.
    let md5_response = hex("8e48d2bb349b4b72b9382999ed5b62eb");
    let mut lenient = Handshake::new(Role::Listener, &key, counting::<40>(0), true);
    send(&mut lenient);
    lenient.receive(&md5_response);
    assert_eq!(send(&mut lenient), WELCOME);

    let mut strict = Handshake::new(Role::Listener, &key, counting::<40>(0), false);
    send(&mut strict);
    strict.receive(&md5_response);
    assert_eq!(send(&mut strict), FAILURE);
    assert_eq!(strict.action(), Action::Done(Err(AuthError::Md5Refused)));
}

#[test]
fn md5_prefixed_responses_and_challenges_are_understood() {
    let key = AuthKey::new(b"secret");
    let mut server = Handshake::new(Role::Listener, &key, counting::<40>(0), true);
    send(&mut server);
    let mut response = b"{md5}".to_vec();
    response.extend(hex("8e48d2bb349b4b72b9382999ed5b62eb"));
    server.receive(&response);
    assert_eq!(send(&mut server), WELCOME);

    let mut client = Handshake::new(Role::Client, &key, counting::<40>(0), true);
    let mut challenge = b"#CHALLENGE#{md5}".to_vec();
    challenge.extend(counting::<32>(1));
    client.receive(&challenge);
    let answer = send(&mut client);
    assert!(answer.starts_with(b"{md5}") && answer.len() == 5 + 16);

    let mut strict = Handshake::new(Role::Client, &key, counting::<40>(0), false);
    strict.receive(&challenge);
    assert_eq!(strict.action(), Action::Done(Err(AuthError::Md5Refused)));
}

#[test]
fn wrong_keys_fail_on_both_sides() {
    let (right, wrong) = (AuthKey::new(b"secret"), AuthKey::new(b"guess"));
    let mut server = Handshake::new(Role::Listener, &right, counting::<40>(0), true);
    let mut client = Handshake::new(Role::Client, &wrong, counting::<40>(9), true);
    client.receive(&send(&mut server));
    server.receive(&send(&mut client));
    let verdict = send(&mut server);
    assert_eq!(verdict, FAILURE);
    assert_eq!(server.action(), Action::Done(Err(AuthError::BadResponse)));
    client.receive(&verdict);
    assert_eq!(client.action(), Action::Done(Err(AuthError::Rejected)));
}

#[test]
fn a_client_without_a_key_is_not_taken_for_one() {
    // A keyless peer sends its first application message instead of a response.
    let key = AuthKey::new(b"secret");
    let mut server = Handshake::new(Role::Listener, &key, counting::<40>(0), true);
    send(&mut server);
    server.receive(b"hello");
    assert_eq!(send(&mut server), FAILURE);
    assert_eq!(server.action(), Action::Done(Err(AuthError::BadResponse)));
    // A 16-byte message is checked as an MD5 digest, and still fails.
    let mut server = Handshake::new(Role::Listener, &key, counting::<40>(0), true);
    send(&mut server);
    server.receive(&[0; 16]);
    assert_eq!(send(&mut server), FAILURE);
}

#[test]
fn anything_but_a_known_challenge_is_refused_without_sending() {
    let key = AuthKey::new(b"secret");
    for (msg, err) in [
        (&b"hello"[..], AuthError::NotAChallenge),
        (b"", AuthError::NotAChallenge),
        (b"#CHALLENGE", AuthError::NotAChallenge),
        (
            b"#CHALLENGE#{sha384}0123456789abcdefghijklmnopqrstuvwxyz",
            AuthError::UnsupportedDigest,
        ),
        (
            b"#CHALLENGE#0123456789abcdefghijklmnopqrstuvwxyz",
            AuthError::UnsupportedDigest,
        ),
        // Under 20 bytes, as CPython 3.12+ checks first.
        (
            b"#CHALLENGE#{sha384}0123456789",
            AuthError::ChallengeTooShort,
        ),
        (b"#CHALLENGE#", AuthError::ChallengeTooShort),
        (b"#CHALLENGE#{sha256", AuthError::ChallengeTooShort),
    ] {
        let mut client = Handshake::new(Role::Client, &key, counting::<40>(0), true);
        client.receive(msg);
        assert_eq!(client.action(), Action::Done(Err(err)), "{msg:?}");
    }
}

#[test]
fn only_welcome_is_a_welcome() {
    let key = AuthKey::new(b"secret");
    for verdict in [&b"#WELCOME"[..], b"#WELCOME##", b"#FAILURE#", b""] {
        let mut client = Handshake::new(Role::Client, &key, counting::<40>(0), true);
        let mut challenge = b"#CHALLENGE#{sha256}".to_vec();
        challenge.extend(counting::<40>(3));
        client.receive(&challenge);
        send(&mut client);
        client.receive(verdict);
        assert_eq!(
            client.action(),
            Action::Done(Err(AuthError::Rejected)),
            "{verdict:?}"
        );
    }
}

type Outcome = Option<Result<(), AuthError>>;

/// Lets `me` act once: a message it sends goes to `peer`. True if it sent.
fn step(me: &mut Handshake, peer: &mut Handshake, outcome: &mut Outcome) -> bool {
    match me.action() {
        Action::Send(msg) => {
            let msg = msg.to_vec();
            peer.receive(&msg);
            true
        }
        Action::Done(result) => {
            *outcome = Some(result);
            false
        }
        Action::Receive => false,
    }
}

/// Shuttles messages between two handshakes until neither has anything to
/// send; returns each side's outcome (`None`: still waiting to receive).
fn run_pair(server: &mut Handshake, client: &mut Handshake) -> (Outcome, Outcome) {
    let (mut ours, mut theirs) = (None, None);
    for _ in 0..16 {
        // `|`, not `||`: both sides act in every round.
        let sent = step(server, client, &mut ours) | step(client, server, &mut theirs);
        if !sent {
            return (ours, theirs);
        }
    }
    panic!("handshake did not settle");
}

#[test]
fn keys_of_every_length_agree_with_themselves() {
    for len in [0, 1, 63, 64, 65, 131, 1000] {
        let raw: Vec<u8> = (0..len).map(|i| (i * 7 + 3) as u8).collect();
        let key = AuthKey::new(&raw);
        let mut server = Handshake::new(Role::Listener, &key, counting::<40>(0), false);
        let mut client = Handshake::new(Role::Client, &key, counting::<40>(1), false);
        assert_eq!(
            run_pair(&mut server, &mut client),
            (Some(Ok(())), Some(Ok(())))
        );
        // One byte off anywhere is another key.
        if len > 0 {
            let mut other = raw.clone();
            other[len / 2] ^= 1;
            let mut server = Handshake::new(Role::Listener, &key, counting::<40>(0), true);
            let mut client =
                Handshake::new(Role::Client, &AuthKey::new(&other), counting::<40>(1), true);
            assert_eq!(
                run_pair(&mut server, &mut client),
                (
                    Some(Err(AuthError::BadResponse)),
                    Some(Err(AuthError::Rejected))
                )
            );
        }
    }
}

#[test]
fn keys_do_not_show_in_debug_output() {
    let key = AuthKey::new(b"hunter2");
    assert_eq!(format!("{key:?}"), "AuthKey(..)");
    let shake = Handshake::new(Role::Client, &key, [0; 40], true);
    assert!(!format!("{shake:?}").contains("hunter2"));
}

/// CPython 3.12+ refuses a challenge whose nonce is under 20 bytes
/// ("challenge too short"); so does ipcwire, for a legacy (raw) nonce and
/// for one behind a `{digest}` tag alike. A short nonce lets a listener
/// replay or choose what the client MACs. Nothing is sent in answer.
#[test]
fn client_refuses_a_nonce_under_20_bytes() {
    let key = AuthKey::new(b"secret");
    let too_short: [&[u8]; 6] = [
        b"",
        b"{sha256}",
        b"{md5}",
        &[7; 19],
        b"{sha256}0123456789abcdefghi",
        b"{md5}0123456789abcdefghi",
    ];
    for nonce in too_short {
        let mut client = Handshake::new(Role::Client, &key, counting::<40>(0), true);
        expect_receive(&mut client);
        client.receive(&[&b"#CHALLENGE#"[..], nonce].concat());
        assert_eq!(
            client.action(),
            Action::Done(Err(AuthError::ChallengeTooShort)),
            "nonce {nonce:?}"
        );
    }
    // Exactly 20 bytes is enough, raw or tagged.
    let long_enough: [&[u8]; 3] = [
        &[7; 20],
        b"{sha256}0123456789abcdefghij",
        b"{md5}0123456789abcdefghij",
    ];
    for nonce in long_enough {
        let mut client = Handshake::new(Role::Client, &key, counting::<40>(0), true);
        expect_receive(&mut client);
        client.receive(&[&b"#CHALLENGE#"[..], nonce].concat());
        assert!(
            matches!(client.action(), Action::Send(_)),
            "nonce {nonce:?} is answered"
        );
    }
}
