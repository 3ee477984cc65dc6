"""Staff accounts: bcrypt hashes from secrets or environment, verification, throttling, CLI credentials."""

import subprocess
from pathlib import Path

import pytest

from geodata import auth

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def hashed() -> str:
    return auth.hash_password("correct horse battery", rounds=4)


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_hash_and_verify(hashed):
    assert hashed.startswith("$2b$04$")
    assert auth.verify_password("correct horse battery", hashed)
    assert not auth.verify_password("correct horse batterY", hashed)
    assert not auth.verify_password("correct horse battery", None)
    assert not auth.verify_password("correct horse battery", "$2b$pas-un-hachage")


@pytest.mark.parametrize("password", ["court", "x" * 80])
def test_hash_refuses_bad_lengths(password):
    with pytest.raises(auth.AuthenticationError):
        auth.hash_password(password, rounds=4)


def test_parse_accounts(hashed):
    assert auth.parse_accounts(f" alice:{hashed} ; bob:{hashed};") == {"alice": hashed, "bob": hashed}
    assert auth.parse_accounts("") == {}


@pytest.mark.parametrize("text", ["alice", "alice:motdepasse", ":$2b$04$abc"])
def test_parse_accounts_refuses_plain_or_malformed(text):
    with pytest.raises(auth.AuthenticationError, match="CSTI_STAFF_ACCOUNTS"):
        auth.parse_accounts(text)


def test_load_accounts_merges_secrets_and_environment(hashed):
    other = auth.hash_password("autre mot de passe", rounds=4)
    accounts = auth.load_accounts(environ={"CSTI_STAFF_ACCOUNTS": f"bob:{other}"}, secrets={"staff_accounts": {"alice": hashed, "bob": hashed}})
    assert accounts == {"alice": hashed, "bob": other}


def test_load_accounts_refuses_a_plain_password_in_secrets():
    with pytest.raises(auth.AuthenticationError, match="hachage bcrypt"):
        auth.load_accounts(environ={}, secrets={"staff_accounts": {"alice": "motdepasse"}})


def test_allowed_emails():
    got = auth.allowed_emails(environ={"CSTI_STAFF_EMAILS": "A@x.fr; b@y.fr"}, secrets={"staff_emails": ["c@z.fr"]})
    assert got == {"a@x.fr", "b@y.fr", "c@z.fr"}


def test_authenticate_same_message_for_unknown_user_and_wrong_password(hashed):
    accounts = {"alice": hashed}
    assert auth.authenticate(" alice ", "correct horse battery", accounts=accounts) == "alice"
    with pytest.raises(auth.AuthenticationError) as unknown:
        auth.authenticate("mallory", "correct horse battery", accounts=accounts)
    with pytest.raises(auth.AuthenticationError) as wrong:
        auth.authenticate("alice", "faux", accounts=accounts)
    assert str(unknown.value) == str(wrong.value) == "Identifiant ou mot de passe incorrect."


def test_authenticate_without_accounts_says_how_to_configure():
    with pytest.raises(auth.AuthenticationError, match="CSTI_STAFF_ACCOUNTS"):
        auth.authenticate("alice", "x", accounts={})


