"""No network in the tests: refuse every outbound connection and DNS look-up of a Python process.

``install()`` patches ``socket.socket.connect``/``connect_ex``/``sendto`` and ``socket.getaddrinfo``/
``gethostbyname``/``gethostbyname_ex`` so that only AF_UNIX sockets, the loopback addresses
(127.0.0.0/8, ::1) and the name ``localhost`` get through; anything else raises
:class:`NetworkBlocked` (an ``OSError``, what an offline machine gives) *and* is recorded, so a
library that swallows the error still fails the test: in-process attempts land in ``ATTEMPTS``,
attempts of other processes in a file of the folder named by ``UPSTREAM_TEST_NETWORK_LOG``.

tests/conftest.py installs it in the pytest process and puts a ``sitecustomize.py`` that installs
it on ``PYTHONPATH``, so every Python process the tests start (the ``upstream`` command, the
notebook kernels papermill starts) is blocked the same way. Jupyter kernels talk to the runner
over loopback TCP or IPC (libzmq, not Python sockets), which stays allowed. This file must stay
self-contained (standard library only): it is copied next to that ``sitecustomize.py``.
"""
from __future__ import annotations

import ipaddress
import os
import socket
import traceback

ENV_LOG = "UPSTREAM_TEST_NETWORK_LOG"
LOCAL_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"})

ATTEMPTS: list[str] = []
_ORIGINAL: dict[str, object] = {}
_SETTINGS = {"log_to_file": True}


class NetworkBlocked(OSError):
    """An outbound connection or DNS look-up refused by the test suite's network block."""


def is_local_host(host) -> bool:
    """True for loopback addresses and the local names (no DNS needed for either)."""
    if host is None:
        return True
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    host = str(host).strip().lower().split("%", 1)[0]
    if host in LOCAL_NAMES:
        return True
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback


def needs_dns(host) -> bool:
    """True unless ``host`` is a local name or an IP address literal (no look-up needed)."""
    if is_local_host(host):
        return False
    text = host.decode("ascii", "replace") if isinstance(host, bytes) else str(host)
    try:
        ipaddress.ip_address(text.strip("[]").split("%", 1)[0])
    except ValueError:
        return True
    return False


def is_allowed(family, address) -> bool:
    """May a socket of ``family`` connect (or send) to ``address``?"""
    if family not in (socket.AF_INET, socket.AF_INET6):
        return True  # AF_UNIX (Jupyter's IPC transport), netlink, ...: nothing leaves the machine
    host = address[0] if isinstance(address, tuple) and address else address
    return is_local_host(host)


def _refuse(what: str) -> NetworkBlocked:
    record = f"pid {os.getpid()}: {what}\n" + "".join(traceback.format_stack(limit=12)[:-2])
    ATTEMPTS.append(record)
    folder = os.environ.get(ENV_LOG)
    if folder and _SETTINGS["log_to_file"]:
        try:
            with open(os.path.join(folder, f"{os.getpid()}.log"), "a", encoding="utf-8") as log:
                log.write(record + "\n")
        except OSError:
            pass
    return NetworkBlocked(f"network access is blocked in the Upstream tests: {what}")


def install(log_to_file: bool = True) -> None:
    """Patch the socket module of this process (idempotent). Refusals are recorded in
    ``ATTEMPTS`` and, with ``log_to_file``, in the folder named by ``UPSTREAM_TEST_NETWORK_LOG``
    (the pytest process itself reads ``ATTEMPTS`` instead)."""
    _SETTINGS["log_to_file"] = log_to_file
    if _ORIGINAL:
        return
    sock_cls = socket.socket
    _ORIGINAL.update(connect=sock_cls.connect, connect_ex=sock_cls.connect_ex, sendto=sock_cls.sendto,
                     getaddrinfo=socket.getaddrinfo, gethostbyname=socket.gethostbyname,
                     gethostbyname_ex=socket.gethostbyname_ex)

    def connect(self, address):
        if not is_allowed(self.family, address):
            raise _refuse(f"connect to {address!r}")
        return _ORIGINAL["connect"](self, address)

    def connect_ex(self, address):
        if not is_allowed(self.family, address):
            raise _refuse(f"connect_ex to {address!r}")
        return _ORIGINAL["connect_ex"](self, address)

    def sendto(self, data, *args):
        address = args[-1] if args else None
        if address is not None and not is_allowed(self.family, address):
            raise _refuse(f"sendto {address!r}")
        return _ORIGINAL["sendto"](self, data, *args)

    def getaddrinfo(host, *args, **kwargs):
        if needs_dns(host):
            raise _refuse(f"DNS look-up of {host!r}")
        return _ORIGINAL["getaddrinfo"](host, *args, **kwargs)

    def gethostbyname(host):
        if needs_dns(host):
            raise _refuse(f"DNS look-up of {host!r}")
        return _ORIGINAL["gethostbyname"](host)

    def gethostbyname_ex(host):
        if needs_dns(host):
            raise _refuse(f"DNS look-up of {host!r}")
        return _ORIGINAL["gethostbyname_ex"](host)

    sock_cls.connect = connect
    sock_cls.connect_ex = connect_ex
    sock_cls.sendto = sendto
    socket.getaddrinfo = getaddrinfo
    socket.gethostbyname = gethostbyname
    socket.gethostbyname_ex = gethostbyname_ex


#: The sitecustomize.py put on PYTHONPATH for the processes the tests start.
SITECUSTOMIZE = '''\
"""Written by tests/conftest.py: block the network in every Python process the Upstream tests start."""
import importlib.machinery as _machinery
import importlib.util as _util
import os as _os
import sys as _sys

if _os.environ.get("UPSTREAM_TEST_NETWORK_LOG"):
    import upstream_no_network as _guard

    _guard.install()

# Run the interpreter's own sitecustomize, if any, which this file shadows. Copies of this file
# (one per test process: pytest-xdist's workers each write one) are skipped, or they would run each other.
_spec = _machinery.PathFinder.find_spec(
    "sitecustomize", [p for p in _sys.path if not _os.path.exists(_os.path.join(p or ".", "upstream_no_network.py"))])
if _spec is not None and _spec.origin and _os.path.abspath(_spec.origin) != _os.path.abspath(__file__):
    _module = _util.module_from_spec(_spec)
    _spec.loader.exec_module(_module)
'''
