"""A sample ISV server: the seller's side of the ISV interface, version 2, in one file.

Sellers: read this file next to ``protocol.py`` and copy what you need. It shows every rule of the
interface on the receiving side:

* **Produce calls** (``POST /produce?signature=&timestamp=&nonce=``): check the signature, the clock
  and the nonce, then make, renew, freeze, release or describe an instance. A repeated
  ``newInstance`` for the same ``orderId`` + ``orderLineId`` answers the instance already made.
* **License auto-deployment** (``POST /deploy``, signed like produce calls): ``deploy`` and
  ``queryDeployment``.
* **Sync calls for joint-operation SaaS** (``POST /produceAPI/v2/{call}`` with ``x-timestamp``,
  ``x-nonce`` and ``x-sign`` headers): tenants, the application's client id and secret (the secret
  arrives encrypted with our RSA public key), user authorisations and organisations.
* **Single sign-on callback** (``GET /oauth/callback?code=&state=&tenant=``): the page the platform
  redirects a signed-in user to. The app redeems the code at the platform's token endpoint with its
  client id and secret (from applicationSync, or given at start) and reads the user's details.
* ``GET /health`` answers ``ok``; ``GET /app/{instanceId}`` and ``GET /admin/{instanceId}`` are tiny
  pages standing in for the seller's real application (the ``frontEndUrl`` and ``adminUrl``).

Everything lives in memory behind one lock, so the server forgets its instances when it stops. A
real seller keeps them in a database and makes ``newInstance`` idempotent there (a unique key on
the order line), because the platform retries calls whose answer it did not get.

For the marketplace's own tests and demo the server can also misbehave on purpose
(``SampleISV.behaviour``: refuse connections, hang, answer HTTP 500, answer something that is not
JSON, keep answering "still processing", hand out a new instance id on a repeat, or answer any
result code), counts what it received and lets tests read its state.

Standard library and ``cryptography`` only, no Django. Run it on its own with
``python sample_isv.py --port 8765`` (``protocol.py`` next to it), or inside the project with
``python manage.py run_sample_isv``, or from tests::

    isv = start_sample_isv(access_key="...")      # port 0: a free port is picked
    requests.post(protocol.signed_produce_url(isv.produce_url, "...", body), data=body)
    isv.behaviour = "error500"
    isv.stop()
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import html
import json
import os
import secrets
import socket
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

try:  # inside the marketplace project
    from . import protocol
except ImportError:  # copied next to protocol.py into a seller's own project, or run as a script
    import protocol  # type: ignore[no-redef]

# The access key of the demo seller (``manage.py seed_demo``); a real seller pastes the key shown in
# the seller center (app tools > key management) instead.
DEMO_ACCESS_KEY = "demo-produce-access-key-2026"

# Beijing time, the zone of every date-time on the wire (``yyyyMMddHHmmss``).
BEIJING = timezone(timedelta(hours=8), "Asia/Shanghai")

MAX_BODY_BYTES = 1024 * 1024  # refuse larger bodies (HTTP 413) rather than reading them into memory
MAX_QUERY_IDS = 100  # queryInstance: at most this many instance ids per call
MAX_SYNC_USERS = 500  # authSync: at most this many users per call
MAX_KEPT = 10_000  # received requests, sync calls and SSO callbacks kept for reading back

# --- what the platform may send -------------------------------------------------------------------

# Allowed values of the enumerated fields of produce calls; anything else is "000002".
ENUMERATIONS = {
    "newInstance": {"chargingMode": {"PERIOD", "ONE_TIME", "ON_DEMAND"}},
    "refreshInstance": {"scene": {"TRIAL_TO_FORMAL", "RENEWAL", "UNSUBSCRIBE_RENEWAL_PERIOD"}},
    "updateInstanceStatus": {"status": {"FREEZE", "UNFREEZE"}},
    "releaseInstance": {"scene": {"EXPIRED", "REFUNDED", "UNSUBSCRIBED"}},
}

DEPLOY_ACTIVITIES = ("deploy", "queryDeployment")
DEPLOY_REQUIRED_FIELDS = {
    "deploy": ("deploymentId", "orderId", "orderLineId", "productId", "skuCode"),
    "queryDeployment": ("deploymentId",),
}

SYNC_CALLS = ("tenantSync", "applicationSync", "authSync", "singleOrgSync", "allOrgSync")
# The fields this server needs to act on a sync call. The platform also sends testFlag and timeStamp;
# they are recorded but not required here.
SYNC_REQUIRED_FIELDS = {
    "tenantSync": ("instanceId", "tenantId", "flag"),
    "applicationSync": ("instanceId", "tenantId", "appId", "flag"),
    "authSync": ("instanceId", "tenantId", "appId", "userList", "flag"),
    "singleOrgSync": ("instanceId", "tenantId", "orgCode", "flag"),
    "allOrgSync": ("instanceId", "tenantId", "orgInfoList"),
}
# flag: 0 delete, 1 add, 2 modify; authSync also 3 revoke.
SYNC_FLAGS = {
    "tenantSync": {"0", "1", "2"},
    "applicationSync": {"0", "1", "2"},
    "authSync": {"0", "1", "2", "3"},
    "singleOrgSync": {"0", "1", "2"},
}

# --- fault injection (for the platform's tests) ---------------------------------------------------

#: Behaviours other than a bare result code. See ``SampleISV.behaviour``.
BEHAVIOURS = ("normal", "refuse", "hang", "error500", "bad_json", "processing", "new_id_on_repeat", "deploy_failed")
# Behaviours that only make sense for some activities; the others apply to every platform call.
_BEHAVIOUR_ACTIVITIES = {
    "processing": {"newInstance", "deploy"},
    "new_id_on_repeat": {"newInstance"},
    "deploy_failed": {"deploy"},
}


def beijing_now() -> str:
    """The current time as the wire writes it: ``yyyyMMddHHmmss`` in Beijing time."""
    return datetime.now(BEIJING).strftime("%Y%m%d%H%M%S")


def _log_time() -> str:
    """A readable time for log lines: ``2026-01-31 09:30:00`` (Beijing time)."""
    return datetime.now(BEIJING).strftime("%Y-%m-%d %H:%M:%S")


def _is_result_code(value: str) -> bool:
    return isinstance(value, str) and len(value) == 6 and value.isdigit()


def _missing(payload: dict, required: Iterable[str]) -> list[str]:
    """Required fields that are absent or null. Empty strings count as present (e.g. no expiry)."""
    return [name for name in required if payload.get(name) is None]


# --- state ----------------------------------------------------------------------------------------


@dataclass
class Instance:
    """One instance the seller made for one order line."""

    instance_id: str
    order_id: str
    order_line_id: str
    product_id: str
    sku_code: str
    customer_id: str
    customer_name: str
    charging_mode: str
    expire_time: str
    trial_flag: str
    test_flag: str
    user_name: str  # the buyer's first account in the seller's app: kept in clear in memory,
    password: str  # sent only encrypted (encrypt_credential) in appInfo
    extend_params: list = field(default_factory=list)
    status: str = "active"  # active | frozen | released
    pending_rounds: int = 0  # "processing": how many more answers say "000004" before it is ready
    history: list[str] = field(default_factory=list)  # what happened to it, one line per call
    created_at: str = field(default_factory=beijing_now)

    @property
    def ready(self) -> bool:
        return self.pending_rounds == 0


@dataclass
class Deployment:
    """A License auto-deployment the platform asked for."""

    deployment_id: str
    order_id: str
    order_line_id: str
    product_id: str
    sku_code: str
    parameters: dict
    test_flag: str
    status: str = "running"  # running | succeeded | failed
    log_lines: list[str] = field(default_factory=list)
    pending_rounds: int = 0  # "processing": how many more answers say "running"
    final_status: str = "succeeded"  # what it becomes when the rounds are used up

    @property
    def log(self) -> str:
        return "\n".join(self.log_lines)


@dataclass
class SyncCall:
    """A sync call that passed authentication, with what we answered."""

    call: str
    payload: dict
    result_code: str
    client_secret: str | None = None  # applicationSync: the decrypted clientSecret
    received_at: str = field(default_factory=beijing_now)


@dataclass
class OAuthCallback:
    """One arrival at /oauth/callback."""

    code: str
    state: str
    tenant: str
    query: dict
    exchange_result: object = None  # what SampleISV.exchange_code returned, if it is set
    received_at: str = field(default_factory=beijing_now)


@dataclass
class ReceivedRequest:
    """Any HTTP request the server received, and how it answered."""

    method: str
    path: str
    query: dict
    headers: dict
    body: bytes
    activity: str  # produce/deploy activity, sync call name, "health", "oauthCallback", "page" ...
    behaviour: str = "normal"  # the fault applied to it, if any
    http_status: int | None = None  # None: no answer (refused or the server stopped while hanging)
    result_code: str = ""
    received_at: float = field(default_factory=time.time)

    @property
    def payload(self) -> dict | None:
        try:
            return json.loads(self.body)
        except ValueError:
            return None


@dataclass
class Response:
    """What the HTTP layer should send back."""

    status: int = 200
    body: bytes = b""
    content_type: str = "application/json; charset=utf-8"
    drop_connection: bool = False  # close the connection without answering at all
    result_code: str = ""

    @classmethod
    def json(cls, payload: dict, status: int = 200) -> Response:
        return cls(
            status=status,
            body=json.dumps(payload, ensure_ascii=False).encode("utf-8"),
            result_code=str(payload.get("resultCode", "")),
        )

    @classmethod
    def result(cls, code: str, message: str = "", **extra) -> Response:
        """The protocol's answer: always HTTP 200, the outcome is in resultCode."""
        return cls.json({"resultCode": code, "resultMsg": message or protocol.RESULT_CODES.get(code, ""), **extra})

    @classmethod
    def text(cls, text: str, status: int = 200, content_type: str = "text/plain; charset=utf-8") -> Response:
        return cls(status=status, body=text.encode("utf-8"), content_type=content_type)


