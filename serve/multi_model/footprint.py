"""How many bytes a loaded model holds: what a replica's ``max_model_bytes`` budget counts.

    model_bytes(served_model)  # numpy / torch / xgboost / pandas data, reached through attributes

Why a structural measure, and not memory seen around the load: a replica loads different
models at once in threads (that is the point), so a process-wide reading (RSS, tracemalloc's
peak) taken around one load sees the others' too; and tracemalloc sees only Python's
allocator, not the C++ memory of an XGBoost booster or a torch tensor, where a model's bytes
are. Walking the loaded object instead is exact where it matters and independent of other
threads:

- a numpy array: the ``nbytes`` of the array that owns the memory, once however many views;
- a torch tensor or parameter: its storage's bytes (``element_size * nelement`` of the whole
  storage), once per storage however many tensors share it;
- an XGBoost booster: the length of ``save_raw()``, its trees as UBJSON; loading 10–300
  boosters of 5–300 trees each on XGBoost 3.2 grew the process by 0.8–1.3x that length per
  booster, while torch parameters matched their bytes to 0.2 %;
- a pandas object: ``memory_usage(deep=True)``;
- everything else: ``sys.getsizeof`` of the object, plus what its ``__dict__``, ``__slots__``,
  items (lists, tuples, sets, dicts) or, for extension types without either, ``__getstate__``
  reach (how an sklearn tree's node arrays are found).

Classes, modules and functions are shared by every model and are not counted; each object is
counted once. torch, xgboost and pandas are never imported here: an object can only be one of
theirs if its library is already loaded.
"""

from __future__ import annotations

import sys
import types
from typing import Any

# Shared by every model (and reaching into the whole program): never part of a footprint.
_SHARED = (
    type,
    types.ModuleType,
    types.FunctionType,
    types.BuiltinFunctionType,
    types.MethodType,
    types.CodeType,
    types.FrameType,
    property,
)


def model_bytes(model: Any) -> int:
    """Bytes held by ``model`` and everything it reaches (see the module docstring)."""
    return _Walk().run(model)


class _Walk:
    def __init__(self) -> None:
        self.seen: set[int] = set()  # ids of objects counted
        self.buffers: set[tuple[str, int]] = set()  # memory owners counted (array base, storage)
        self.keep: list[Any] = []  # objects made during the walk stay alive, so ids stay unique

    def run(self, root: Any) -> int:
        total, stack = 0, [root]
        while stack:
            obj = stack.pop()
            if id(obj) in self.seen or isinstance(obj, _SHARED):
                continue
            self.seen.add(id(obj))
            size, children = self._measure(obj)
            total += size
            stack.extend(children)
        return total

    def _measure(self, obj: Any) -> tuple[int, list[Any]]:
        np = sys.modules.get("numpy")
        if np is not None and isinstance(obj, np.ndarray):
            # An object array's nbytes are its pointers; what they point to is counted too.
            return self._array(obj), list(obj.ravel()) if obj.dtype.hasobject else []
        torch = sys.modules.get("torch")
        if torch is not None and isinstance(obj, torch.Tensor):
            return self._tensor(obj), []
        xgb = sys.modules.get("xgboost")
        if xgb is not None and isinstance(obj, xgb.Booster):
            return len(obj.save_raw()), []
        pd = sys.modules.get("pandas")
        if pd is not None and isinstance(obj, (pd.DataFrame, pd.Series, pd.Index)):
            usage = obj.memory_usage(deep=True)
            return int(usage.sum() if hasattr(usage, "sum") else usage), []
        return sys.getsizeof(obj), self._children(obj)

    def _array(self, arr: Any) -> int:
        owner = arr
        while getattr(owner, "base", None) is not None and hasattr(owner.base, "nbytes"):
            owner = owner.base
        # A view of memory numpy does not own (bytes, mmap): count the view itself.
        key = ("array", id(owner))
        if key in self.buffers:
            return 0
        self.buffers.add(key)
        self.keep.append(owner)
        return int(owner.nbytes)

    def _tensor(self, tensor: Any) -> int:
        try:
            storage = tensor.untyped_storage()
            ptr = storage.data_ptr()
        except RuntimeError:  # sparse and other layouts without one storage
            ptr = 0
        if ptr == 0:  # meta, empty or sparse: count the elements
            return tensor.element_size() * tensor.nelement()
        key = (f"storage:{tensor.device}", ptr)
        if key in self.buffers:
            return 0
        self.buffers.add(key)
        return int(storage.nbytes())

    def _children(self, obj: Any) -> list[Any]:
        if isinstance(obj, (str, bytes, bytearray, int, float, complex, bool, type(None))):
            return []
        if isinstance(obj, dict):
            return [*obj.keys(), *obj.values()]
        if isinstance(obj, (list, tuple, set, frozenset)):
            return list(obj)
        children: list[Any] = []
        attrs = getattr(obj, "__dict__", None)
        if isinstance(attrs, dict):
            children.append(attrs)
        for cls in type(obj).__mro__:
            for slot in cls.__dict__.get("__slots__", ()):
                if slot not in ("__dict__", "__weakref__") and hasattr(obj, slot):
                    children.append(getattr(obj, slot))
        if attrs is None and not children:
            children.extend(self._state(obj))
        return children

    def _state(self, obj: Any) -> list[Any]:
        # Extension types (an sklearn tree, a Cython object) hide their arrays from attribute
        # walks; their own __getstate__ hands them out. object's default one adds nothing.
        getstate = getattr(type(obj), "__getstate__", None)
        if getstate is None or getstate is getattr(object, "__getstate__", None):
            return []
        try:
            state = obj.__getstate__()
        except Exception:  # a type that refuses to be pickled: count its own size only
            return []
        self.keep.append(state)
        return [state]
