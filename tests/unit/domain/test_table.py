"""The one row type, the names beside it, and the sort definition every layer follows: a field
or column added in one place and forgotten in another is caught here, before a query or a sort
trips over it."""

from __future__ import annotations

from typing import Any

import pytest

from desktop.domain.table import NAME_SOURCES, ORDERS, Column, Names, SortTerm, TokenRow
from tests.helpers.rows import token_row


def row(**fields: Any) -> TokenRow:
    return token_row(**{"id": 7, "agent_id": 2, "label": "nightly import", **fields})


NAMES = Names(environments={1: "Production"}, agents={2: ("Ada Servicing Bot", "Reader")})


def test_a_row_has_the_fields_storage_selects_in_this_order() -> None:
    """Storage generates its SELECT list from these fields: their order is the column order."""
    assert TokenRow._fields == (
        "id",
        "environment_id",
        "agent_id",
        "label",
        "active",
        "hint",
        "generation",
        "rotation",
        "rotation_seconds",
        "grace_seconds",
        "next_rotation",
        "last_rotated",
        "grace_until",
        "last_error",
        "created",
        "expires",
        "holder",
        "last_used",
        "use_count",
    )


def test_a_row_is_a_plain_immutable_tuple() -> None:
    token = row()
    assert token.label == "nightly import" and token[3] == "nightly import"
    assert token._replace(active=0).active == 0 and token.active == 1
    with pytest.raises(AttributeError):
        token.label = "changed"  # type: ignore[misc]


def test_names_resolve_a_row_ids() -> None:
    token = row()
    assert NAMES.environment(token) == "Production"
    assert NAMES.agent(token) == "Ada Servicing Bot"
    assert NAMES.role(token) == "Reader"


def test_unknown_ids_read_as_a_question_mark() -> None:
    """A row may name an environment or agent the reader has not yet seen (deleted or added
    between two reads): it shows "?" instead of failing."""
    orphan = row(environment_id=99, agent_id=98)
    assert NAMES.environment(orphan) == "?"
    assert NAMES.agent(orphan) == "?"
    assert NAMES.role(orphan) == "?"
    empty = Names({}, {})
    assert (empty.environment(row()), empty.agent(row()), empty.role(row())) == ("?", "?", "?")


def test_names_say_why_an_agent_is_refused_and_what_a_role_grants() -> None:
    names = Names(
        {1: "Production"},
        {2: ("Ada", "Reader"), 3: ("Wes", "Nobody")},
        refusals={3: "agent 'Wes' is disabled"},
        permissions={"Reader": ("GET /Customers", "GET /Loans")},
    )
    assert names.refusal(row(agent_id=2)) is None
    assert names.refusal(row(agent_id=3)) == "agent 'Wes' is disabled"
    assert names.grants(row(agent_id=2)) == ("GET /Customers", "GET /Loans")
    assert names.grants(row(agent_id=3)) == ()  # a role that grants nothing
    assert NAMES.refusal(row()) is None and NAMES.grants(row()) == ()  # none given: none known


def test_names_are_frozen() -> None:
    with pytest.raises(AttributeError):
        NAMES.environments = {}  # type: ignore[misc]


def test_the_columns_are_in_the_window_order() -> None:
    assert [column.name for column in Column] == [
        "TOKEN",
        "NAME",
        "LABEL",
        "ROLE",
        "STATUS",
        "ID",
        "ROTATION",
        "NEXT_ROTATION",
        "EXPIRES",
        "CREATED",
        "ENVIRONMENT",
        "LAST_USED",
    ]
    assert [int(column) for column in Column] == list(range(len(Column)))


def test_every_column_has_an_order() -> None:
    assert set(ORDERS) == set(Column)
    assert all(ORDERS[column] for column in Column)


def test_every_order_reads_a_row_field_or_a_name() -> None:
    for column, terms in ORDERS.items():
        for term in terms:
            assert isinstance(term, SortTerm)
            assert term.source in TokenRow._fields or term.source in NAME_SOURCES, (column, term)


def test_only_text_is_compared_without_case() -> None:
    text = {"label", "hint", "rotation", "last_error"} | NAME_SOURCES
    for terms in ORDERS.values():
        for term in terms:
            if term.nocase:
                assert term.source in text, term


def test_the_orders_the_window_promises() -> None:
    """Active tokens first, tokens that never rotate last, names without case."""
    assert ORDERS[Column.STATUS] == (SortTerm("active", negate=True),)
    assert ORDERS[Column.ID] == (SortTerm("id"),)  # by number: #9 before #10
    assert ORDERS[Column.ROTATION] == (SortTerm("rotation_seconds", nulls_last=True),)
    assert ORDERS[Column.NEXT_ROTATION] == (SortTerm("next_rotation", nulls_last=True),)
    assert ORDERS[Column.NAME] == (SortTerm("agent", nocase=True),)
    assert ORDERS[Column.ENVIRONMENT] == (SortTerm("environment", nocase=True),)


def test_a_sort_term_defaults_to_plain_ascending() -> None:
    assert SortTerm("created") == SortTerm("created", nocase=False, nulls_last=False, negate=False)
