from __future__ import annotations

import pytest

from netral.training.adjudicate import agreement, combine, needs_third


def test_two_agreeing_votes_keep_the_label_and_the_union_of_categories() -> None:
    c = combine([(True, ["SUPPORT"]), (True, ["SUPPORT", "SOLICITATION"])])
    assert c.partisan is True
    assert c.categories == ["SUPPORT", "SOLICITATION"]
    assert not c.adjudicated


def test_a_third_vote_decides_by_majority() -> None:
    c = combine([(True, ["ATTACK"]), (False, []), (True, ["ATTACK", "SUPPORT"])])
    assert c.partisan is True and c.adjudicated
    assert c.categories == ["SUPPORT", "ATTACK"]  # two yes-voters: a category chosen by either one is kept
    assert combine([(True, ["ATTACK"]), (False, []), (False, [])]).partisan is False


def test_three_yes_votes_keep_categories_chosen_by_at_least_two() -> None:
    c = combine([(True, ["ATTACK", "CAMPAIGN"]), (True, ["ATTACK"]), (True, ["SUPPORT", "CAMPAIGN"])])
    assert c.categories == ["ATTACK", "CAMPAIGN"]
    c = combine([(True, ["ATTACK"]), (True, ["SUPPORT"]), (True, ["CAMPAIGN"])])
    assert c.categories == ["ATTACK"]  # no category shared: the first yes-voter's


def test_no_majority_is_unclear() -> None:
    assert combine([(True, ["SUPPORT"]), (False, []), (None, [])]).partisan is None
    assert combine([(True, ["SUPPORT"]), (False, [])]).partisan is None
    assert combine([(None, []), (None, [])]).partisan is None
    with pytest.raises(ValueError):
        combine([])


def test_only_partisan_disagreements_need_a_third_label() -> None:
    assert needs_third((True, ["SUPPORT"]), (None, []))
    assert not needs_third((True, ["SUPPORT"]), (True, ["ATTACK"]))


def test_agreement_figures() -> None:
    first = [(True, ["SUPPORT"]), (False, []), (True, ["ATTACK"]), (None, []), (False, [])]
    second = [(True, ["SUPPORT"]), (False, []), (False, []), (True, ["SUPPORT"]), (False, [])]
    fig = agreement(first, second)
    assert fig["n"] == 5
    assert fig["partisan_3way_agreement"] == 0.6
    assert fig["decided_by_both"] == 4
    assert fig["partisan_yes_no_agreement"] == 0.75
    assert fig["confusion"]["yes/no"] == 1
    assert -1.0 <= fig["partisan_yes_no_kappa"] < 1.0
    with pytest.raises(ValueError):
        agreement(first, second[:2])
