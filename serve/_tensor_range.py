"""JSON tensor values must fit their declared V2 datatype (300 is not an INT8).

Binary tensors are typed by their bytes; JSON ``data`` is parsed by numpy into int64, uint64,
float64 or, for integers past 64 bits, objects, whatever the declared ``datatype``. These checks
refuse a value the declared type cannot hold instead of predicting on it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ray_apps.errors import SpecError


def exact_ints(data: list, arr: np.ndarray, np_type: type, dtype: str, where: str) -> np.ndarray:
    """``arr`` again, typed ``np_type``, when numpy read JSON integers as floats or objects
    (a mix of negative and > 2**63 values, or values past 64 bits); ``arr`` unchanged when
    ``data`` holds anything but integers (the datatype check then names it)."""
    flat = np.asarray(data, dtype=object).ravel()
    if not all(type(v) is int for v in flat):
        return arr
    info = np.iinfo(np_type)
    for v in flat:
        if not info.min <= v <= info.max:
            _out_of_range(v, dtype, info.min, info.max, where)
    return np.asarray(data, dtype=np_type)


def check_range(arr: np.ndarray, np_type: type, dtype: str, where: str) -> None:
    """400 naming the first value of ``arr`` that ``dtype`` cannot represent."""
    if arr.size == 0:
        return
    if arr.dtype.kind in "iu" and np.issubdtype(np_type, np.integer):
        info = np.iinfo(np_type)
        bad = (arr < info.min) | (arr > info.max)
        if bad.any():
            _out_of_range(arr[bad][0].item(), dtype, info.min, info.max, where)
    elif np.issubdtype(np_type, np.floating) and np.finfo(np_type).bits < 64:
        top = float(np.finfo(np_type).max)
        values = arr.astype(np.float64)
        bad = np.isfinite(values) & (np.abs(values) > top)  # inf itself: the NaN/inf check
        if bad.any():
            _out_of_range(values[bad][0].item(), dtype, -top, top, where)


def _out_of_range(value: Any, dtype: str, lo: Any, hi: Any, where: str) -> None:
    raise SpecError(
        f"{where}: value {value} is outside the range of {dtype}, [{lo}, {hi}]; send values "
        "in that range or declare a wider datatype"
    )
