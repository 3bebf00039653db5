"""An HTTP session for one DC/OS cluster: Admin Router auth, TLS verification, retries, errors.

- Auth: a static ACS token, or login with uid + password, or uid + a service account's private key
  (an RS256 JWT signed locally, as the DC/OS CLI does). A 401 triggers one fresh login and a retry.
- TLS verification is on by default, against the given CA bundle or the system store; it is off
  only when the connection explicitly says ``verify: false``.
- Idempotent calls (GET, PUT, DELETE) are retried with backoff on 5xx and connection errors, using
  urllib3's Retry; POST is never retried blindly (callers re-read instead).
- Failures raise :class:`DcosApiError` carrying the service's own message and details.
- One session per connection per process (:func:`shared_session`): providers reuse its logins and
  HTTP connections across calls, and a CA bundle is written to one file per process, removed at exit.
"""

from __future__ import annotations

import atexit
import hashlib
import os
import tempfile
import threading
import time
from dataclasses import dataclass, fields, replace
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from kexpose_components.errors import KexposeError

IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
SECRET_FIELDS = ("token", "password", "private_key")
#: Credentials a CI job (or an operator) gives through the environment instead of the stack:
#: they override the stack's, so pull-request previews run as a read-only identity and `up` as
#: its own, and neither lands in the stack file or the state.
ENV_CREDENTIALS = {"uid": "KEXPOSE_DCOS_UID", "password": "KEXPOSE_DCOS_PASSWORD", "token": "KEXPOSE_DCOS_TOKEN",
                   "private_key": "KEXPOSE_DCOS_PRIVATE_KEY"}


class DcosApiError(KexposeError):
    """A DC/OS API answered with an error (or could not be reached)."""

    def __init__(self, method: str, url: str, status: int | None, message: str, details: Any = None):
        self.method, self.url, self.status, self.message, self.details = method, url, status, message, details
        super().__init__(self._render())

    def _render(self) -> str:
        where = f"{self.method} {self.url}"
        if self.status is None:
            return f"{where} failed: {self.message}"
        text = f"{where} answered {self.status}: {self.message}"
        if isinstance(self.details, list):
            parts = [f"{d.get('path', '/')}: {'; '.join(map(str, d.get('errors', [])))}" for d in self.details if isinstance(d, dict)]
            text += " (" + ", ".join(parts) + ")" if parts else ""
        elif self.details:
            text += f" ({self.details})"
        return text


@dataclass(frozen=True)
class DcosConnection:
    """How to reach and authenticate to one cluster. Token, password and private key are
    secrets: they never appear in ``repr`` (and kexpose passes them as Pulumi secrets)."""

    url: str
    token: str | None = None
    uid: str | None = None
    password: str | None = None
    private_key: str | None = None
    ca_bundle: str | None = None  # PEM text of the CA(s) that sign Admin Router's certificate
    verify: bool = True
    marathon_path: str = "/service/marathon"
    edgelb_path: str = "/service/edgelb"
    timeout: float = 30.0
    retries: int = 4
    backoff: float = 0.25

    def __repr__(self) -> str:
        shown = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in SECRET_FIELDS}
        hidden = [f for f in SECRET_FIELDS if getattr(self, f)]
        return f"DcosConnection({shown}, secrets={hidden})"

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DcosConnection:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known and v is not None})

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) is not None}

    def with_environment(self, environ: dict[str, str]) -> DcosConnection:
        """This connection with the credentials ``KEXPOSE_DCOS_*`` give (all of the stack's
        secrets are dropped when any is given, so two identities never mix)."""
        given = {field: environ[name] for field, name in ENV_CREDENTIALS.items() if environ.get(name)}
        if not set(given) & set(SECRET_FIELDS):
            return self
        return replace(self, **{"token": None, "password": None, "private_key": None, **given})

    @property
    def auth_mode(self) -> str:
        if self.token:
            return "token"
        if self.uid and self.password:
            return "password"
        if self.uid and self.private_key:
            return "service-account"
        return "none"


