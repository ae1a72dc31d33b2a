"""Edge cases around secrets in the wrong place and a keyring that fails at the last step."""

from __future__ import annotations

import pytest

from desktop.app import Context
from desktop.domain import tokens
from desktop.domain.errors import InvalidInput, SecretStoreUnavailable
from desktop.secrets.store import KeyringSecretStore
from desktop.services.tokens import TokenService, secret_key
from desktop.storage.models import Intent, Token
from tests.helpers.stores import DeleteDown


@pytest.fixture
def service(context: Context) -> TokenService:
    service = context.service
    service.add_environment("Production")
    service.add_role("Reader", ["GET /Loans"])
    service.add_agent("alice", "Reader", has_logged_in=True, signed_agreement=True)
    return service


def test_a_secret_pasted_as_a_label_or_name_is_refused(service: TokenService) -> None:
    issued = service.create_token("Production", "alice", label="first")
    before = [t.to_json() for t in service.tokens()], len(service.audit())
    with pytest.raises(InvalidInput, match="must not contain a token secret"):
        service.set_label(issued.token.id, f"copied {issued.secret} by mistake")
    with pytest.raises(InvalidInput, match="must not contain a token secret"):
        service.create_token("Production", "alice", label=tokens.generate())
    with pytest.raises(InvalidInput, match="must not contain a token secret"):
        service.add_agent(issued.secret, "Reader")
    assert ([t.to_json() for t in service.tokens()], len(service.audit())) == before


def test_text_that_only_looks_like_a_token_is_a_fine_label(service: TokenService) -> None:
    lookalike = "tdk_" + "A" * 49  # right shape, wrong checksum
    assert not tokens.is_well_formed(lookalike)
    issued = service.create_token("Production", "alice", label=f"see {lookalike}")
    assert issued.token.label == f"see {lookalike}"


def test_delete_committed_before_the_keyring_failed_is_finished_later(
    context: Context, service: TokenService, keyring_store: KeyringSecretStore
) -> None:
    issued = service.create_token("Production", "alice")
    uuid = Token.get_by_id(issued.token.id).uuid
    failing = TokenService(context.database, DeleteDown(keyring_store), clock=service.clock)
    failing.delete(issued.token.id)  # the delete stands; only the clean-up waits
    assert service.tokens() == []
    assert service.verify("Production", issued.secret, "GET", "/Loans").status == 401
    assert Intent.select().count() == 1
    report = TokenService(context.database, keyring_store, clock=service.clock).reconcile()
    assert report.rolled_forward == (issued.token.id,)
    assert keyring_store.get(secret_key(uuid, 0)) is None
    assert Intent.select().count() == 0
    assert Token.select().count() == 0


class Broken:
    def get_password(self, service: str, key: str) -> str:
        raise RuntimeError("\n")


def test_a_keyring_error_without_a_message_still_explains_itself() -> None:
    store = KeyringSecretStore(Broken())  # type: ignore[arg-type]
    with pytest.raises(SecretStoreUnavailable, match=r"RuntimeError: RuntimeError\)"):
        store.get("anything")
