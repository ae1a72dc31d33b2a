"""Role drafts: the rules of editing a role's permissions, without a widget."""

from __future__ import annotations

import subprocess
import sys

import pytest

from desktop.domain.errors import InvalidInput, RuleViolation
from desktop.gui.directory.drafts import (
    RoleDrafts,
    draft_from_role,
    draft_key,
    permissions_from_draft,
)
from desktop.services.views import RoleView

READER = RoleView(1, "Reader", ("GET /Customers", "GET /Loans"))
WRITER = RoleView(2, "Writer", ("* /Payments",))


@pytest.fixture
def drafts() -> RoleDrafts:
    drafts = RoleDrafts()
    drafts.reset([READER, WRITER])
    return drafts


def test_drafts_need_no_qt() -> None:
    """A fresh interpreter imports the drafts without loading Qt (this one may have it)."""
    probe = (
        "import sys, desktop.gui.directory.drafts; "
        "sys.exit(any(name.split('.')[0] in ('PySide6', 'shiboken6') for name in sys.modules))"
    )
    assert subprocess.run([sys.executable, "-c", probe], check=False).returncode == 0


def test_role_drafts_round_trip() -> None:
    role = RoleView(1, "r", ("* /Payments", "GET /Loans", "POST /loans"))
    draft = draft_from_role(role)
    assert draft == {"/Payments": {"*"}, "/Loans": {"GET", "POST"}}
    assert permissions_from_draft(draft) == ["* /Payments", "GET /Loans", "POST /Loans"]
    draft["/Loans"].add("*")
    draft["/Empty"] = set()
    assert permissions_from_draft(draft) == ["* /Payments", "* /Loans"]


def test_permissions_follow_the_order_of_methods_not_of_ticking() -> None:
    assert permissions_from_draft({"/Loans": {"DELETE", "GET", "OPTIONS"}}) == [
        "GET /Loans",
        "DELETE /Loans",
        "OPTIONS /Loans",
    ]


def test_draft_key_ignores_spelling_order_and_what_any_method_covers() -> None:
    assert draft_key({"/Loans": {"GET"}, "/Pay": {"*"}}) == draft_key(
        {"/pay": {"*", "POST"}, "/loans/": {"GET"}, "/Empty": set()}
    )
    assert draft_key({"/Loans": {"GET"}}) != draft_key({"/Loans": {"POST"}})


def test_a_draft_starts_from_the_saved_role_and_is_clean(drafts: RoleDrafts) -> None:
    assert drafts.names() == ["Reader", "Writer"]
    assert not drafts.dirty("Reader")
    assert drafts.draft("Reader") == {"/Customers": {"GET"}, "/Loans": {"GET"}}
    assert not drafts.dirty("Reader")
    assert drafts.permissions("Reader") == ["GET /Customers", "GET /Loans"]
    assert not drafts.dirty("Nobody")


def test_ticking_makes_a_role_dirty_and_ticking_back_clean(drafts: RoleDrafts) -> None:
    assert drafts.set_method("Reader", "/Loans", "POST", True) == {"GET", "POST"}
    assert drafts.dirty("Reader")
    assert not drafts.dirty("Writer")
    assert drafts.set_method("Reader", "/Loans", "POST", False) == {"GET"}
    assert not drafts.dirty("Reader")


def test_ticking_any_method_over_every_method_changes_what_is_saved(drafts: RoleDrafts) -> None:
    drafts.set_method("Reader", "/Loans", "*", True)
    assert drafts.dirty("Reader")
    assert drafts.permissions("Reader") == ["GET /Customers", "* /Loans"]
    drafts.set_method("Writer", "/Payments", "GET", True)  # under *: grants nothing more
    assert not drafts.dirty("Writer")


def test_revert_forgets_the_draft(drafts: RoleDrafts) -> None:
    drafts.set_method("Reader", "/Loans", "DELETE", True)
    drafts.revert("Reader")
    assert not drafts.dirty("Reader")
    assert drafts.draft("Reader") == {"/Customers": {"GET"}, "/Loans": {"GET"}}
    drafts.revert("Nobody")  # nothing to forget


def test_an_endpoint_is_listed_once_whatever_its_case(drafts: RoleDrafts) -> None:
    with pytest.raises(InvalidInput, match="an endpoint starts with /"):
        drafts.add_endpoint("Reader", "Payments")  # as the command line refuses "GET Payments"
    assert drafts.add_endpoint("Reader", "/Payments") == "/Payments"
    assert drafts.draft("Reader")["/Payments"] == set()
    assert not drafts.dirty("Reader")  # nothing ticked on it yet
    with pytest.raises(RuleViolation, match=r"^/loans is already listed$"):
        drafts.add_endpoint("Reader", "/loans")
    with pytest.raises(InvalidInput, match="invalid endpoint '/Loans/5'"):
        drafts.add_endpoint("Reader", "/Loans/5")
    with pytest.raises(InvalidInput, match="invalid permission"):
        drafts.add_endpoint("Reader", "")
    assert list(drafts.draft("Reader")) == ["/Customers", "/Loans", "/Payments"]


def test_a_removed_endpoint_goes_when_saved(drafts: RoleDrafts) -> None:
    drafts.remove_endpoint("Reader", "/Customers")
    assert drafts.dirty("Reader")
    assert drafts.permissions("Reader") == ["GET /Loans"]
    drafts.remove_endpoint("Reader", "/Nowhere")
    assert drafts.permissions("Reader") == ["GET /Loans"]


def test_a_saved_role_replaces_the_old_and_ends_its_draft(drafts: RoleDrafts) -> None:
    drafts.set_method("Reader", "/Loans", "POST", True)
    drafts.saved(RoleView(1, "Reader", ("GET /Customers", "GET /Loans", "POST /Loans")))
    assert not drafts.dirty("Reader")
    assert drafts.draft("Reader")["/Loans"] == {"GET", "POST"}


def test_an_added_role_comes_last_until_the_roles_are_read_again(drafts: RoleDrafts) -> None:
    auditor = RoleView(3, "Auditor", ())
    drafts.saved(auditor)
    assert drafts.names() == ["Reader", "Writer", "Auditor"]
    assert drafts.draft("Auditor") == {}
    drafts.reset([auditor, READER, WRITER])
    assert drafts.names() == ["Auditor", "Reader", "Writer"]


def test_reading_the_roles_again_keeps_the_drafts_of_those_still_there(
    drafts: RoleDrafts,
) -> None:
    drafts.set_method("Reader", "/Loans", "PUT", True)
    drafts.set_method("Writer", "/Payments", "*", False)
    drafts.reset([READER])
    assert drafts.names() == ["Reader"]
    assert drafts.dirty("Reader")
    assert not drafts.dirty("Writer")
    drafts.reset([READER, WRITER])  # Writer back, as saved: its draft did not survive
    assert not drafts.dirty("Writer")