class ProtocolError(Exception):
    """A call the protocol says to refuse, with its result code."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


# --- the server -----------------------------------------------------------------------------------


class SampleISV:
    """A seller's server for the ISV interface, state in memory.

    ``access_key`` is the produce access key from the seller center; assign a new one at any time to
    follow a key rotation (the platform signs with the new key only). ``private_key`` is the RSA key
    whose public half (``public_key_pem``) the seller uploads so the platform can encrypt
    applicationSync's clientSecret; a new RSA-3072 key is generated when none is given.
    ``public_url`` is where buyers reach this server (links in appInfo), if not its local address.
    """

    def __init__(
        self,
        access_key: str = DEMO_ACCESS_KEY,
        *,
        private_key: rsa.RSAPrivateKey | str | bytes | None = None,
        public_url: str = "",
        processing_rounds: int = 1,
        hang_seconds: float = 15.0,
        oauth_client: tuple[str, str] | None = None,
        platform_url: str = "",
        verbose: bool = False,
        log: Callable[[str], object] | None = None,
    ):
        self.access_key = access_key
        if private_key is None:
            # RSA-3072 at least: the platform refuses smaller keys.
            private_key = rsa.generate_private_key(public_exponent=65537, key_size=3072)
        elif isinstance(private_key, str | bytes):
            pem = private_key.encode() if isinstance(private_key, str) else private_key
            private_key = serialization.load_pem_private_key(pem, password=None)
        self.private_key = private_key
        self.public_key_pem = (
            private_key.public_key()
            .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
            .decode()
        )
        self.public_url = public_url.rstrip("/")
        self.processing_rounds = processing_rounds  # "processing": how many "000004" answers per instance
        self.hang_seconds = hang_seconds  # "hang": how long to sleep before answering
        self.verbose = verbose
        self.log = log or (lambda line: print(line, file=sys.stderr))
        # Single sign-on hook: set to a callable(code, state, tenant) that exchanges the code at the
        # platform's POST /api/v1/oauth2/token and returns what to show; None shows the code arrived.
        self.exchange_code: Callable[[str, str, str], object] | None = None
        # The app's client id and secret, when known before any applicationSync (the demo), and the
        # platform's base URL when no tenantSync said it (domainName).
        self.oauth_client = oauth_client
        self.platform_url = platform_url.rstrip("/")

        self._lock = threading.RLock()
        self._stopping = threading.Event()  # wakes "hang" sleepers when the server stops
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None  # the background thread of start()
        self._serving: int | None = None  # the thread running serve_forever, if any
        self._host = "127.0.0.1"
        self._port = 0
        self._reset_state()

    def _reset_state(self) -> None:
        with self._lock:
            self._nonces = protocol.NonceCache()
            self._instances: dict[str, Instance] = {}
            self._lines: dict[tuple[str, str], str] = {}  # (orderId, orderLineId) -> instanceId
            self._deployments: dict[str, Deployment] = {}
            self._tenants: dict[str, dict] = {}  # tenantId -> last tenantSync body
            self._applications: dict[tuple[str, str], dict] = {}  # (tenantId, appId) -> clientId, clientSecret
            self._authorizations: dict[tuple[str, str, str], dict] = {}  # (tenantId, appId, userName) -> user
            self._organizations: dict[tuple[str, str], dict] = {}  # (tenantId, orgCode) -> org
            # Bounded, so that a demo server running for days does not grow without end.
            self._sync_calls: deque[SyncCall] = deque(maxlen=MAX_KEPT)
            self._oauth_callbacks: deque[OAuthCallback] = deque(maxlen=MAX_KEPT)
            self._received: deque[ReceivedRequest] = deque(maxlen=MAX_KEPT)
            self._counts: Counter[str] = Counter()
            self._behaviour = "normal"
            self._behaviour_times: int | None = None
            self._behaviour_activities: frozenset[str] | None = None

    # --- fault injection ----------------------------------------------------------------------

    @property
    def behaviour(self) -> str:
        """How the server answers calls from the platform (not /health, /oauth/callback or pages):

        * ``"normal"``: by the protocol.
        * ``"refuse"``: read the request, then close the connection without answering.
        * ``"hang"``: sleep ``hang_seconds`` (longer than the caller's timeout), then carry on
          normally, as a slow seller would: the work gets done, the caller has given up.
        * ``"error500"``: answer HTTP 500 with a text body.
        * ``"bad_json"``: answer HTTP 200 with a body that is not JSON.
        * ``"processing"``: a new instance (newInstance) or deployment (deploy) is made but not ready:
          it answers "000004" (deployments: status "running") ``processing_rounds`` times in all,
          whichever call asks (newInstance repeated, queryInstance, queryDeployment), then it is
          ready and queryInstance returns it. It stays so even if the behaviour changes meanwhile.
        * ``"new_id_on_repeat"``: a repeated newInstance makes a second instance with a new id (the
          protocol error the platform must record as a seller error).
        * ``"deploy_failed"``: deploy answers status "failed".
        * a result code such as ``"000100"``: answer it, doing nothing.

        Assigning resets ``set_behaviour``'s ``times`` and ``activities``.
        """
        with self._lock:
            return self._behaviour

    @behaviour.setter
    def behaviour(self, value: str) -> None:
        self.set_behaviour(value)

    def set_behaviour(self, behaviour: str, *, times: int | None = None, activities: Iterable[str] | None = None):
        """Misbehave as ``behaviour`` says, for the next ``times`` matching calls (None: until changed),
        only for calls whose activity (or sync call name) is in ``activities`` (None: all)."""
        if behaviour not in BEHAVIOURS and not _is_result_code(behaviour):
            raise ValueError(f"unknown behaviour {behaviour!r}; use one of {BEHAVIOURS} or a result code")
        with self._lock:
            self._behaviour = behaviour
            self._behaviour_times = times
            self._behaviour_activities = frozenset(activities) if activities is not None else None

    def _take_behaviour(self, activity: str) -> str:
        """The behaviour for this call, counting it against ``times``."""
        with self._lock:
            behaviour = self._behaviour
            if behaviour == "normal":
                return "normal"
            if self._behaviour_activities is not None and activity not in self._behaviour_activities:
                return "normal"
            if behaviour in _BEHAVIOUR_ACTIVITIES and activity not in _BEHAVIOUR_ACTIVITIES[behaviour]:
                return "normal"
            if self._behaviour_times is not None:
                self._behaviour_times -= 1
                if self._behaviour_times <= 0:
                    self._behaviour, self._behaviour_times, self._behaviour_activities = "normal", None, None
            return behaviour

    def _fault_response(self, behaviour: str) -> Response | None:
        """The answer a transport-level fault or a forced result code gives; None: carry on."""
        if behaviour == "refuse":
            return Response(drop_connection=True)
        if behaviour == "hang":
            # Event.wait instead of time.sleep so that stop() releases hanging requests at once.
            if self._stopping.wait(self.hang_seconds):
                return Response(drop_connection=True)
            return None
        if behaviour == "error500":
            return Response.text("Internal Server Error (sample ISV: behaviour error500)", status=500)
        if behaviour == "bad_json":
            return Response(body=b"<html><body>Service temporarily unavailable</body></html>")
        if _is_result_code(behaviour):
            return Response.result(behaviour, protocol.RESULT_CODES.get(behaviour, "simulated failure"))
        return None

    # --- reading the state (for tests and the demo) -------------------------------------------

    def reset(self) -> None:
        """Forget everything received and made, and behave normally again. Keys stay."""
        self._reset_state()

    @property
    def instances(self) -> list[Instance]:
        """Copies of every instance, oldest first (released ones included)."""
        with self._lock:
            return [copy.deepcopy(i) for i in self._instances.values()]

    def instance(self, instance_id: str) -> Instance | None:
        with self._lock:
            found = self._instances.get(instance_id)
            return copy.deepcopy(found) if found else None

    def instance_for_line(self, order_id: str, order_line_id: str) -> Instance | None:
        """The instance that answers newInstance for this order line (the latest one, if several)."""
        with self._lock:
            instance_id = self._lines.get((str(order_id), str(order_line_id)))
            return copy.deepcopy(self._instances[instance_id]) if instance_id else None

    @property
    def deployments(self) -> list[Deployment]:
        with self._lock:
            return [copy.deepcopy(d) for d in self._deployments.values()]

    def deployment(self, deployment_id: str) -> Deployment | None:
        with self._lock:
            found = self._deployments.get(deployment_id)
            return copy.deepcopy(found) if found else None

    @property
    def sync_calls(self) -> list[SyncCall]:
        with self._lock:
            return copy.deepcopy(list(self._sync_calls))

    @property
    def tenants(self) -> dict[str, dict]:
        with self._lock:
            return copy.deepcopy(self._tenants)

    @property
    def applications(self) -> dict[tuple[str, str], dict]:
        """(tenantId, appId) -> {"clientId", "clientSecret" (decrypted), ...}."""
        with self._lock:
            return copy.deepcopy(self._applications)

    @property
    def authorizations(self) -> dict[tuple[str, str, str], dict]:
        """(tenantId, appId, userName) -> the user as authSync sent it."""
        with self._lock:
            return copy.deepcopy(self._authorizations)

    @property
    def organizations(self) -> dict[tuple[str, str], dict]:
        with self._lock:
            return copy.deepcopy(self._organizations)

    @property
    def oauth_callbacks(self) -> list[OAuthCallback]:
        with self._lock:
            return copy.deepcopy(list(self._oauth_callbacks))

    @property
    def received(self) -> list[ReceivedRequest]:
        """Every request, in arrival order (the body is kept as bytes; ``.payload`` parses it)."""
        with self._lock:
            return copy.deepcopy(list(self._received))

    def received_for(self, activity: str) -> list[ReceivedRequest]:
        return [r for r in self.received if r.activity == activity]

    @property
    def counts(self) -> dict[str, int]:
        """Requests received per activity (faulted and refused ones included)."""
        with self._lock:
            return dict(self._counts)

    def count(self, activity: str) -> int:
        with self._lock:
            return self._counts[activity]

    # --- running ------------------------------------------------------------------------------

    def bind(self, host: str = "127.0.0.1", port: int = 0) -> SampleISV:
        """Open the listening socket (port 0: any free port) without serving yet."""
        if self._server is not None:
            raise RuntimeError("the sample ISV is already bound")
        self._stopping.clear()
        self._server = _Server((host, port), _Handler)
        self._server.isv = self
        self._host = "127.0.0.1" if host in ("", "0.0.0.0") else host  # noqa: S104 - a URL for this machine
        self._port = self._server.server_address[1]
        return self

    def serve_forever(self) -> None:
        """Serve in this thread until stop() (from another thread) or KeyboardInterrupt."""
        if self._server is None:
            self.bind()
        self._serving = threading.get_ident()
        try:
            self._server.serve_forever(poll_interval=0.05)  # short poll: stop() returns quickly
        finally:
            self._serving = None

    def start(self, host: str = "127.0.0.1", port: int = 0) -> SampleISV:
        """Serve in a background daemon thread; returns self, whose ``url`` is now set."""
        self.bind(host, port)
        self._thread = threading.Thread(target=self.serve_forever, name=f"sample-isv-{self._port}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket. Requests still hanging are dropped. Safe to repeat."""
        self._stopping.set()
        server, self._server = self._server, None
        if server is None:
            return
        if self._thread is not None or self._serving not in (None, threading.get_ident()):
            server.shutdown()  # waits for serve_forever to return
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        server.server_close()

    def __enter__(self) -> SampleISV:
        if self._server is None:
            self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def port(self) -> int:
        return self._port

    @property
    def url(self) -> str:
        """This server's local address, e.g. http://127.0.0.1:8765."""
        return f"http://{self._host}:{self._port}"

    @property
    def base_url(self) -> str:
        """Where the platform and buyers reach this server: ``public_url``, else ``url``."""
        return self.public_url or self.url

    @property
    def produce_url(self) -> str:
        return f"{self.base_url}/produce"

    @property
    def deploy_url(self) -> str:
        return f"{self.base_url}/deploy"

    @property
    def sync_base_url(self) -> str:
        """The seller center's "sync base URL": calls go to {sync_base_url}/produceAPI/v2/{call}."""
        return self.base_url

    @property
    def oauth_callback_url(self) -> str:
        """The redirect URI to register for single sign-on."""
        return f"{self.base_url}/oauth/callback"

    @property
    def health_url(self) -> str:
        return f"{self.base_url}/health"

    def describe(self) -> str:
        """The URLs to paste into the seller center, one per line."""
        return "\n".join(
            [
                f"Sample ISV server on {self.url}",
                f"  produce URL:       {self.produce_url}",
                f"  sync base URL:     {self.sync_base_url}",
                f"  deployment URL:    {self.deploy_url}",
                f"  SSO redirect URI:  {self.oauth_callback_url}",
                f"  health:            {self.health_url}",
            ]
        )

    # --- HTTP routing -------------------------------------------------------------------------

    def dispatch(self, method: str, target: str, headers: dict[str, str], body: bytes) -> Response:
        """Answer one HTTP request. ``target`` is the path with its query; header names lower-case."""
        parts = urlsplit(target)
        path = parts.path.rstrip("/") or "/"
        query = {name: values[0] for name, values in parse_qs(parts.query, keep_blank_values=True).items()}
        activity = self._activity_of(path, body)
        record = ReceivedRequest(method, path, query, dict(headers), body, activity)
        with self._lock:
            self._received.append(record)
            self._counts[activity] += 1

        try:
            response = self._route(method, path, query, headers, body, activity, record)
        except Exception as error:  # a bug here must not look like a network failure to the platform
            self.log(f"[{_log_time()}] {method} {path} {activity}: internal error {error!r}")
            response = Response.result(protocol.INTERNAL_ERROR, "internal error")

        with self._lock:
            record.http_status = None if response.drop_connection else response.status
            record.result_code = response.result_code
        if self.verbose:
            outcome = "no answer" if response.drop_connection else f"{response.status} {response.result_code}".strip()
            self.log(f"[{_log_time()}] {method} {path} {activity} -> {outcome}")
        return response

    @staticmethod
    def _activity_of(path: str, body: bytes) -> str:
        """A name for counting: the body's activity, the sync call, or the kind of page."""
        if path in ("/produce", "/deploy"):
            try:
                payload = json.loads(body)
            except ValueError:
                return "invalid"
            activity = payload.get("activity") if isinstance(payload, dict) else None
            return activity if isinstance(activity, str) and activity else "invalid"
        if path.startswith("/produceAPI/v2/"):
            return path.rsplit("/", 1)[-1]
        if path == "/health":
            return "health"
        if path == "/oauth/callback":
            return "oauthCallback"
        return "page"

    def _route(self, method, path, query, headers, body, activity, record) -> Response:
        platform_call = path in ("/produce", "/deploy") or path.startswith("/produceAPI/v2/")
        if platform_call:
            if method != "POST":
                return Response.text("Method Not Allowed", status=405)
            # Misbehave first, if asked to: a broken server breaks before looking at the request.
            behaviour = self._take_behaviour(activity)
            record.behaviour = behaviour
            fault = self._fault_response(behaviour)
            if fault is not None:
                return fault
            if path == "/produce":
                return self._signed_query_call(query, body, self._produce, protocol.ACTIVITIES, behaviour)
            if path == "/deploy":
                return self._signed_query_call(query, body, self._deploy, DEPLOY_ACTIVITIES, behaviour)
            return self._sync(path.rsplit("/", 1)[-1], headers, body)
        if method != "GET":
            return Response.text("Method Not Allowed", status=405)
        if path == "/health":
            return Response.text("ok")
        if path == "/oauth/callback":
            return self._oauth_callback(query)
        if path.startswith(("/app/", "/admin/")):
            return self._page(path)
        return Response.text("Not Found", status=404)

    # --- authentication -----------------------------------------------------------------------

    def _check_fresh_and_unused(self, timestamp: str, nonce: str) -> None:
        """The clock and replay rules shared by produce and sync calls (after the signature)."""
        if not protocol.timestamp_fresh(timestamp):
            raise ProtocolError(protocol.AUTH_FAILED, "authentication failed: timestamp more than 60 s from our clock")
        with self._lock:  # NonceCache is not thread-safe on its own
            fresh = self._nonces.add(nonce)
        if not fresh:
            raise ProtocolError(protocol.AUTH_FAILED, "authentication failed: nonce already used")

    def _authenticate_query(self, query: dict, body: bytes) -> None:
        """Produce and deploy calls: ?signature=&timestamp=&nonce= over the raw body bytes.

        Check the signature first (so that nobody can burn nonces with forged calls), compare in
        constant time, then the clock, then remember the nonce.
        """
        signature, timestamp, nonce = query.get("signature", ""), query.get("timestamp", ""), query.get("nonce", "")
        if not (signature and timestamp and nonce):
            raise ProtocolError(protocol.AUTH_FAILED, "authentication failed: signature, timestamp and nonce required")
        expected = protocol.produce_signature(self.access_key, nonce, timestamp, body)
        if not protocol.signature_matches(expected, signature):
            raise ProtocolError(protocol.AUTH_FAILED, "authentication failed: signature does not match")
        self._check_fresh_and_unused(timestamp, nonce)

    def _authenticate_headers(self, headers: dict, body: bytes) -> None:
        """Sync calls: x-sign over access_key + nonce + timestamp + the raw body bytes."""
        signature, timestamp, nonce = (
            headers.get("x-sign", ""),
            headers.get("x-timestamp", ""),
            headers.get("x-nonce", ""),
        )
        if not (signature and timestamp and nonce):
            raise ProtocolError(protocol.AUTH_FAILED, "authentication failed: x-sign, x-timestamp and x-nonce required")
        expected = protocol.sync_signature(self.access_key, nonce, timestamp, body)
        if not protocol.signature_matches(expected, signature):
            raise ProtocolError(protocol.AUTH_FAILED, "authentication failed: x-sign does not match")
        self._check_fresh_and_unused(timestamp, nonce)

    @staticmethod
    def _parse_body(body: bytes) -> dict:
        try:
            payload = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise ProtocolError(protocol.INVALID_PARAMETER, "invalid parameter: the body is not UTF-8 JSON")
        if not isinstance(payload, dict):
            raise ProtocolError(protocol.INVALID_PARAMETER, "invalid parameter: the body is not a JSON object")
        return payload

    def _signed_query_call(self, query, body, handler, activities, behaviour) -> Response:
        """Authenticate, parse, check the activity and its fields, then hand over to ``handler``.

        Handlers raise ProtocolError to refuse a call; it becomes {"resultCode", "resultMsg"}.
        """
        try:
            self._authenticate_query(query, body)
            payload = self._parse_body(body)
            activity = payload.get("activity")
            if activity not in activities:
                raise ProtocolError(protocol.INVALID_PARAMETER, f"invalid parameter: unknown activity {activity!r}")
            required = protocol.REQUIRED_FIELDS.get(activity) or DEPLOY_REQUIRED_FIELDS.get(activity, ())
            missing = _missing(payload, required)
            if missing:
                raise ProtocolError(protocol.INVALID_PARAMETER, f"invalid parameter: missing {', '.join(missing)}")
            for name, allowed in ENUMERATIONS.get(activity, {}).items():
                if not isinstance(payload[name], str) or payload[name] not in allowed:
                    raise ProtocolError(protocol.INVALID_PARAMETER, f"invalid parameter: {name} {payload[name]!r}")
            with self._lock:  # one call at a time changes the state
                return handler(activity, payload, behaviour)
        except ProtocolError as error:
            return Response.result(error.code, error.message)

    # --- produce calls ------------------------------------------------------------------------

    def _produce(self, activity: str, payload: dict, behaviour: str) -> Response:
        return {
            "newInstance": self._new_instance,
            "refreshInstance": self._refresh_instance,
            "updateInstanceStatus": self._update_instance_status,
            "releaseInstance": self._release_instance,
            "queryInstance": self._query_instance,
        }[activity](payload, behaviour)

    def _app_info(self, instance: Instance) -> dict:
        """appInfo: where the buyer goes, and the first account, encrypted with the access key.

        encrypt_credential picks a new random iv every time, so the same password never looks the
        same twice on the wire; the platform decrypts it with the same access key.
        """
        return {
            "frontEndUrl": f"{self.base_url}/app/{instance.instance_id}",
            "adminUrl": f"{self.base_url}/admin/{instance.instance_id}",
            "userName": protocol.encrypt_credential(self.access_key, instance.user_name),
            "password": protocol.encrypt_credential(self.access_key, instance.password),
            "memo": f"Sample ISV instance for {instance.customer_name}. Sign in at the admin URL; "
            "change the password after the first sign-in.",
        }

    def _instance_answer(self, instance: Instance) -> Response:
        if not instance.ready:
            # Not ready yet: say so, with the id, so that the platform can poll queryInstance.
            instance.pending_rounds -= 1
            return Response.result(protocol.PROCESSING, "still processing", instanceId=instance.instance_id)
        return Response.result(
            protocol.SUCCESS,
            "success",
            instanceId=instance.instance_id,
            encryptType="1",  # 1: iv + base64(AES-256-CBC), the only type there is
            appInfo=self._app_info(instance),
        )

    def _new_instance(self, payload: dict, behaviour: str) -> Response:
        line = (str(payload["orderId"]), str(payload["orderLineId"]))
        # Idempotency: the platform retries newInstance when it got no answer (timeout, 5xx, ...), with
        # a new businessId each time. The order line, not the businessId, says which instance it is.
        existing = self._instances.get(self._lines.get(line, ""))
        if existing is not None and behaviour != "new_id_on_repeat":
            existing.history.append(f"{_log_time()} newInstance repeated (businessId {payload['businessId']})")
            return self._instance_answer(existing)

        instance = Instance(
            instance_id=uuid.uuid4().hex,
            order_id=line[0],
            order_line_id=line[1],
            product_id=str(payload["productId"]),
            sku_code=str(payload["skuCode"]),
            customer_id=str(payload["customerId"]),
            customer_name=str(payload["customerName"]),
            charging_mode=payload["chargingMode"],
            expire_time=str(payload["expireTime"]),
            trial_flag=str(payload["trialFlag"]),
            test_flag=str(payload["testFlag"]),
            user_name=f"admin-{line[1]}"[:64],
            password=secrets.token_urlsafe(12),
            extend_params=list(payload.get("extendParams") or []),
            pending_rounds=max(self.processing_rounds, 0) if behaviour == "processing" else 0,
        )
        instance.history.append(f"{_log_time()} newInstance (businessId {payload['businessId']})")
        self._instances[instance.instance_id] = instance
        self._lines[line] = instance.instance_id
        return self._instance_answer(instance)

    def _live_instance(self, instance_id) -> Instance:
        instance = self._instances.get(str(instance_id))
        if instance is None or instance.status == "released":
            raise ProtocolError(protocol.INSTANCE_NOT_FOUND, f"instance not found: {instance_id}")
        return instance

    def _refresh_instance(self, payload: dict, behaviour: str) -> Response:
        # Trial to formal, renewal, or a shortened period: the new expiry is all we need.
        instance = self._live_instance(payload["instanceId"])
        instance.expire_time = str(payload["expireTime"])
        if payload["scene"] == "TRIAL_TO_FORMAL":
            instance.trial_flag = "0"
        instance.history.append(f"{_log_time()} refreshInstance {payload['scene']} expireTime {instance.expire_time}")
        return Response.result(protocol.SUCCESS, "success")

    def _update_instance_status(self, payload: dict, behaviour: str) -> Response:
        # FREEZE: the buyer's subscription lapsed or was suspended; keep the data, stop the service.
        instance = self._live_instance(payload["instanceId"])
        instance.status = "frozen" if payload["status"] == "FREEZE" else "active"  # both idempotent
        instance.history.append(f"{_log_time()} updateInstanceStatus {payload['status']}")
        return Response.result(protocol.SUCCESS, "success")

    def _release_instance(self, payload: dict, behaviour: str) -> Response:
        # Release is final. A repeated release (the platform did not get our first answer) succeeds.
        instance = self._instances.get(str(payload["instanceId"]))
        if instance is None:
            raise ProtocolError(protocol.INSTANCE_NOT_FOUND, f"instance not found: {payload['instanceId']}")
        if instance.status != "released":
            instance.status = "released"
            instance.history.append(f"{_log_time()} releaseInstance {payload['scene']}")
        return Response.result(protocol.SUCCESS, "success")

    def _query_instance(self, payload: dict, behaviour: str) -> Response:
        raw = payload["instanceIds"]
        if not isinstance(raw, str):
            raise ProtocolError(
                protocol.INVALID_PARAMETER, "invalid parameter: instanceIds is a comma-separated string"
            )
        ids = list(dict.fromkeys(part.strip() for part in raw.split(",") if part.strip()))
        if not ids or len(ids) > MAX_QUERY_IDS:
            raise ProtocolError(protocol.INVALID_PARAMETER, f"invalid parameter: 1 to {MAX_QUERY_IDS} instanceIds")
        found = [i for i in (self._instances.get(n) for n in ids) if i is not None and i.status != "released"]
        if not found:
            raise ProtocolError(protocol.INSTANCE_NOT_FOUND, "instance not found")
        waiting = [i for i in found if not i.ready]
        if waiting:
            for instance in waiting:
                instance.pending_rounds -= 1
            return Response.result(protocol.PROCESSING, "still processing")
        # Unknown and released ids are left out of info; the platform sees which ones came back.
        info = [{"instanceId": i.instance_id, "appInfo": self._app_info(i)} for i in found]
        return Response.result(protocol.SUCCESS, "success", encryptType="1", info=info)

    # --- License auto-deployment --------------------------------------------------------------

    def _deploy(self, activity: str, payload: dict, behaviour: str) -> Response:
        if activity == "queryDeployment":
            deployment = self._deployments.get(str(payload["deploymentId"]))
            if deployment is None:
                raise ProtocolError(protocol.INSTANCE_NOT_FOUND, f"deployment not found: {payload['deploymentId']}")
            return self._deployment_answer(deployment)

        parameters = payload.get("parameters") or {}
        if not isinstance(parameters, dict):
            raise ProtocolError(protocol.INVALID_PARAMETER, "invalid parameter: parameters is a JSON object")
        deployment_id = str(payload["deploymentId"])
        if deployment_id in self._deployments:  # a retried deploy: the same deployment, not a second one
            return self._deployment_answer(self._deployments[deployment_id])
        deployment = Deployment(
            deployment_id=deployment_id,
            order_id=str(payload["orderId"]),
            order_line_id=str(payload["orderLineId"]),
            product_id=str(payload["productId"]),
            sku_code=str(payload["skuCode"]),
            parameters=dict(parameters),
            test_flag=str(payload.get("testFlag", "0")),
            pending_rounds=max(self.processing_rounds, 0) if behaviour == "processing" else 0,
            final_status="failed" if behaviour == "deploy_failed" else "succeeded",
        )
        # Show the parameters in the log, but never what looks like a secret.
        shown = ", ".join(
            f"{name}=***"
            if any(word in name.lower() for word in ("password", "secret", "token"))
            else f"{name}={value}"
            for name, value in sorted(parameters.items())
        )
        deployment.log_lines += [
            f"[{_log_time()}] deployment {deployment_id} received for order {deployment.order_id} "
            f"line {deployment.order_line_id}",
            f"[{_log_time()}] product {deployment.product_id}, SKU {deployment.sku_code}",
            f"[{_log_time()}] parameters: {shown or '(none)'}",
            f"[{_log_time()}] checking the target environment",
        ]
        self._deployments[deployment_id] = deployment
        return self._deployment_answer(deployment)

    def _deployment_answer(self, deployment: Deployment) -> Response:
        if deployment.status == "running":
            if deployment.pending_rounds > 0:
                deployment.pending_rounds -= 1
            else:
                self._finish_deployment(deployment)
        return Response.result(protocol.SUCCESS, "success", status=deployment.status, log=deployment.log)

    @staticmethod
    def _finish_deployment(deployment: Deployment) -> None:
        if deployment.final_status == "failed":
            deployment.log_lines += [
                f"[{_log_time()}] ERROR: the target environment did not answer (sample ISV: deploy_failed)",
                f"[{_log_time()}] deployment failed",
            ]
        else:
            licence = "-".join(secrets.token_hex(2).upper() for _ in range(4))
            deployment.log_lines += [
                f"[{_log_time()}] installing the application",
                f"[{_log_time()}] licence key issued: {licence}",
                f"[{_log_time()}] deployment succeeded",
            ]
        deployment.status = deployment.final_status

    # --- sync calls for joint-operation SaaS --------------------------------------------------

    def _sync(self, call: str, headers: dict, body: bytes) -> Response:
        if call not in SYNC_CALLS:
            return Response.text("Not Found", status=404)
        try:
            self._authenticate_headers(headers, body)
            payload = self._parse_body(body)
        except ProtocolError as error:
            return Response.result(error.code, error.message)
        with self._lock:
            client_secret = None
            try:
                missing = _missing(payload, SYNC_REQUIRED_FIELDS[call])
                if missing:
                    raise ProtocolError(protocol.INVALID_PARAMETER, f"invalid parameter: missing {', '.join(missing)}")
                flag = str(payload.get("flag", ""))
                if call in SYNC_FLAGS and flag not in SYNC_FLAGS[call]:
                    raise ProtocolError(protocol.INVALID_PARAMETER, f"invalid parameter: flag {payload['flag']!r}")
                apply = {
                    "tenantSync": self._tenant_sync,
                    "applicationSync": self._application_sync,
                    "authSync": self._auth_sync,
                    "singleOrgSync": self._single_org_sync,
                    "allOrgSync": self._all_org_sync,
                }[call]
                client_secret = apply(payload, flag)
                response = Response.result(protocol.SUCCESS, "success")
            except ProtocolError as error:
                response = Response.result(error.code, error.message)
            self._sync_calls.append(SyncCall(call, payload, response.result_code, client_secret))
            return response

    # Each handler below applies one sync call. Deletes of something unknown (a repeated delete)
    # succeed: the end state the platform asked for is there.

    def _tenant_sync(self, payload: dict, flag: str) -> None:
        tenant_id = str(payload["tenantId"])
        if flag == "0":
            self._tenants.pop(tenant_id, None)
        else:
            # domainName is the platform's auth base URL: where this tenant's users sign in (SSO).
            self._tenants[tenant_id] = dict(payload)

    def _application_sync(self, payload: dict, flag: str) -> str | None:
        key = (str(payload["tenantId"]), str(payload["appId"]))
        if flag == "0":
            self._applications.pop(key, None)
            return None
        if not payload.get("clientId") or not payload.get("clientSecret"):
            raise ProtocolError(protocol.INVALID_PARAMETER, "invalid parameter: missing clientId or clientSecret")
        # The secret arrives as base64(RSA-OAEP-SHA256(our public key, secret)): only we can read it.
        try:
            client_secret = protocol.rsa_decrypt(self.private_key, payload["clientSecret"])
        except (ValueError, TypeError):
            raise ProtocolError(protocol.INVALID_PARAMETER, "invalid parameter: clientSecret does not decrypt")
        self._applications[key] = {"clientId": payload["clientId"], "clientSecret": client_secret, "payload": payload}
        return client_secret

    def _auth_sync(self, payload: dict, flag: str) -> None:
        users = payload["userList"]
        if not isinstance(users, list) or not users or len(users) > MAX_SYNC_USERS:
            raise ProtocolError(protocol.INVALID_PARAMETER, f"invalid parameter: userList holds 1 to {MAX_SYNC_USERS}")
        if not all(isinstance(user, dict) and user.get("userName") for user in users):
            raise ProtocolError(protocol.INVALID_PARAMETER, "invalid parameter: every user needs a userName")
        tenant_id, app_id = str(payload["tenantId"]), str(payload["appId"])
        for user in users:
            key = (tenant_id, app_id, str(user["userName"]))
            if flag in ("0", "3"):  # delete the user, or revoke its access to the app
                self._authorizations.pop(key, None)
            else:
                self._authorizations[key] = dict(user)

    def _single_org_sync(self, payload: dict, flag: str) -> None:
        key = (str(payload["tenantId"]), str(payload["orgCode"]))
        if flag == "0":
            self._organizations.pop(key, None)
        else:
            self._organizations[key] = {
                "orgCode": payload["orgCode"],
                "orgName": payload.get("orgName", ""),
                "parentCode": payload.get("parentCode", ""),
            }

    def _all_org_sync(self, payload: dict, flag: str) -> None:
        # The whole organisation tree of a tenant: replace what we had.
        orgs = payload["orgInfoList"]
        if not isinstance(orgs, list) or not all(isinstance(org, dict) and org.get("orgCode") for org in orgs):
            raise ProtocolError(protocol.INVALID_PARAMETER, "invalid parameter: orgInfoList needs orgCode in each")
        tenant_id = str(payload["tenantId"])
        for key in [key for key in self._organizations if key[0] == tenant_id]:
            del self._organizations[key]
        for org in orgs:
            self._organizations[(tenant_id, str(org["orgCode"]))] = {
                "orgCode": org["orgCode"],
                "orgName": org.get("orgName", ""),
                "parentCode": org.get("parentCode", ""),
            }

    # --- single sign-on and pages -------------------------------------------------------------

    def _oauth_callback(self, query: dict) -> Response:
        """The platform redirects the signed-in user here with ?code=&state=&tenant=.

        A real app now checks ``state`` against the one it put in the authorize link, exchanges the
        code at POST /api/v1/oauth2/token (with its client id and the secret from applicationSync),
        reads /api/v1/oauth2/userinfo and signs the user in. That is what ``exchange_code`` is for;
        this sample only shows that the code arrived.
        """
        code, state, tenant = query.get("code", ""), query.get("state", ""), query.get("tenant", "")
        callback = OAuthCallback(code, state, tenant, dict(query))
        with self._lock:
            self._oauth_callbacks.append(callback)
        if not code:
            error = query.get("error", "no code")
            return _html_page("Sign-in failed", f"<p>No authorization code arrived ({html.escape(error)}).</p>", 400)
        body = (
            f"<p>Received an authorization code for tenant <b>{html.escape(tenant or '-')}</b> "
            f"(state <code>{html.escape(state or '-')}</code>).</p>"
        )
        exchange = self.exchange_code or (self._sign_in if self._client_for(tenant) else None)
        if exchange is not None:
            result = exchange(code, state, tenant)
            with self._lock:
                callback.exchange_result = result
            body += f"<p>Exchanged: <code>{html.escape(str(result))}</code></p>"
        else:
            body += "<p>No client id and secret yet (applicationSync brings them): the code was not exchanged.</p>"
        return _html_page("Sample ISV: signed in", body)

    def _client_for(self, tenant: str) -> tuple[str, str] | None:
        """The app's client id and secret: the ones applicationSync brought for this tenant, any
        applicationSync's (one app, one client), or the ones given at start."""
        with self._lock:
            apps = [a for (t, _app), a in self._applications.items() if t == tenant] or list(
                self._applications.values()
            )
        if apps:
            return apps[-1]["clientId"], apps[-1]["clientSecret"]
        return self.oauth_client

    def _sign_in(self, code: str, state: str, tenant: str) -> dict:
        """What an app does at its callback: redeem the code (once, within 5 minutes) with its client
        id and secret at the platform's token endpoint, then read who signed in. Returns the user
        info, or {"error": ...}."""
        client_id, client_secret = self._client_for(tenant)
        with self._lock:
            platform = self.platform_url or str(self._tenants.get(tenant, {}).get("domainName", "")).rstrip("/")
        if not platform:
            return {"error": "no platform URL: no tenantSync for this tenant and none given at start"}
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "client_id": client_id,
            "client_secret": client_secret,
            "redirect_uri": self.oauth_callback_url,  # the same as in the authorize request, exactly
        }
        try:
            token = _post_form(f"{platform}/api/v1/oauth2/token", form)
            return _get_json(f"{platform}/api/v1/oauth2/userinfo", token["access_token"])
        except urllib.error.HTTPError as error:
            return {"error": f"HTTP {error.code}", "detail": error.read().decode(errors="replace")[:500]}
        except (urllib.error.URLError, OSError, ValueError, KeyError) as error:
            return {"error": f"{type(error).__name__}: {error}"}

    def _page(self, path: str) -> Response:
        """Stand-ins for the seller's application (frontEndUrl) and its administration (adminUrl)."""
        kind, _, instance_id = path.lstrip("/").partition("/")
        instance = self.instance(instance_id)
        if instance is None:
            return _html_page("Not found", "<p>No such instance.</p>", 404)
        title = "Sample ISV application" if kind == "app" else "Sample ISV administration"
        rows = [
            ("Instance", instance.instance_id),
            ("Customer", instance.customer_name),
            ("Product / SKU", f"{instance.product_id} / {instance.sku_code}"),
            ("Status", instance.status),
            ("Expires (Beijing time)", instance.expire_time or "-"),
        ]
        if kind == "admin":
            rows.append(("Administrator", instance.user_name))
        table = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in rows)
        return _html_page(title, f"<table>{table}</table>")


