"""Staff accounts: bcrypt password hashes from secrets or the environment, verification and login throttling.

No plain-text password is ever stored: accounts come from ``CSTI_STAFF_ACCOUNTS``
(``"alice:$2b$12$...;bob:$2b$12$..."``) or from the ``[staff_accounts]`` table of
``.streamlit/secrets.toml`` (``alice = "$2b$12$..."``). Hash a password with::

    python -m geodata.auth            # asks for the password twice, prints the hash
"""

from __future__ import annotations

import collections
import getpass
import ipaddress
import os
import sys
import threading
import time
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import bcrypt

from geodata.errors import GeodataError

ENV_ACCOUNTS = "CSTI_STAFF_ACCOUNTS"
ENV_USER = "CSTI_STAFF_USER"
ENV_PASSWORD = "CSTI_STAFF_PASSWORD"  # noqa: S105 (name of an environment variable, not a password)
ENV_EMAILS = "CSTI_STAFF_EMAILS"
SECRETS_FILE = Path(".streamlit") / "secrets.toml"
#: Compared against when the user does not exist, so that a wrong user name costs as much as a wrong password.
_DUMMY_HASH = b"$2b$12$3kaflfzmYOAUnWMjkbgg5e.vptJkjvFI5FPOjW2DVrhfzpAyz2qjK"


class AuthenticationError(GeodataError):
    """Login refused: unknown user, wrong password, or too many attempts."""


def hash_password(password: str, *, rounds: int = 12) -> str:
    """Bcrypt hash of ``password`` to paste into ``CSTI_STAFF_ACCOUNTS`` or ``secrets.toml``.

    Parameters
    ----------
    password : str
        The password (at least 8 characters).
    rounds : int
        Bcrypt cost factor (12 by default; tests use 4).
    """
    if len(password) < 8:
        raise AuthenticationError("Mot de passe trop court : choisissez au moins 8 caractères.")
    if len(password.encode()) > 72:
        raise AuthenticationError("Mot de passe trop long pour bcrypt : 72 octets au plus.")
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds)).decode()


def parse_accounts(text: str) -> dict[str, str]:
    """Parse ``"alice:$2b$...;bob:$2b$..."`` into ``{user: hash}`` (bcrypt hashes contain neither ':' nor ';')."""
    accounts = {}
    for i, item in enumerate(p.strip() for p in text.split(";")):
        if not item:
            continue
        user, sep, hashed = item.partition(":")
        user, hashed = user.strip(), hashed.strip()
        if not sep or not user or not hashed.startswith("$2"):
            raise AuthenticationError(
                f"Compte n° {i + 1} de {ENV_ACCOUNTS} illisible ({user or item[:12]!r}) : "
                "attendu « utilisateur:$2b$... » (hachage bcrypt, voir python -m geodata.auth)."
            )
        accounts[user] = hashed
    return accounts


def read_secrets_file(path: Path | str = SECRETS_FILE) -> dict:
    """The Streamlit secrets file as a dict (empty when absent), for the CLI which runs without Streamlit."""
    path = Path(path)
    if not path.exists():
        return {}
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise AuthenticationError(f"Fichier de secrets {str(path)!r} illisible : {exc}. Corrigez sa syntaxe TOML.") from exc


def load_accounts(*, environ: Mapping[str, str] | None = None, secrets: Mapping | None = None) -> dict[str, str]:
    """Staff accounts ``{user: bcrypt hash}`` from the ``[staff_accounts]`` secrets table and ``CSTI_STAFF_ACCOUNTS``.

    The environment wins over the secrets for a user defined in both.
    """
    environ = os.environ if environ is None else environ
    accounts = {}
    table = (secrets or {}).get("staff_accounts") or {}
    for user, hashed in dict(table).items():
        if not str(hashed).startswith("$2"):
            raise AuthenticationError(f"Compte {user!r} de [staff_accounts] : attendu un hachage bcrypt « $2b$... », pas un mot de passe.")
        accounts[str(user)] = str(hashed)
    accounts.update(parse_accounts(environ.get(ENV_ACCOUNTS, "")))
    return accounts


def allowed_emails(*, environ: Mapping[str, str] | None = None, secrets: Mapping | None = None) -> frozenset[str]:
    """E-mails allowed in through OpenID Connect (``staff_emails`` in secrets or ``CSTI_STAFF_EMAILS``, ';'-separated)."""
    environ = os.environ if environ is None else environ
    listed = list((secrets or {}).get("staff_emails") or [])
    listed += [e for e in environ.get(ENV_EMAILS, "").split(";")]
    return frozenset(e.strip().lower() for e in listed if e.strip())


