"""Clarify's bias metrics against numbers worked out by hand on a crafted dataset."""

import numpy as np
import pandas as pd
import pytest

from ray_apps.bias import facet_bias
from ray_apps.bias.groups import assign_groups
from ray_apps.errors import DataError, SpecError

# 12 rows, sensitive column with groups F (4 rows), M (6), X (2); y: label, p: prediction.
SEX = np.array(list("FFFF") + list("MMMMMM") + list("XX"))
Y = np.array([1, 0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0], dtype=float)
P = np.array([1, 1, 1, 0, 1, 1, 0, 1, 0, 0, 0, 1], dtype=bool)


def metrics(group):
    return facet_bias(group, np.asarray(SEX == group), P, Y)  # noqa: SIM300


def test_facet_f_against_the_rest():
    # d = F: y 1000, p 1110 -> TP1 FP2 FN0 TN1; n 4, labels+ 1, preds+ 3
    # a = M+X: M y 111000 p 110100 -> TP2 FN1 FP1 TN2; X y 00 p 01 -> TN1 FP1
    #          a: TP2 FN1 FP2 TN3; n 8, labels+ 3, preds+ 4
    m = metrics("F").metrics
    assert m["CI"] == pytest.approx(1 / 3)  # (8 - 4) / (8 + 4)
    assert m["DPL"] == pytest.approx(1 / 8)  # 3/8 - 1/4
    assert m["DI"] == pytest.approx(3 / 2)  # (3/4) / (4/8)
    assert m["DPPL"] == pytest.approx(-1 / 4)  # 4/8 - 3/4
    assert m["AD"] == pytest.approx(1 / 8)  # (2+3)/8 - (1+1)/4
    assert m["RD"] == pytest.approx(-1 / 3)  # TPRa 2/3 - TPRd 1/1
    assert m["SD"] == pytest.approx(-4 / 15)  # TNRd 1/3 - TNRa 3/5
    assert m["FPRD"] == pytest.approx(4 / 15)  # FPRd 2/3 - FPRa 2/5
    assert m["FNRD"] == pytest.approx(-1 / 3)  # FNRd 0 - FNRa 1/3


def test_facet_m_against_the_rest():
    # d = M: TP2 FN1 FP1 TN2; n 6, labels+ 3, preds+ 3
    # a = F+X: TP1 FN0 FP3 TN2; n 6, labels+ 1, preds+ 4
    m = metrics("M").metrics
    assert m["CI"] == pytest.approx(0.0)  # (6 - 6) / 12
    assert m["DPL"] == pytest.approx(-1 / 3)  # 1/6 - 3/6
    assert m["DI"] == pytest.approx(3 / 4)  # (3/6) / (4/6)
    assert m["DPPL"] == pytest.approx(1 / 6)  # 4/6 - 3/6
    assert m["AD"] == pytest.approx(-1 / 6)  # 3/6 - 4/6
    assert m["RD"] == pytest.approx(1 / 3)  # 1/1 - 2/3
    assert m["SD"] == pytest.approx(4 / 15)  # TNRd 2/3 - TNRa 2/5
    assert m["FPRD"] == pytest.approx(-4 / 15)  # 1/3 - 3/5
    assert m["FNRD"] == pytest.approx(1 / 3)  # 1/3 - 0


def test_a_group_without_positive_labels_has_no_recall_and_says_why():
    # d = X: y 00 p 01 -> FP1 TN1, no positive label; a = F+M: TP3 FP3 FN1 TN3, n 10
    b = metrics("X")
    m = b.metrics
    assert m["CI"] == pytest.approx(2 / 3)  # (10 - 2) / 12
    assert m["DPL"] == pytest.approx(2 / 5)  # 4/10 - 0/2
    assert m["DI"] == pytest.approx(5 / 6)  # (1/2) / (6/10)
    assert m["DPPL"] == pytest.approx(1 / 10)  # 6/10 - 1/2
    assert m["AD"] == pytest.approx(1 / 10)  # 6/10 - 1/2
    assert m["SD"] == pytest.approx(0.0)  # TNRd 1/2 - TNRa 3/6
    assert m["FPRD"] == pytest.approx(0.0)
    assert m["RD"] is None and m["FNRD"] is None
    assert b.undefined["RD"] == (
        "group 'X' has no rows with a positive label: its recall (TPR) is undefined"
    )
    assert b.counts.tp + b.counts.fn == 0 and b.rest.tp == 3


def test_no_positive_predictions_in_the_rest_leaves_di_undefined():
    b = facet_bias("A", np.array([1, 1, 0, 0], bool), np.array([1, 0, 0, 0], bool), None)
    assert b.metrics["DI"] is None
    assert "q̂a = 0" in b.undefined["DI"]
    assert b.metrics["DPPL"] == pytest.approx(-1 / 2)  # 0/2 - 1/2
    assert b.metrics["DPL"] is None and b.undefined["AD"] == "no labels given"


def test_a_single_group_has_nothing_to_compare_with():
    b = facet_bias("A", np.ones(3, bool), np.array([1, 0, 1], bool), np.array([1, 0, 0.0]))
    assert all(v is None for v in b.metrics.values())
    assert b.undefined["CI"] == "the rest (all groups but 'A') has no rows: nothing to compare"


def test_groups_by_value_and_by_bins():
    values = pd.Series([1.0, 2.0, None, 1.0])
    assert assign_groups(values, "g", None, 20).tolist() == ["1", "2", None, "1"]
    ages = pd.Series([17, 30, 49.5, 50, None])
    got = assign_groups(ages, "age", [30, 50], 20).tolist()
    assert got == ["< 30", "[30, 50)", "[30, 50)", ">= 50", None]


def test_many_numbers_need_bins():
    with pytest.raises(SpecError, match=r"'age' is numeric with 40 distinct values.*bins"):
        assign_groups(pd.Series(np.arange(40.0)), "age", None, 20)
    with pytest.raises(DataError, match="bins cut a numeric column"):
        assign_groups(pd.Series(["a", "b"]), "sex", [1.0], 20)
