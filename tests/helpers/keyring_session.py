"""A private D-Bus session bus with an unlocked gnome-keyring, for the length of a test run.

Tests must meet the real Secret Service, never the developer's own keyring: the suite starts
its own (when ``dbus-daemon`` and ``gnome-keyring-daemon`` exist), points
``DBUS_SESSION_BUS_ADDRESS`` at it for itself and every subprocess, and stops it afterwards.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

SECRETS_NAME = "org.freedesktop.secrets"


@dataclass
class KeyringSession:
    address: str
    state_dir: Path
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    saved_env: dict[str, str | None] = field(default_factory=dict)

    def stop(self) -> None:
        for process in reversed(self.processes):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        for name, value in self.saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        shutil.rmtree(self.state_dir, ignore_errors=True)


def tools_available() -> bool:
    return all(shutil.which(tool) for tool in ("dbus-daemon", "gnome-keyring-daemon"))


def _has_secret_service(address: str) -> bool:
    from jeepney import DBusAddress, new_method_call
    from jeepney.io.blocking import open_dbus_connection

    bus = DBusAddress(
        "/org/freedesktop/DBus", bus_name="org.freedesktop.DBus", interface="org.freedesktop.DBus"
    )
    try:
        with open_dbus_connection(address) as connection:
            reply = connection.send_and_get_reply(
                new_method_call(bus, "NameHasOwner", "s", (SECRETS_NAME,)), timeout=2
            )
            return bool(reply.body[0])
    except Exception:
        return False


def start(password: str = "unlock") -> KeyringSession:
    """Start dbus-daemon and an unlocked gnome-keyring; export the bus address."""
    state = Path(tempfile.mkdtemp(prefix="tokendesk-keyring-"))
    runtime, data = state / "run", state / "data"
    runtime.mkdir(mode=0o700)
    data.mkdir(mode=0o700)
    bus = subprocess.Popen(
        ["dbus-daemon", "--session", "--nofork", "--nopidfile", "--print-address=1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    assert bus.stdout is not None
    address = bus.stdout.readline().decode().strip()
    session = KeyringSession(address, state, [bus])
    if not address:
        session.stop()
        raise RuntimeError("dbus-daemon printed no address")
    env = dict(
        os.environ,
        DBUS_SESSION_BUS_ADDRESS=address,
        XDG_RUNTIME_DIR=str(runtime),
        XDG_DATA_HOME=str(data),
    )
    daemon = subprocess.Popen(
        ["gnome-keyring-daemon", "--foreground", "--unlock", "--components=secrets"],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    session.processes.append(daemon)
    assert daemon.stdin is not None
    daemon.stdin.write(password.encode())
    daemon.stdin.close()
    deadline = time.monotonic() + 15
    while not _has_secret_service(address):
        if daemon.poll() is not None or time.monotonic() > deadline:
            session.stop()
            raise RuntimeError("gnome-keyring-daemon did not start")
        time.sleep(0.05)
    for name, value in (("DBUS_SESSION_BUS_ADDRESS", address),):
        session.saved_env[name] = os.environ.get(name)
        os.environ[name] = value
    return session
