"""JSON tensor values must fit their declared V2 datatype (300 is not an INT8).

Binary tensors are typed by their bytes; JSON ``data`` is parsed by numpy into int64, uint64,
float64 or, for integers past 64 bits, objects, whatever the declared ``datatype``. These checks
refuse a value the declared type cannot hold instead of predicting on it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ray_apps.errors import SpecError

_FLOAT_TOP = {t: float(np.finfo(t).max) for t in (np.float16, np.float32)}


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
    elif np_type in _FLOAT_TOP:
        top = _FLOAT_TOP[np_type]
        values = np.abs(arr.astype(np.float64, copy=False))
        if values.max() <= top:  # the common case, one pass
            return
        bad = np.isfinite(values) & (values > top)  # inf itself: the NaN/inf check names it
        if bad.any():
            _out_of_range(arr.ravel()[bad.ravel()][0].item(), dtype, -top, top, where)


def _out_of_range(value: Any, dtype: str, lo: Any, hi: Any, where: str) -> None:
    raise SpecError(
        f"{where}: value {value} is outside the range of {dtype}, [{lo}, {hi}]; send values "
        "in that range or declare a wider datatype"
    )