_TOKENS: dict[tuple[str, str | None], str] = {}  # (url, uid) -> token, shared within a process
_TOKENS_LOCK = threading.Lock()
_LOGIN_LOCKS: dict[tuple[str, str | None], threading.Lock] = {}


class _CaFiles:
    """One file per CA bundle per process: requests verifies against a path, and a provider host
    serves many calls; the files are removed when the process exits."""

    def __init__(self) -> None:
        self._paths: dict[str, str] = {}  # sha256 of the bundle -> its file
        self._lock = threading.Lock()
        atexit.register(self.remove_all)

    def path(self, bundle: str) -> str:
        key = hashlib.sha256(bundle.encode()).hexdigest()
        with self._lock:
            if key not in self._paths:
                fd, path = tempfile.mkstemp(prefix="kexpose-ca-", suffix=".pem")
                with os.fdopen(fd, "w") as fh:
                    fh.write(bundle)
                self._paths[key] = path
            return self._paths[key]

    def remove_all(self) -> None:
        with self._lock:
            for path in self._paths.values():
                try:
                    os.unlink(path)
                except FileNotFoundError:
                    pass
            self._paths.clear()


CA_FILES = _CaFiles()


class DcosSession:
    """Requests to one cluster. Safe to share between threads: each thread gets its own
    ``requests.Session`` (which is not thread-safe), while logins and the CA file are shared."""

    def __init__(self, connection: DcosConnection):
        self.connection = connection.with_environment(dict(os.environ))
        # Passed on every request: requests lets REQUESTS_CA_BUNDLE/CURL_CA_BUNDLE override
        # Session.verify, which would silently swap the cluster's CA for the system bundle.
        self.verify = self._verify_setting()
        self._local = threading.local()
        self._opened: list[requests.Session] = []
        self._lock = threading.Lock()

    def _verify_setting(self) -> bool | str:
        if not self.connection.verify:
            return False
        if not self.connection.ca_bundle:
            return True
        return CA_FILES.path(self.connection.ca_bundle)

    @property
    def http(self) -> requests.Session:
        """This thread's HTTP session, with retries on idempotent calls."""
        http = getattr(self._local, "http", None)
        if http is None:
            c = self.connection
            retry = Retry(
                total=c.retries, connect=c.retries, read=c.retries, status=c.retries,
                backoff_factor=c.backoff, status_forcelist=(500, 502, 503, 504),
                allowed_methods=IDEMPOTENT, raise_on_status=False, respect_retry_after_header=True,
            )
            http = requests.Session()
            adapter = HTTPAdapter(max_retries=retry)
            http.mount("http://", adapter)
            http.mount("https://", adapter)
            self._local.http = http
            with self._lock:
                self._opened.append(http)
        return http

    def close(self) -> None:
        """Close the HTTP connections of every thread (a later request opens new ones)."""
        with self._lock:
            opened, self._opened = self._opened, []
        for http in opened:
            http.close()
        self._local = threading.local()

    def __enter__(self) -> DcosSession:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- auth -------------------------------------------------------------------------------------
    def _token(self, fresh: bool = False) -> str | None:
        c = self.connection
        if c.auth_mode == "token":
            return c.token
        if c.auth_mode == "none":
            return None
        key = (c.url, c.uid)
        with _TOKENS_LOCK:
            known = _TOKENS.get(key)
            if known and not fresh:
                return known
            lock = _LOGIN_LOCKS.setdefault(key, threading.Lock())
        with lock:  # the calls that start at once (one per resource) log in once, not each
            with _TOKENS_LOCK:
                if _TOKENS.get(key) not in (None, known):
                    return _TOKENS[key]  # another thread logged in meanwhile
            token = self._login()
            with _TOKENS_LOCK:
                _TOKENS[key] = token
            return token

    def _login(self) -> str:
        c = self.connection
        body: dict[str, Any] = {"uid": c.uid}
        if c.auth_mode == "password":
            body["password"] = c.password
        else:
            import jwt  # here, not at the top: only service-account logins sign, and PyJWT costs ~30 ms per process

            try:
                body["token"] = jwt.encode({"uid": c.uid, "exp": int(time.time()) + 300}, c.private_key, algorithm="RS256")
            except (ValueError, TypeError, jwt.PyJWTError) as exc:
                raise DcosApiError("POST", self._url("/acs/api/v1/auth/login"), None,
                                   f"the service account private key for uid {c.uid!r} is not a usable RSA key ({type(exc).__name__})") from None
        url = self._url("/acs/api/v1/auth/login")
        response = self._send("POST", url, json=body)
        if response.status_code != 200:
            raise self._error("POST", url, response)
        return response.json()["token"]

    # -- requests ---------------------------------------------------------------------------------
    def _url(self, path: str) -> str:
        return self.connection.url.rstrip("/") + path

    def _send(self, method: str, url: str, **kwargs) -> requests.Response:
        try:
            return self.http.request(method, url, timeout=self.connection.timeout, verify=self.verify, **kwargs)
        except requests.exceptions.SSLError as exc:
            raise DcosApiError(method, url, None, f"TLS verification failed ({exc.__class__.__name__}); "
                               "give the cluster's CA bundle, or set verify: false to skip it explicitly") from None
        except requests.exceptions.RequestException as exc:
            reason = str(getattr(exc, "args", [exc])[0]) if exc.args else type(exc).__name__
            raise DcosApiError(method, url, None, f"cannot reach the cluster: {reason}") from None

    def request(self, method: str, path: str, *, expect: tuple[int, ...] = (200,), **kwargs) -> requests.Response:
        """Send a request; answers outside ``expect`` raise DcosApiError."""
        url = self._url(path)
        headers = dict(kwargs.pop("headers", {}) or {})
        token = self._token()
        if token:
            headers["Authorization"] = f"token={token}"
        response = self._send(method, url, headers=headers, **kwargs)
        if response.status_code == 401 and self.connection.auth_mode in ("password", "service-account"):
            headers["Authorization"] = f"token={self._token(fresh=True)}"
            response = self._send(method, url, headers=headers, **kwargs)
        if response.status_code not in expect:
            raise self._error(method, url, response)
        return response

    @staticmethod
    def _error(method: str, url: str, response: requests.Response) -> DcosApiError:
        message, details = response.reason or "error", None
        if "json" in response.headers.get("Content-Type", ""):
            try:
                body = response.json()
            except ValueError:
                body = None
            if isinstance(body, dict):
                message = body.get("message") or body.get("description") or body.get("title") or message
                details = body.get("details") or (body.get("deployments") and {"deployments": body["deployments"]})
        elif response.status_code == 401:
            message = "unauthorized: the token is missing, expired or invalid"
        elif response.status_code == 403:
            message = "forbidden: this uid may not use this service"
        elif response.text and len(response.text) < 200:
            message = response.text.strip()
        return DcosApiError(method, url, response.status_code, message, details)


_SESSIONS: dict[DcosConnection, DcosSession] = {}
_SESSIONS_LOCK = threading.Lock()


def shared_session(connection: DcosConnection) -> DcosSession:
    """The process's session for ``connection``: a provider host runs many calls at once
    against the same cluster, and each would otherwise log in and connect again."""
    with _SESSIONS_LOCK:
        session = _SESSIONS.get(connection)
        if session is None:
            session = _SESSIONS[connection] = DcosSession(connection)
        return session


@atexit.register
def _close_shared_sessions() -> None:
    with _SESSIONS_LOCK:
        sessions = list(_SESSIONS.values())
        _SESSIONS.clear()
    for session in sessions:
        session.close()