def verify_password(password: str, hashed: str | None) -> bool:
    """True when ``password`` matches the bcrypt ``hashed`` (always spends one bcrypt check, even without a hash)."""
    try:
        ok = bcrypt.checkpw(password.encode()[:72], (hashed or "").encode() or _DUMMY_HASH)
    except ValueError:  # malformed hash
        bcrypt.checkpw(password.encode()[:72], _DUMMY_HASH)
        return False
    return ok and hashed is not None


def client_key(address: str | None) -> str:
    """The client a login attempt comes from: its IP address, an IPv6 address's /64 network, ``"local"`` when unknown.

    One IPv6 subscriber usually holds a whole /64: counting its addresses apart would hand a guesser
    billions of fresh clients. Streamlit reports loopback connections (and a reverse proxy on the
    same machine that sends no ``X-Forwarded-For``) as no address: they all count as one client.
    """
    text = address.strip() if isinstance(address, str) else ""
    if not text:
        return "local"
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        return text[:64]
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


@dataclass
class LoginThrottle:
    """Failed logins slow down then lock the pair (user, client); the account itself only slows down, under a spread attack.

    **Pair.** After ``free_attempts`` failures of one user from one client, each further failure
    locks that pair for ``base_delay * 2**k`` seconds, capped at ``max_delay``: with the defaults a
    guesser on one address gets 14 tries in its first hour, then 4 an hour. The same user on
    another client is not affected, so knowing a staff user name is not enough to keep them out.

    **Account.** The failures of one user from every client are counted over a sliding
    ``account_window``. One client's lockout lets at most 14 an hour through, so more than
    ``account_free_attempts`` (30) means at least three clients are guessing: the account then
    slows down. After each failure, clients where this user has never logged in wait
    ``account_delay`` seconds before the next attempt on that account, whoever makes it. That bounds
    guesses on one account from any number of addresses to ``account_free_attempts +
    account_window / account_delay`` per window (30 + 120 = 150 an hour), a few thousand a day against
    bcrypt-hashed passwords of 8 characters or more. It is a short wait, never a lockout, and a
    client where the user logged in successfully during the last ``known_for`` seconds (30 days) is
    exempt from it: an attack from many addresses cannot keep staff out of the computer they use.

    In-process: a restart clears every counter (and the known clients).
    """

    free_attempts: int = 3
    base_delay: float = 2.0
    max_delay: float = 900.0
    account_free_attempts: int = 30
    account_window: float = 3600.0
    account_delay: float = 30.0
    known_for: float = 30 * 24 * 3600.0
    clock: Callable[[], float] = time.monotonic
    _failures: dict = field(default_factory=dict)
    _locked_until: dict = field(default_factory=dict)
    _account_failures: dict = field(default_factory=dict)
    _account_until: dict = field(default_factory=dict)
    _known: dict = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @staticmethod
    def _pair(user: str, client: str | None) -> tuple[str, str]:
        return user.strip().lower(), client_key(client)

    def _wait(self, user: str, client: str | None, now: float) -> float:
        """Seconds left before ``(user, client)`` may try again; callers hold the lock."""
        pair = self._pair(user, client)
        wait = self._locked_until.get(pair, 0.0) - now
        known_at = self._known.get(pair)
        if known_at is None or now - known_at >= self.known_for:  # not a client this user logged in from lately
            wait = max(wait, self._account_until.get(pair[0], 0.0) - now)
        return max(0.0, wait)

    def wait_time(self, user: str, client: str | None) -> float:
        """Seconds to wait before ``user`` may try again from ``client`` (0 when allowed)."""
        now = self.clock()
        with self._lock:
            return self._wait(user, client, now)

    def failure(self, user: str, client: str | None) -> float:
        """Record a failed attempt of ``user`` from ``client``; return the wait now in force there (seconds)."""
        now = self.clock()
        pair = self._pair(user, client)
        with self._lock:
            if len(self._failures) + len(self._account_failures) > 10_000:
                self._prune(now)
            n = self._failures.get(pair, 0) + 1
            self._failures[pair] = n
            if n >= self.free_attempts:
                self._locked_until[pair] = now + min(self.max_delay, self.base_delay * 2 ** (n - self.free_attempts))
            recent = self._account_failures.setdefault(pair[0], collections.deque(maxlen=self.account_free_attempts + 1))
            recent.append(now)
            if len(recent) > self.account_free_attempts and now - recent[0] < self.account_window:
                self._account_until[pair[0]] = now + self.account_delay
            return self._wait(user, client, now)

    def success(self, user: str, client: str | None) -> None:
        """Forget the failures of ``user`` from ``client`` and remember that client as known for this user.

        The account's count is kept: a login elsewhere does not reopen the account to a spread attack.
        """
        now = self.clock()
        pair = self._pair(user, client)
        with self._lock:
            self._failures.pop(pair, None)
            self._locked_until.pop(pair, None)
            self._known[pair] = now

    def _prune(self, now: float) -> None:
        """Many guessed names or clients: keep only what still has an effect."""
        self._failures = {k: v for k, v in self._failures.items() if self._locked_until.get(k, 0.0) > now}
        self._locked_until = {k: v for k, v in self._locked_until.items() if v > now}
        self._account_failures = {k: v for k, v in self._account_failures.items() if now - v[-1] < self.account_window}
        self._account_until = {k: v for k, v in self._account_until.items() if v > now}
        self._known = {k: v for k, v in self._known.items() if now - v < self.known_for}


