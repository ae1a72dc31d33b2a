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
    password: str = "unlock"

    @property
    def daemon(self) -> subprocess.Popen[bytes]:
        """The gnome-keyring-daemon now serving the bus (the last one started)."""
        return self.processes[-1]

    def restart_daemon(self) -> None:
        """Stop gnome-keyring (SIGTERM) and start a new one on the same bus and keyring files,
        as a desktop does when the keyring crashes or is restarted."""
        daemon = self.daemon
        daemon.send_signal(signal.SIGTERM)
        daemon.wait(timeout=10)
        deadline = time.monotonic() + 10
        while _has_secret_service(self.address):  # the bus forgets the name a moment later
            if time.monotonic() > deadline:
                raise RuntimeError("the stopped gnome-keyring-daemon still owns its name")
            time.sleep(0.02)
        _start_daemon(self)

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


def _start_daemon(session: KeyringSession) -> None:
    """An unlocked gnome-keyring on the session's bus, with its files in the session's dir."""
    env = dict(
        os.environ,
        DBUS_SESSION_BUS_ADDRESS=session.address,
        XDG_RUNTIME_DIR=str(session.state_dir / "run"),
        XDG_DATA_HOME=str(session.state_dir / "data"),
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
    daemon.stdin.write(session.password.encode())
    daemon.stdin.close()
    deadline = time.monotonic() + 15
    while not _has_secret_service(session.address):
        if daemon.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError("gnome-keyring-daemon did not start")
        time.sleep(0.05)


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
    session.password = password
    try:
        _start_daemon(session)
    except RuntimeError:
        session.stop()
        raise
    for name, value in (("DBUS_SESSION_BUS_ADDRESS", address),):
        session.saved_env[name] = os.environ.get(name)
        os.environ[name] = value
    return session