def _html_page(title: str, body: str, status: int = 200) -> Response:
    page = (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title></head>'
        f"<body><h1>{html.escape(title)}</h1>{body}</body></html>"
    )
    return Response.text(page, status=status, content_type="text/html; charset=utf-8")


# --- HTTP plumbing (standard library) -------------------------------------------------------------


class _Server(ThreadingHTTPServer):
    """One thread per connection; daemon threads, so a hanging request never blocks shutdown."""

    daemon_threads = True
    allow_reuse_address = True
    isv: SampleISV


class _Handler(BaseHTTPRequestHandler):
    """Reads the request, asks SampleISV.dispatch for the answer, writes it. HTTP/1.0: one request
    per connection, which keeps "refuse" (close without answering) simple."""

    server_version = "SampleISV/2.0"
    sys_version = ""
    timeout = 30  # seconds a client may take to send its request

    def _serve(self) -> None:
        isv = self.server.isv
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            self._write(Response.text("Bad Request: Content-Length", status=400))
            return
        if length < 0 or length > MAX_BODY_BYTES:
            self._write(Response.text("Payload Too Large", status=413))
            return
        body = self.rfile.read(length) if length else b""
        headers = {name.lower(): value for name, value in self.headers.items()}
        self._write(isv.dispatch(self.command, self.path, headers, body))

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve  # http.server's names

    def _write(self, response: Response) -> None:
        if response.drop_connection:
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        try:
            self.send_response(response.status)
            self.send_header("Content-Type", response.content_type)
            self.send_header("Content-Length", str(len(response.body)))
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(response.body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the caller gave up (e.g. after "hang"); nothing to do

    def log_message(self, format, *args):
        pass  # SampleISV.dispatch logs one line per request when verbose


def _checked(url: str) -> str:
    if urlsplit(url).scheme not in ("http", "https"):
        raise ValueError(f"not an http(s) URL: {url}")
    return url


def _post_form(url: str, form: dict) -> dict:
    request = urllib.request.Request(  # noqa: S310 - http(s) only, checked
        _checked(url), data=urlencode(form).encode(), headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        return json.load(response)


def _get_json(url: str, bearer: str) -> dict:
    request = urllib.request.Request(_checked(url), headers={"Authorization": f"Bearer {bearer}"})  # noqa: S310
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        return json.load(response)


# --- entry points ---------------------------------------------------------------------------------


def start_sample_isv(
    access_key: str = DEMO_ACCESS_KEY, *, host: str = "127.0.0.1", port: int = 0, **options
) -> SampleISV:
    """Start a sample ISV server in a background thread (port 0: a free port) and return it.

    The result has ``url``, ``produce_url``, ``sync_base_url``, ``deploy_url``, ``stop()`` and the
    whole state and fault-injection API of SampleISV; ``options`` go to SampleISV(). Also usable as
    ``with start_sample_isv() as isv: ...``.
    """
    return SampleISV(access_key, **options).start(host, port)


def load_or_create_private_key(path: str) -> rsa.RSAPrivateKey:
    """The RSA key in ``path`` (PEM), made (RSA-3072) and saved there if the file does not exist, so
    that the public key uploaded to the seller center stays valid across restarts."""
    if os.path.exists(path):
        with open(path, "rb") as handle:
            return serialization.load_pem_private_key(handle.read(), password=None)
    key = rsa.generate_private_key(public_exponent=65537, key_size=3072)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)  # readable by us only
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(pem)
    return key


def main(argv: list[str] | None = None) -> None:
    """``python sample_isv.py --port 8765``: serve until Ctrl+C."""
    parser = argparse.ArgumentParser(description="Sample ISV server for the ISV interface, version 2.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--access-key", default=DEMO_ACCESS_KEY)
    parser.add_argument("--public-url", default="")
    parser.add_argument("--private-key-file", default="")
    parser.add_argument("--oauth-client", default="", help="CLIENT_ID:SECRET of the app, until applicationSync")
    parser.add_argument("--platform-url", default="", help="the platform's base URL, until tenantSync")
    args = parser.parse_args(argv)
    key = load_or_create_private_key(args.private_key_file) if args.private_key_file else None
    client = tuple(args.oauth_client.split(":", 1)) if ":" in args.oauth_client else None
    isv = SampleISV(
        args.access_key,
        private_key=key,
        public_url=args.public_url,
        oauth_client=client,
        platform_url=args.platform_url,
        verbose=True,
    )
    isv.bind(args.host, args.port)
    print(isv.describe())
    print("RSA public key (upload it in the seller center for applicationSync):")
    print(isv.public_key_pem)
    try:
        isv.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        isv.stop()


if __name__ == "__main__":
    main()
