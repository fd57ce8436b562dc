"""KFP pipeline signatures generated from parameter models, so the two can never drift.

kfp reads a pipeline's interface from ``inspect.signature`` (which honours ``__signature__``) and
its parameter descriptions from the docstring's ``Args:`` section; both are built from the model.
"""

import inspect
import typing
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

from kfp import dsl

from commands.params.base import PipelineParams

_KFP_TYPES = (str, int, float, bool, list, dict)


def kfp_type(annotation: Any) -> type:
    """The plain type kfp understands for a model field (``Literal[...]`` of strings → ``str``)."""
    if typing.get_origin(annotation) is typing.Literal:
        return type(typing.get_args(annotation)[0])
    if annotation in _KFP_TYPES:
        return typing.cast(type, annotation)
    raise TypeError(f"pipeline parameters must be str, int, float, bool, list or dict; got {annotation!r}")


def model_signature(model: type[PipelineParams], returns: Any = inspect.Signature.empty) -> inspect.Signature:
    """Required fields first (Python's rule), each with its kfp type and default."""
    params = []
    for name, field in model.pipeline_fields().items():
        default = inspect.Parameter.empty if field.is_required() else field.default
        kind = inspect.Parameter.POSITIONAL_OR_KEYWORD
        params.append(inspect.Parameter(name, kind, default=default, annotation=kfp_type(field.annotation)))
    params.sort(key=lambda p: p.default is not inspect.Parameter.empty)
    return inspect.Signature(params, return_annotation=returns)


def pipeline_from_model(
    model: type[PipelineParams],
    name: str,
    body: Callable[[SimpleNamespace], Any],
    returns: Any = inspect.Signature.empty,
) -> Any:
    """A ``@dsl.pipeline`` whose parameters are ``model``'s; ``body`` gets them as attributes."""
    signature = model_signature(model, returns)
    names = list(signature.parameters)

    def pipeline_func(*args: Any) -> Any:
        return body(SimpleNamespace(**dict(zip(names, args, strict=True))))

    args_doc = "\n".join(
        f"    {n}: {model.model_fields[n].description or n}" for n in names
    )
    pipeline_func.__signature__ = signature  # type: ignore[attr-defined]
    pipeline_func.__name__ = name
    pipeline_func.__doc__ = f"{(model.__doc__ or '').strip()}\n\nArgs:\n{args_doc}\n"
    return dsl.pipeline(name=name.replace("_", "-"), description=model.title)(pipeline_func)
