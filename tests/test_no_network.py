"""The suite-wide network block (tests/no_network.py, installed by tests/conftest.py): outbound
connections and DNS look-ups fail in the pytest process, in the processes it starts and in the
notebook kernels, while loopback and AF_UNIX (Jupyter's own channels) keep working.

The refused addresses are 0.0.0.0 and a ``.invalid`` name: even if the block were broken, neither
would put a packet on the wire beyond this machine's resolver.
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import no_network
import pytest

BLOCKED_ADDRESS = ("0.0.0.0", 9)
BLOCKED_NAME = "upstream-network-check.invalid"


@pytest.fixture
def expect_attempts():
    """Hand the test the attempts it provokes on purpose and forget them afterwards, so that the
    autouse check in conftest.py does not fail the test for them."""
    log = Path(os.environ[no_network.ENV_LOG])
    n_before = len(no_network.ATTEMPTS)
    files_before = {p: p.read_text() for p in log.iterdir()}

    def collected() -> list[str]:
        out = list(no_network.ATTEMPTS[n_before:])
        for path in log.iterdir():
            out += [r for r in path.read_text().split("\n\n") if r.strip()][len(
                [r for r in files_before.get(path, "").split("\n\n") if r.strip()]):]
        return out

    yield collected
    del no_network.ATTEMPTS[n_before:]
    for path in list(log.iterdir()):
        if path in files_before:
            path.write_text(files_before[path])
        else:
            path.unlink()


def test_classifier_allows_loopback_and_unix_only():
    assert no_network.is_allowed(socket.AF_INET, ("127.0.0.1", 80))
    assert no_network.is_allowed(socket.AF_INET, ("127.8.9.10", 80))
    assert no_network.is_allowed(socket.AF_INET6, ("::1", 80, 0, 0))
    assert no_network.is_allowed(socket.AF_INET6, ("::ffff:127.0.0.1", 80, 0, 0))
    assert no_network.is_allowed(socket.AF_INET, ("localhost", 80))
    assert no_network.is_allowed(socket.AF_UNIX, "/tmp/kernel.sock")
    for address in [("0.0.0.0", 80), ("10.0.0.1", 80), ("192.168.1.1", 53), ("8.8.8.8", 53),
                    ("pypi.org", 443), ("127.0.0.1.example.com", 80)]:
        assert not no_network.is_allowed(socket.AF_INET, address), address
    assert not no_network.is_allowed(socket.AF_INET6, ("2001:db8::1", 443, 0, 0))


def test_this_process_cannot_connect_or_resolve(expect_attempts):
    with pytest.raises(no_network.NetworkBlocked, match=r"connect to \('0\.0\.0\.0', 9\)"):
        socket.create_connection(BLOCKED_ADDRESS, timeout=1)
    with pytest.raises(no_network.NetworkBlocked, match="DNS look-up of 'upstream-network-check.invalid'"):
        socket.getaddrinfo(BLOCKED_NAME, 443)
    with pytest.raises(no_network.NetworkBlocked):
        socket.gethostbyname(BLOCKED_NAME)
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        with pytest.raises(no_network.NetworkBlocked, match="sendto"):
            udp.sendto(b"x", BLOCKED_ADDRESS)
    finally:
        udp.close()
    assert len(expect_attempts()) == 4


def test_loopback_and_unix_sockets_still_work(tmp_path):
    server = socket.create_server(("127.0.0.1", 0))
    try:
        port = server.getsockname()[1]
        with socket.create_connection(("localhost", port), timeout=5) as client:
            peer, _ = server.accept()
            client.sendall(b"ping")
            assert peer.recv(4) == b"ping"
            peer.close()
    finally:
        server.close()
    path = str(tmp_path / "s.sock")
    unix_server = socket.socket(socket.AF_UNIX)
    unix_server.bind(path)
    unix_server.listen()
    with socket.socket(socket.AF_UNIX) as client:
        client.connect(path)
    unix_server.close()


def test_python_subprocesses_are_blocked_too(expect_attempts):
    code = textwrap.dedent(f"""
        import socket
        try:
            socket.create_connection({BLOCKED_ADDRESS!r}, timeout=1)
        except OSError as err:
            print(type(err).__name__, err)
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.stdout.strip() == ("NetworkBlocked network access is blocked in the Upstream tests: "
                                   "connect to ('0.0.0.0', 9)")
    (record,) = expect_attempts()
    assert record.startswith("pid ") and "connect to ('0.0.0.0', 9)" in record


def test_notebook_kernels_are_blocked_and_still_talk_to_the_runner(expect_attempts):
    """A kernel of the project (the one papermill starts for every study notebook) refuses the
    network; its own channels to this process work, or no code would run at all."""
    from jupyter_client.manager import start_new_kernel

    manager, client = start_new_kernel(kernel_name="upstream")
    try:
        outputs: list[str] = []

        def keep(msg):
            if msg["msg_type"] == "stream":
                outputs.append(msg["content"]["text"])

        client.execute_interactive(textwrap.dedent(f"""
            import socket
            for attempt in (lambda: socket.create_connection({BLOCKED_ADDRESS!r}, timeout=1),
                            lambda: socket.getaddrinfo({BLOCKED_NAME!r}, 443)):
                try:
                    attempt()
                    print("CONNECTED")
                except OSError as err:
                    print(type(err).__name__)
        """), output_hook=keep, timeout=60)
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)
    assert "".join(outputs).split() == ["NetworkBlocked", "NetworkBlocked"]
    assert len(expect_attempts()) == 2