def test_throttle_grows_then_forgets(hashed):
    clock = Clock()
    throttle = auth.LoginThrottle(free_attempts=3, base_delay=2, clock=clock)
    accounts = {"alice": hashed}
    for _ in range(2):
        with pytest.raises(auth.AuthenticationError, match="incorrect"):
            auth.authenticate("alice", "faux", accounts=accounts, throttle=throttle, client="203.0.113.7")
    assert throttle.wait_time("alice", "203.0.113.7") == 0
    with pytest.raises(auth.AuthenticationError, match="Prochain essai"):
        auth.authenticate("alice", "faux", accounts=accounts, throttle=throttle, client="203.0.113.7")
    assert throttle.wait_time("alice", "203.0.113.7") == pytest.approx(2)
    # Locked: even the right password is refused until the delay has passed.
    with pytest.raises(auth.AuthenticationError, match="Trop d'essais"):
        auth.authenticate("alice", "correct horse battery", accounts=accounts, throttle=throttle, client="203.0.113.7")
    clock.now += 2.5
    with pytest.raises(auth.AuthenticationError):
        auth.authenticate("alice", "faux", accounts=accounts, throttle=throttle, client="203.0.113.7")
    assert throttle.wait_time("alice", "203.0.113.7") == pytest.approx(4)  # doubled
    clock.now += 5
    assert auth.authenticate("alice", "correct horse battery", accounts=accounts, throttle=throttle, client="203.0.113.7") == "alice"
    assert throttle.wait_time("alice", "203.0.113.7") == 0


def test_failures_from_one_client_do_not_lock_the_user_on_another(hashed):
    clock = Clock()
    throttle = auth.LoginThrottle(clock=clock)
    accounts = {"alice": hashed}
    # An attacker who knows the user name keeps failing from one address, for a whole day.
    for _ in range(200):
        clock.now += throttle.wait_time("alice", "198.51.100.9")
        with pytest.raises(auth.AuthenticationError):
            auth.authenticate("alice", "devinette", accounts=accounts, throttle=throttle, client="198.51.100.9")
    assert throttle.wait_time("alice", "198.51.100.9") > 0
    with pytest.raises(auth.AuthenticationError, match="Trop d'essais"):
        auth.authenticate("alice", "correct horse battery", accounts=accounts, throttle=throttle, client="198.51.100.9")
    # Alice, from her own address (never used before), is not slowed down at all.
    assert throttle.wait_time("alice", "203.0.113.7") == 0
    assert auth.authenticate("alice", "correct horse battery", accounts=accounts, throttle=throttle, client="203.0.113.7") == "alice"


def test_one_locked_client_never_slows_the_account():
    clock = Clock()
    throttle = auth.LoginThrottle(clock=clock)
    tries, end = 0, clock.now + 3600
    while True:  # as fast as the pair lockout lets one client go, for an hour
        clock.now += throttle.wait_time("alice", "198.51.100.9")
        if clock.now >= end:
            break
        throttle.failure("alice", "198.51.100.9")
        tries += 1
    assert tries == 14  # the figure the docstring and the README give
    assert 2 * tries <= throttle.account_free_attempts  # two such clients do not trip the account either
    assert throttle.wait_time("alice", "192.0.2.1") == 0


def test_brute_force_cap_holds_across_clients(hashed):
    """A guesser with a fresh address for every try: bounded by the account, not by any pair."""
    clock = Clock()
    throttle = auth.LoginThrottle(clock=clock)
    accounts = {"alice": hashed}
    guesses = refused = 0
    for i in range(20_000):  # one attempt every 0.18 s for an hour, each from a new address
        clock.now += 0.18
        client = f"10.{i // 65536}.{i // 256 % 256}.{i % 256}"
        try:
            auth.authenticate("alice", f"essai {i}", accounts=accounts, throttle=throttle, client=client)
        except auth.AuthenticationError as exc:
            refused += "Trop d'essais" in str(exc)
            guesses += "incorrect" in str(exc)
    hour = throttle.account_free_attempts + throttle.account_window / throttle.account_delay
    assert guesses <= hour + 1  # checked passwords: 30 free, then one per 30 s
    assert refused == 20_000 - guesses
    # Meanwhile the account is slowed down for a new client, but never locked: a short wait, then the login works.
    wait = throttle.wait_time("alice", "192.0.2.1")
    assert 0 < wait <= throttle.account_delay
    clock.now += wait
    assert auth.authenticate("alice", "correct horse battery", accounts=accounts, throttle=throttle, client="192.0.2.1") == "alice"


