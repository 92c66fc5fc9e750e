"""The model *set* of a multi-model endpoint: which registered models it serves, and its budget.

    models:                          # a mapping (a list pins models, as before)
      prefix: store-                 # every model whose name starts with it ... or
      # tag: tenant-models           # every model carrying this registry tag (not both)
      max_model_bytes: 2000000000    # per replica: loaded models' measured bytes stay within
      max_models: 20                 # per replica: at most this many loaded (at least one budget)
      prewarm: [store-1, store-2]    # loaded at replica start (optional)

Each model is served at its newest Approved version, resolved while the endpoint runs (see
``serve.multi_model.resolve``), so a model approved after the deploy is servable without a
redeploy. Unknown keys are rejected; ``parse_model_set`` takes a mapping or a spec.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import Field, field_validator, model_validator

from ray_apps.spec import _Strict, parse_spec

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")  # a registered model's name
# MLflow tag keys allow more, but a tag named in YAML should read as one word; the registry
# keeps its own bookkeeping under "raymaker." (approval status, served_by), never a user tag.
_TAG = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,249}$")
_RESERVED_TAG = "raymaker."


class ModelSetSpec(_Strict):
    """A set of registered models served on shared replicas, loaded on first call and evicted
    least-recently-used within ``max_model_bytes`` and/or ``max_models`` per replica."""

    tag: str | None = Field(None, description="serve every model carrying this registry tag")
    prefix: str | None = Field(None, description="serve every model whose name starts with it")
    max_model_bytes: int | None = Field(
        None, ge=1, description="per replica: loaded models' measured bytes stay within it"
    )
    max_models: int | None = Field(None, ge=1, description="per replica: loaded models at most")
    prewarm: list[str] = Field(
        default_factory=list, description="models loaded at replica start, before any request"
    )

    @field_validator("tag")
    @classmethod
    def _tag(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if value.startswith(_RESERVED_TAG):
            raise ValueError(
                f"{value!r} is one of the registry's own tags ({_RESERVED_TAG}*); tag the models "
                "with a tag of your own, e.g. tenant-models, and name that"
            )
        if not _TAG.fullmatch(value):
            raise ValueError(
                f"{value!r} is not a tag name: start with a letter or digit and use only "
                "letters, digits, _ . : / - (at most 250), e.g. tenant-models"
            )
        return value

    @field_validator("prefix")
    @classmethod
    def _prefix(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not _NAME.fullmatch(value):
            raise ValueError(
                f"{value!r} cannot start a model name: start with a letter or digit and use "
                "only letters, digits, _ . - (at most 64), e.g. store-"
            )
        return value

    @field_validator("prewarm")
    @classmethod
    def _prewarm_names(cls, value: list[str]) -> list[str]:
        bad = [n for n in value if not _NAME.fullmatch(n)]
        if bad:
            raise ValueError(
                f"{bad} are not model names; list registered model names, e.g. [store-1]"
            )
        dupes = sorted({n for n in value if value.count(n) > 1})
        if dupes:
            raise ValueError(f"lists {dupes} more than once; list each model once")
        return value

    @model_validator(mode="after")
    def _one_selector(self) -> ModelSetSpec:
        if (self.tag is None) == (self.prefix is None):
            given = "both tag and prefix" if self.tag is not None else "neither tag nor prefix"
            raise ValueError(
                f"models gives {given}; give exactly one: models: {{tag: tenant-models}} or "
                "models: {prefix: store-}"
            )
        return self

    @model_validator(mode="after")
    def _budget(self) -> ModelSetSpec:
        if self.max_model_bytes is None and self.max_models is None:
            raise ValueError(
                "models sets no budget; a replica must know when to evict: set "
                "models.max_model_bytes (bytes of loaded models, measured), models.max_models "
                "(a count), or both"
            )
        return self

    @model_validator(mode="after")
    def _prewarm_fits(self) -> ModelSetSpec:
        if self.prefix is not None:
            outside = [n for n in self.prewarm if not n.startswith(self.prefix)]
            if outside:
                raise ValueError(
                    f"models.prewarm names {outside}, which do not start with models.prefix "
                    f"{self.prefix!r} and so are never served; remove them or fix the prefix"
                )
        if self.max_models is not None and len(self.prewarm) > self.max_models:
            raise ValueError(
                f"models.prewarm lists {len(self.prewarm)} models but models.max_models is "
                f"{self.max_models}: the last would evict the first at start; prewarm at most "
                f"{self.max_models} or raise max_models"
            )
        return self

    def selects(self, name: str, tags: frozenset[str] | set[str]) -> bool:
        """Whether a model (or version) with this name and these registry tags is in the set."""
        if self.prefix is not None:
            return name.startswith(self.prefix)
        return self.tag in tags

    @property
    def selector(self) -> str:
        """The set in words, for messages: "prefix 'store-'" or "tag 'tenant-models'"."""
        return f"prefix {self.prefix!r}" if self.prefix is not None else f"tag {self.tag!r}"


def parse_model_set(data: ModelSetSpec | dict[str, Any], source: str = "models") -> ModelSetSpec:
    """A validated ModelSetSpec; SpecError names the field and the fix."""
    if isinstance(data, ModelSetSpec):
        return data
    return parse_spec(ModelSetSpec, data, source=source)
