"""The unused rule: active, and neither used nor created for 90 days."""

from __future__ import annotations

from desktop.domain.usage import DAY_SECONDS, UNUSED_DAYS, is_unused, unused_cutoff

NOW = 1_800_000_000


def test_the_cutoff_is_whole_days_before_now() -> None:
    assert UNUSED_DAYS == 90
    assert unused_cutoff(NOW + 0.7) == NOW - 90 * DAY_SECONDS
    assert unused_cutoff(NOW, 30) == NOW - 30 * DAY_SECONDS


def test_an_active_token_is_unused_when_its_last_use_is_older() -> None:
    cutoff = unused_cutoff(NOW)
    old, recent = cutoff - 1, cutoff + 1
    assert is_unused(True, old, old - DAY_SECONDS, cutoff)
    assert not is_unused(True, recent, old, cutoff)
    assert not is_unused(True, cutoff, old, cutoff)  # exactly 90 days: not yet


def test_a_token_never_used_counts_from_its_creation() -> None:
    cutoff = unused_cutoff(NOW)
    assert is_unused(1, None, cutoff - 1, cutoff)
    assert not is_unused(1, None, cutoff + 1, cutoff)  # made recently: give it time


def test_an_inactive_token_is_never_unused() -> None:
    cutoff = unused_cutoff(NOW)
    assert not is_unused(False, None, 0, cutoff)
    assert not is_unused(0, 0, 0, cutoff)
