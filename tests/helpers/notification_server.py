"""A small freedesktop notification server on the test run's private session bus.

Run as a process of its own (``python -m tests.helpers.notification_server``): the window's
``Notify`` waits for its reply on the GUI thread, so a server in the test's own process would
answer only after that wait timed out. It owns ``org.freedesktop.Notifications``, answers
``Notify`` only with the exact signature the specification gives (``susssasa{sv}i``, as a real
server does: a uint32 sent as int32 is refused), ``GetCapabilities``,
``GetServerInformation``, ``CloseNotification`` and ``Introspect``, and emits
``ActionInvoked`` and ``NotificationClosed``.

The test drives it through a second interface on the same object, :data:`CONTROL`:
``Received()`` returns every notification so far as JSON, and ``Invoke(id, key)`` emits
``ActionInvoked(id, key)`` as a person's click does. :class:`NotificationServer` starts it and
calls that interface.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jeepney import (
    DBusAddress,
    HeaderFields,
    Message,
    MessageType,
    new_error,
    new_method_call,
    new_method_return,
    new_signal,
)
from jeepney.bus_messages import message_bus
from jeepney.io.blocking import DBusConnection, open_dbus_connection

NAME = "org.freedesktop.Notifications"
PATH = "/org/freedesktop/Notifications"
INTERFACE = "org.freedesktop.Notifications"
CONTROL = "org.tokendesk.test.NotificationServer"
NOTIFY_SIGNATURE = "susssasa{sv}i"
ROOT = Path(__file__).resolve().parents[2]

INTROSPECTION = f"""<!DOCTYPE node PUBLIC "-//freedesktop//DTD D-BUS Object Introspection 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/introspect.dtd">
<node>
  <interface name="org.freedesktop.DBus.Introspectable">
    <method name="Introspect"><arg name="xml" type="s" direction="out"/></method>
  </interface>
  <interface name="{INTERFACE}">
    <method name="Notify">
      <arg name="app_name" type="s" direction="in"/>
      <arg name="replaces_id" type="u" direction="in"/>
      <arg name="app_icon" type="s" direction="in"/>
      <arg name="summary" type="s" direction="in"/>
      <arg name="body" type="s" direction="in"/>
      <arg name="actions" type="as" direction="in"/>
      <arg name="hints" type="a{{sv}}" direction="in"/>
      <arg name="expire_timeout" type="i" direction="in"/>
      <arg name="id" type="u" direction="out"/>
    </method>
    <method name="CloseNotification"><arg name="id" type="u" direction="in"/></method>
    <method name="GetCapabilities"><arg name="capabilities" type="as" direction="out"/></method>
    <method name="GetServerInformation">
      <arg name="name" type="s" direction="out"/>
      <arg name="vendor" type="s" direction="out"/>
      <arg name="version" type="s" direction="out"/>
      <arg name="spec_version" type="s" direction="out"/>
    </method>
    <signal name="ActionInvoked">
      <arg name="id" type="u"/><arg name="action_key" type="s"/>
    </signal>
    <signal name="NotificationClosed">
      <arg name="id" type="u"/><arg name="reason" type="u"/>
    </signal>
  </interface>
  <interface name="{CONTROL}">
    <method name="Received"><arg name="json" type="s" direction="out"/></method>
    <method name="Invoke">
      <arg name="id" type="u" direction="in"/><arg name="action_key" type="s" direction="in"/>
    </method>
  </interface>
