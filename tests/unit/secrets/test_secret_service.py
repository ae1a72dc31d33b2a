"""The Secret Service store's timeouts, on a stand-in D-Bus connection: what a person is told
names the limit that ran out. Everything else runs against a real gnome-keyring in
tests/integration/secrets."""

from __future__ import annotations

import collections
import contextlib
import os
from collections.abc import Callable, Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from jeepney import HeaderFields, MessageType

from desktop.secrets import secret_service
from desktop.secrets.secret_service import (
    KeyringDidNotAnswer,
    NoAnswer,
    SecretService,
    _Link,
)
from desktop.secrets.store import KeyringSecretStore

ADDRESS = "unix:path=/nonexistent/tokendesk-unit-test-bus"
COLLECTION = "/org/freedesktop/secrets/collection/login"
CALL_TIMEOUT = 5.0
PROMPT_TIMEOUT = 120.0


class PromptNobodyAnswers:
    """A bus on which the keyring asks the person before it stores or deletes an entry (as
    KeePassXC and others may), and nobody answers: every call is answered at once, the wait
    for the prompt's answer times out (as jeepney's does, with TimeoutError)."""

    def __init__(self) -> None:
        self.waits: list[float | None] = []

    def send_and_get_reply(self, message: Any, *, timeout: float | None = None) -> Any:
        answers: dict[str, tuple[Any, ...]] = {
            "CreateItem": ("/", "/org/freedesktop/secrets/prompt/u1"),
            "SearchItems": ([f"{COLLECTION}/1"], []),
            "Delete": ("/org/freedesktop/secrets/prompt/u2",),
            "Prompt": (),
        }
        member = message.header.fields[HeaderFields.member]
        return SimpleNamespace(
            header=SimpleNamespace(message_type=MessageType.method_return), body=answers[member]
        )

    @contextlib.contextmanager
    def filter(self, rule: Any) -> Iterator[collections.deque[Any]]:
        yield collections.deque()

    def recv_until_filtered(self, queue: Any, *, timeout: float | None = None) -> Any:
        self.waits.append(timeout)
        raise TimeoutError

    def close(self) -> None:
        pass


@pytest.fixture
def bus() -> Iterator[PromptNobodyAnswers]:
    """The stand-in connection, as the process's shared one for :data:`ADDRESS`."""
    connection = PromptNobodyAnswers()
    session = SimpleNamespace(encrypted=False, object_path="/org/freedesktop/secrets/session/1")
    secret_service._links[ADDRESS] = _Link(
        os.getpid(), connection, session, SimpleNamespace(collection_path=COLLECTION)
    )
    try:
        yield connection
    finally:
        secret_service._links.pop(ADDRESS, None)


CALLS: dict[str, Callable[[SecretService], object]] = {
    "store": lambda service: service.set_password("tokendesk", "a-key", "a secret"),
    "delete": lambda service: service.delete_password("tokendesk", "a-key"),
}


@pytest.mark.parametrize("call", sorted(CALLS))
def test_a_prompt_nobody_answers_times_out_at_the_prompts_limit(
    bus: PromptNobodyAnswers, call: str
) -> None:
    """The prompt is given the longer limit, and that is the one reported (not the five
    seconds a call is given); the connection is dropped, as after any timeout."""
    service = SecretService(ADDRESS, timeout=CALL_TIMEOUT, unlock_timeout=PROMPT_TIMEOUT)
    with pytest.raises(NoAnswer) as raised:
        CALLS[call](service)
    assert bus.waits == [PROMPT_TIMEOUT]
    assert raised.value.seconds == PROMPT_TIMEOUT
    assert ADDRESS not in secret_service._links


def test_the_person_is_told_the_limit_that_ran_out(bus: PromptNobodyAnswers) -> None:
    store = KeyringSecretStore(
        SecretService(ADDRESS, timeout=CALL_TIMEOUT, unlock_timeout=PROMPT_TIMEOUT)
    )
    with pytest.raises(KeyringDidNotAnswer) as raised:
        store.put("a-key", "hunter2-value")
    assert f"did not answer within {PROMPT_TIMEOUT:g} s" in str(raised.value)
    assert "hunter2" not in str(raised.value)
