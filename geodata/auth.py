"""Staff accounts: bcrypt password hashes from secrets or the environment, verification and login throttling.

No plain-text password is ever stored: accounts come from ``CSTI_STAFF_ACCOUNTS``
(``"alice:$2b$12$...;bob:$2b$12$..."``) or from the ``[staff_accounts]`` table of
``.streamlit/secrets.toml`` (``alice = "$2b$12$..."``). Hash a password with::

    python -m geodata.auth            # asks for the password twice, prints the hash
"""

from __future__ import annotations

import getpass
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


@dataclass
class LoginThrottle:
    """Growing lockout after failed logins, per key (user + session) and per user across sessions.

    After ``free_attempts`` failures, each further failure locks the key for
    ``base_delay * 2**k`` seconds (capped at ``max_delay``). Failures of one user over all
    sessions are counted too, with a higher threshold, so opening new sessions does not help.
    In-process: a restart clears the counters.
    """

    free_attempts: int = 3
    base_delay: float = 2.0
    max_delay: float = 900.0
    user_free_attempts: int = 10
    clock: Callable[[], float] = time.monotonic
    _failures: dict = field(default_factory=dict)
    _locked_until: dict = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _keys(self, user: str, session: str) -> tuple[tuple, tuple]:
        user = user.strip().lower()
        return ("session", user, session), ("user", user)

    def wait_time(self, user: str, session: str) -> float:
        """Seconds to wait before ``user`` may try again from ``session`` (0 when allowed)."""
        now = self.clock()
        with self._lock:
            return max([0.0] + [self._locked_until.get(k, 0.0) - now for k in self._keys(user, session)])

    def failure(self, user: str, session: str) -> float:
        """Record a failed attempt; return the lockout now in force (seconds)."""
        now = self.clock()
        with self._lock:
            if len(self._failures) > 10_000:  # many guessed names: keep only the keys still locked
                live = {k for k, until in self._locked_until.items() if until > now}
                self._failures = {k: v for k, v in self._failures.items() if k in live}
                self._locked_until = {k: v for k, v in self._locked_until.items() if k in live}
            for key, free in zip(self._keys(user, session), (self.free_attempts, self.user_free_attempts)):
                n = self._failures.get(key, 0) + 1
                self._failures[key] = n
                if n >= free:
                    self._locked_until[key] = now + min(self.max_delay, self.base_delay * 2 ** (n - free))
        return self.wait_time(user, session)

    def success(self, user: str, session: str) -> None:
        """Forget the failures of ``user`` after a successful login."""
        with self._lock:
            for key in self._keys(user, session):
                self._failures.pop(key, None)
                self._locked_until.pop(key, None)


def authenticate(user: str, password: str, *, accounts: Mapping[str, str], throttle: LoginThrottle | None = None, session: str = "") -> str:
    """Check a login; return the user name or raise :class:`AuthenticationError` (same message for user and password).

    Parameters
    ----------
    user, password : str
        What was typed.
    accounts : mapping
        ``{user: bcrypt hash}`` from :func:`load_accounts`.
    throttle : LoginThrottle, optional
        Slows down repeated failures; ``session`` identifies the browser session.
    """
    user = user.strip()
    if throttle is not None:
        wait = throttle.wait_time(user, session)
        if wait > 0:
            raise AuthenticationError(f"Trop d'essais infructueux : réessayez dans {int(wait) + 1} s.")
    if not accounts:
        raise AuthenticationError(
            f"Aucun compte équipe n'est configuré : définissez {ENV_ACCOUNTS} ou la table [staff_accounts] de .streamlit/secrets.toml "
            "(hachages produits par python -m geodata.auth)."
        )
    if verify_password(password, accounts.get(user)):
        if throttle is not None:
            throttle.success(user, session)
        return user
    wait = throttle.failure(user, session) if throttle is not None else 0
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