def test_a_known_client_is_exempt_from_the_account_slowdown(hashed):
    clock = Clock()
    throttle = auth.LoginThrottle(account_free_attempts=5, clock=clock)
    throttle.success("alice", "203.0.113.7")  # Alice's usual computer
    for i in range(10):
        throttle.failure("Alice", f"198.51.100.{i}")
    assert throttle.wait_time("alice", "192.0.2.1") > 0  # a client never used by Alice waits
    assert throttle.wait_time("alice", "203.0.113.7") == 0  # hers does not
    assert throttle.wait_time("bob", "192.0.2.1") == 0  # nor does any other account
    clock.now += throttle.known_for  # a known client is remembered for 30 days after its last login
    for i in range(10):
        throttle.failure("alice", f"198.51.100.{i}")
    assert throttle.wait_time("alice", "203.0.113.7") > 0


@pytest.mark.parametrize(
    ("address", "key"),
    [(None, "local"), ("", "local"), ("192.0.2.1", "192.0.2.1"), ("::ffff:192.0.2.1", "192.0.2.1"),
     ("2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"), ("2001:db8:1:2:bbbb::9", "2001:db8:1:2::/64")],
)
def test_client_key(address, key):
    assert auth.client_key(address) == key


def test_throttle_delay_is_capped():
    clock = Clock()
    throttle = auth.LoginThrottle(free_attempts=1, base_delay=2, max_delay=60, clock=clock)
    for _ in range(30):
        throttle.failure("alice", "192.0.2.1")
    assert throttle.wait_time("alice", "192.0.2.1") == pytest.approx(60)


def test_staff_from_environment(hashed, monkeypatch):
    monkeypatch.setattr(auth.time, "sleep", lambda s: None)
    env = {"CSTI_STAFF_ACCOUNTS": f"alice:{hashed}"}
    with pytest.raises(auth.AuthenticationError, match="CSTI_STAFF_USER"):
        auth.staff_from_environment(environ=env, secrets={})
    with pytest.raises(auth.AuthenticationError, match="Export privé refusé"):
        auth.staff_from_environment(environ={**env, "CSTI_STAFF_USER": "alice", "CSTI_STAFF_PASSWORD": "faux"}, secrets={})
    ok = auth.staff_from_environment(environ={**env, "CSTI_STAFF_USER": "alice", "CSTI_STAFF_PASSWORD": "correct horse battery"}, secrets={})
    assert ok == "alice"


def test_read_secrets_file(tmp_path, hashed):
    path = tmp_path / "secrets.toml"
    path.write_text(f'[staff_accounts]\nalice = "{hashed}"\n', encoding="utf-8")
    assert auth.load_accounts(environ={}, secrets=auth.read_secrets_file(path)) == {"alice": hashed}
    assert auth.read_secrets_file(tmp_path / "absent.toml") == {}
    path.write_text("[staff_accounts\n", encoding="utf-8")
    with pytest.raises(auth.AuthenticationError, match="TOML"):
        auth.read_secrets_file(path)


def test_hash_helper_prints_a_usable_line(monkeypatch, capsys):
    answers = iter(["un mot de passe sûr", "un mot de passe sûr"])
    monkeypatch.setattr(auth.getpass, "getpass", lambda prompt: next(answers))
    monkeypatch.setattr(auth, "hash_password", lambda pw: auth.bcrypt.hashpw(pw.encode(), auth.bcrypt.gensalt(4)).decode())
    assert auth.main(["alice"]) == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("CSTI_STAFF_ACCOUNTS="))
    accounts = auth.parse_accounts(line.split("=", 1)[1].strip("'"))
    assert auth.verify_password("un mot de passe sûr", accounts["alice"])


def test_secrets_file_is_not_committed():
    ignored = subprocess.run(["git", "check-ignore", ".streamlit/secrets.toml"], cwd=ROOT, capture_output=True, text=True)
    assert ignored.returncode == 0, "le fichier des secrets doit être ignoré par git"