</node>
"""

# ----------------------------------------------------------------- the server (its own process)


def _serve(connection: DBusConnection) -> None:
    received: list[dict[str, Any]] = []
    emitter = DBusAddress(PATH, interface=INTERFACE)

    def answer(message: Message) -> Message:
        fields = message.header.fields
        member = fields.get(HeaderFields.member)
        interface = fields.get(HeaderFields.interface)
        signature = fields.get(HeaderFields.signature, "")
        if member == "Introspect":
            return new_method_return(message, "s", (INTROSPECTION,))
        if interface == CONTROL and member == "Received":
            return new_method_return(message, "s", (json.dumps(received),))
        if interface == CONTROL and member == "Invoke" and signature == "us":
            number, key = message.body
            connection.send(new_signal(emitter, "ActionInvoked", "us", (number, key)))
            return new_method_return(message)
        if member == "Notify" and signature == NOTIFY_SIGNATURE:
            app, replaces, icon, summary, body, actions, hints, timeout = message.body
            number = replaces or len(received) + 1
            received.append(
                {
                    "id": number,
                    "app_name": app,
                    "replaces_id": replaces,
                    "app_icon": icon,
                    "summary": summary,
                    "body": body,
                    "actions": list(actions),
                    "hints": {key: value for key, (_, value) in hints.items()},
                    "expire_timeout": timeout,
                }
            )
            return new_method_return(message, "u", (number,))
        if member == "CloseNotification" and signature == "u":
            connection.send(new_signal(emitter, "NotificationClosed", "uu", (message.body[0], 3)))
            return new_method_return(message)
        if member == "GetCapabilities":
            return new_method_return(message, "as", (["actions", "body", "icon-static"],))
        if member == "GetServerInformation":
            return new_method_return(
                message, "ssss", ("test-server", "TokenDesk tests", "1", "1.2")
            )
        return new_error(
            message,
            "org.freedesktop.DBus.Error.UnknownMethod",
            "s",
            (f"no method {interface}.{member} with signature {signature!r}",),
        )

    while True:
        message = connection.receive()
        if message.header.message_type == MessageType.method_call:
            connection.send(answer(message))


def main() -> None:
    connection = open_dbus_connection("SESSION")
    reply = connection.send_and_get_reply(message_bus.RequestName(NAME, 4))  # 4: do not queue
    if reply.body[0] != 1:  # 1: the primary owner
        sys.exit(f"{NAME} is taken on this bus")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    _serve(connection)


# ----------------------------------------------------------------- the test's side


def _has_owner(address: str) -> bool:
    bus = DBusAddress(
        "/org/freedesktop/DBus", bus_name="org.freedesktop.DBus", interface="org.freedesktop.DBus"
    )
    with open_dbus_connection(address) as connection:
        reply = connection.send_and_get_reply(
            new_method_call(bus, "NameHasOwner", "s", (NAME,)), timeout=2
        )
        return bool(reply.body[0])


@dataclass
class NotificationServer:
    """The server process, and calls to its control interface."""

    address: str
    process: subprocess.Popen[bytes]
    _target: DBusAddress = field(
        default_factory=lambda: DBusAddress(PATH, bus_name=NAME, interface=CONTROL)
    )

    @classmethod
    def start(cls) -> NotificationServer:
        """Start it on the session bus this process uses, and wait until it owns its name."""
        address = os.environ["DBUS_SESSION_BUS_ADDRESS"]
        if _has_owner(address):
            raise RuntimeError(f"{NAME} already has an owner on the test bus")
        process = subprocess.Popen(
            [sys.executable, "-m", "tests.helpers.notification_server"], cwd=ROOT
        )
        server = cls(address, process)
        deadline = time.monotonic() + 15
        while not _has_owner(address):
            if process.poll() is not None or time.monotonic() > deadline:
                server.stop()
                raise RuntimeError("the notification server did not start")
            time.sleep(0.02)
        return server

    def _call(self, member: str, signature: str | None = None, body: tuple[Any, ...] = ()) -> Any:
        with open_dbus_connection(self.address) as connection:
            reply = connection.send_and_get_reply(
                new_method_call(self._target, member, signature, body), timeout=5
            )
        if reply.header.message_type == MessageType.error:
            raise RuntimeError(f"{member}: {reply.body}")
        return reply.body

    def received(self) -> list[dict[str, Any]]:
        """Every notification received so far, oldest first."""
        return list(json.loads(self._call("Received")[0]))

    def invoke(self, number: int, key: str = "default") -> None:
        """Emit ActionInvoked(*number*, *key*), as a click on the notification does."""
        self._call("Invoke", "us", (number, key))

    def stop(self) -> None:
        """Stop it, and wait until the bus has forgotten its name (the next test may need none)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        deadline = time.monotonic() + 10
        while _has_owner(self.address) and time.monotonic() < deadline:
            time.sleep(0.02)


if __name__ == "__main__":
    main()