def authenticate(user: str, password: str, *, accounts: Mapping[str, str], throttle: LoginThrottle | None = None, client: str | None = None) -> str:
    """Check a login; return the user name or raise :class:`AuthenticationError` (same message for user and password).

    Parameters
    ----------
    user, password : str
        What was typed.
    accounts : mapping
        ``{user: bcrypt hash}`` from :func:`load_accounts`.
    throttle : LoginThrottle, optional
        Slows down repeated failures; ``client`` is the address the attempt comes from (see :func:`client_key`).
    """
    user = user.strip()
    if throttle is not None:
        wait = throttle.wait_time(user, client)
        if wait > 0:
            raise AuthenticationError(f"Trop d'essais infructueux : réessayez dans {int(wait) + 1} s.")
    if not accounts:
        raise AuthenticationError(
            f"Aucun compte équipe n'est configuré : définissez {ENV_ACCOUNTS} ou la table [staff_accounts] de .streamlit/secrets.toml "
            "(hachages produits par python -m geodata.auth)."
        )
    if verify_password(password, accounts.get(user)):
        if throttle is not None:
            throttle.success(user, client)
        return user
    wait = throttle.failure(user, client) if throttle is not None else 0
    more = f" Prochain essai possible dans {int(wait) + 1} s." if wait > 0 else ""
    raise AuthenticationError("Identifiant ou mot de passe incorrect." + more)


def staff_from_environment(*, environ: Mapping[str, str] | None = None, secrets: Mapping | None = None) -> str:
    """The staff user named by ``CSTI_STAFF_USER`` + ``CSTI_STAFF_PASSWORD``, verified (for the CLI's private exports)."""
    environ = os.environ if environ is None else environ
    user, password = environ.get(ENV_USER, ""), environ.get(ENV_PASSWORD, "")
    if not user or not password:
        raise AuthenticationError(
            f"Export privé refusé : il contient des données personnelles et demande un compte équipe. "
            f"Définissez {ENV_USER} et {ENV_PASSWORD} (compte déclaré dans {ENV_ACCOUNTS} ou .streamlit/secrets.toml)."
        )
    secrets = read_secrets_file() if secrets is None else secrets
    try:
        return authenticate(user, password, accounts=load_accounts(environ=environ, secrets=secrets))
    except AuthenticationError as exc:
        time.sleep(1)  # a scripted guesser gets one try per second at most
        raise AuthenticationError(f"Export privé refusé : {exc}") from exc


def main(argv: list[str] | None = None) -> int:
    """Ask for a password twice and print its bcrypt hash and a ready-to-paste account line."""
    argv = sys.argv[1:] if argv is None else argv
    user = argv[0] if argv else input("Identifiant : ").strip()
    first = getpass.getpass("Mot de passe : ")
    if getpass.getpass("Mot de passe (confirmation) : ") != first:
        print("Les deux saisies diffèrent.", file=sys.stderr)
        return 1
    try:
        hashed = hash_password(first)
    except AuthenticationError as exc:
        print(f"Erreur : {exc}", file=sys.stderr)
        return 1
    print(hashed)
    print(f"\n{ENV_ACCOUNTS}='{user}:{hashed}'")
    print(f'ou dans .streamlit/secrets.toml :\n[staff_accounts]\n{user} = "{hashed}"')
    return 0


if __name__ == "__main__":
    sys.exit(main())
