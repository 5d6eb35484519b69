"""Converters between reward-model head layouts, on checkpoint folders (safetensors).

Three layouts of one thing, a backbone plus a linear head read at the last token:

- **standard**: ``AutoModelForSequenceClassification`` with one label; backbone under
  ``model.``, head ``score.weight`` (no bias). What ``acecoder rm train`` writes, and
  what transformers, TRL, verl and current OpenRLHF load as they are.
- **AceCoder** (AceCodeRM checkpoints): a causal-LM class with a value head,
  ``v_head.summary.weight`` and ``v_head.summary.bias``; standard loaders do not know it.
- **OpenRLHF**: backbone under ``model.``, head ``<value_head_prefix>.weight``
  (``score`` in current releases, ``value_head`` in older ones), and in ``config.json``
  ``value_head_prefix``, ``normalize_reward``, ``mean``, ``std`` (a normalised reward is
  ``(r - mean) / std``).

A standard head has no bias, so a constant a source head adds (AceCoder's bias,
OpenRLHF's ``-mean/std``) is kept in ``config.json`` as ``score_bias``: the standard
model's score plus ``score_bias`` is the source's score exactly, rankings and pairwise
accuracy are the same without it, and converting back restores it. Shards and the
tokenizer files are carried over as they are.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ConfigError

__all__ = ["BIAS_KEY", "ConversionReport", "from_acecoder", "from_openrlhf", "to_acecoder", "to_openrlhf"]

BIAS_KEY = "score_bias"
"""config.json key holding the constant the original head added (see the module docstring)."""

ACE_WEIGHT, ACE_BIAS = "v_head.summary.weight", "v_head.summary.bias"
STD_WEIGHT = "score.weight"
BACKBONE = "model."


@dataclass(frozen=True)
class ConversionReport:
    """What a conversion wrote."""

    source: str
    target: str
    layout: str
    tensors: int
    score_bias: float


def _shards(folder: Path) -> list[Path]:
    files = sorted(folder.glob("*.safetensors"))
    if not files:
        raise ConfigError(f"{folder}: no .safetensors weights (save the model with safe_serialization)")
    return files


def _read_config(folder: Path) -> dict[str, Any]:
    path = folder / "config.json"
    if not path.exists():
        raise ConfigError(f"{folder}: no config.json; not a checkpoint folder")
    return dict(json.loads(path.read_text(encoding="utf-8")))


def _find(folder: Path, key: str) -> Any:
    from safetensors import safe_open

    for shard in _shards(folder):
        with safe_open(str(shard), framework="pt") as f:
            if key in f.keys():
                return f.get_tensor(key)
    return None


def _rewrite(
    src: Path,
    dst: Path,
    rename: Callable[[str, Any], Mapping[str, Any]],
    config: Mapping[str, Any],
) -> int:
    """Copy ``src`` to ``dst``, each tensor through ``rename`` (name, tensor) -> {name: tensor}."""
    from safetensors import safe_open
    from safetensors.torch import save_file

    if dst.resolve() == src.resolve():
        raise ConfigError("the target folder must differ from the source")
    dst.mkdir(parents=True, exist_ok=True)
    for item in src.iterdir():
        if item.suffix == ".safetensors" or item.name in ("config.json", "model.safetensors.index.json"):
            continue
        if item.is_file():
            shutil.copy2(item, dst / item.name)
    weight_map: dict[str, str] = {}
    count = 0
    for shard in _shards(src):
        out: dict[str, Any] = {}
        with safe_open(str(shard), framework="pt") as f:
            metadata = f.metadata() or {"format": "pt"}
            for key in f.keys():
                out.update(rename(key, f.get_tensor(key)))
        if not out:
            continue  # every tensor of this file was dropped (e.g. a shard holding lm_head alone)
        save_file({k: v.contiguous() for k, v in out.items()}, str(dst / shard.name), metadata=metadata)
        weight_map.update(dict.fromkeys(out, shard.name))
        count += len(out)
    shards = sorted(set(weight_map.values()))
    index_path = src / "model.safetensors.index.json"
    if not index_path.exists() and len(shards) > 1:
        # several loose weight files (e.g. LLaMA-Factory's value_head.safetensors beside model.safetensors):
        # transformers would read model.safetensors alone, so they become indexed shards
        names = {old: f"model-{i:05d}-of-{len(shards):05d}.safetensors" for i, old in enumerate(shards, 1)}
        for old, new in names.items():
            (dst / old).rename(dst / new)
        weight_map = {k: names[v] for k, v in weight_map.items()}
    if index_path.exists() or len(shards) > 1:
        index = json.loads(index_path.read_text(encoding="utf-8")) if index_path.exists() else {"metadata": {}}
        index["weight_map"] = dict(sorted(weight_map.items()))
        (dst / "model.safetensors.index.json").write_text(json.dumps(index, indent=2) + "\n", encoding="utf-8")
    (dst / "config.json").write_text(json.dumps(dict(config), indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return count


def _arch(model_type: str, kind: str) -> str:
    from transformers.models.auto.modeling_auto import (
        MODEL_FOR_CAUSAL_LM_MAPPING_NAMES,
        MODEL_FOR_SEQUENCE_CLASSIFICATION_MAPPING_NAMES,
    )

    names = MODEL_FOR_CAUSAL_LM_MAPPING_NAMES if kind == "causal" else MODEL_FOR_SEQUENCE_CLASSIFICATION_MAPPING_NAMES
    if model_type not in names:
        raise ConfigError(f"transformers has no {kind} class for model_type {model_type!r}")
    return str(names[model_type])


def _standard_config(config: Mapping[str, Any], bias: float) -> dict[str, Any]:
    dropped = ("value_head_prefix", "normalize_reward", "mean", "std", "auto_map")  # auto_map: the source's own code
    out = {k: v for k, v in config.items() if k not in dropped}
    out.update(
        architectures=[_arch(str(config["model_type"]), "sequence-classification")],
        num_labels=1,
        id2label={"0": "LABEL_0"},
        label2id={"LABEL_0": 0},
    )
    out[BIAS_KEY] = bias
    return out


def _check_standard(folder: Path) -> dict[str, Any]:
    config = _read_config(folder)
    if config.get("num_labels", len(config.get("id2label") or {}) or None) not in (1, None) or _find(folder, STD_WEIGHT) is None:
        raise ConfigError(f"{folder}: not a standard one-label reward model (no {STD_WEIGHT!r} head)")
    return config


def to_acecoder(source: str | Path, target: str | Path) -> ConversionReport:
    """Standard -> AceCoder's ``v_head.summary`` layout (bias = the config's ``score_bias``, else 0)."""
    import torch

    src, dst = Path(source), Path(target)
    config = _check_standard(src)
    bias = float(config.get(BIAS_KEY) or 0.0)

    def rename(key: str, tensor: Any) -> dict[str, Any]:
        if key == STD_WEIGHT:
            return {ACE_WEIGHT: tensor, ACE_BIAS: torch.tensor([bias], dtype=tensor.dtype)}
        return {key: tensor}

    out = {k: v for k, v in config.items() if k not in ("id2label", "label2id", BIAS_KEY)}
    out["architectures"] = [_arch(str(config["model_type"]), "causal")]
    count = _rewrite(src, dst, rename, out)
    return ConversionReport(str(src), str(dst), "acecoder", count, bias)


def from_acecoder(source: str | Path, target: str | Path) -> ConversionReport:
    """AceCoder's ``v_head.summary`` layout -> standard (its bias kept as ``score_bias``; ``lm_head`` dropped)."""
    src, dst = Path(source), Path(target)
    config = _read_config(src)
    bias_tensor = _find(src, ACE_BIAS)
    if _find(src, ACE_WEIGHT) is None:
        raise ConfigError(f"{src}: no {ACE_WEIGHT!r}; not an AceCoder reward model")
    bias = float(bias_tensor.float().reshape(-1)[0]) if bias_tensor is not None else 0.0

    def rename(key: str, tensor: Any) -> dict[str, Any]:
        if key == ACE_WEIGHT:
            return {STD_WEIGHT: tensor.reshape(1, -1)}
        if key == ACE_BIAS or key.startswith("lm_head."):
            return {}
        if not key.startswith(BACKBONE):
            raise ConfigError(f"{src}: unexpected tensor {key!r} (expected the backbone under {BACKBONE!r})")
        return {key: tensor}

    count = _rewrite(src, dst, rename, _standard_config(config, bias))
    return ConversionReport(str(src), str(dst), "standard", count, bias)


def to_openrlhf(source: str | Path, target: str | Path, *, value_head_prefix: str = "value_head") -> ConversionReport:
    """Standard -> OpenRLHF's layout with ``value_head_prefix`` (``score`` for current OpenRLHF).

    A ``score_bias`` becomes OpenRLHF's normalisation (``normalize_reward``, ``mean = -bias``,
    ``std = 1``), the only constant its head can add.
    """
    src, dst = Path(source), Path(target)
    config = _check_standard(src)
    bias = float(config.get(BIAS_KEY) or 0.0)
    if not value_head_prefix.isidentifier():
        raise ConfigError(f"value_head_prefix must be a Python identifier, got {value_head_prefix!r}")

    def rename(key: str, tensor: Any) -> dict[str, Any]:
        return {f"{value_head_prefix}.weight": tensor} if key == STD_WEIGHT else {key: tensor}

    out = {k: v for k, v in config.items() if k != BIAS_KEY}
    out.update(value_head_prefix=value_head_prefix, normalize_reward=bias != 0.0, mean=-bias, std=1.0)
    count = _rewrite(src, dst, rename, out)
    return ConversionReport(str(src), str(dst), "openrlhf", count, bias)


def from_openrlhf(source: str | Path, target: str | Path) -> ConversionReport:
    """OpenRLHF's layout -> standard; a normalised head is folded in (weight / std, ``score_bias`` = -mean / std)."""
    src, dst = Path(source), Path(target)
    config = _read_config(src)
    prefix = config.get("value_head_prefix")
    if prefix is None:
        prefix = next((p for p in ("score", "value_head") if _find(src, f"{p}.weight") is not None), None)
    if prefix is None or _find(src, f"{prefix}.weight") is None:
        raise ConfigError(f"{src}: no value head ({prefix or 'score or value_head'}.weight); not an OpenRLHF RM")
    normalize = bool(config.get("normalize_reward"))
    mean = float(config.get("mean", 0.0)) if normalize else 0.0
    std = float(config.get("std", 1.0)) if normalize else 1.0
    if std == 0:
        raise ConfigError(f"{src}: std is 0 in config.json")

    def rename(key: str, tensor: Any) -> dict[str, Any]:
        if key == f"{prefix}.weight":
            return {STD_WEIGHT: (tensor.reshape(1, -1) / std).to(tensor.dtype) if std != 1.0 else tensor.reshape(1, -1)}
        if not key.startswith(BACKBONE):
            raise ConfigError(f"{src}: unexpected tensor {key!r} (expected the backbone under {BACKBONE!r})")
        return {key: tensor}

    bias = -mean / std
    count = _rewrite(src, dst, rename, _standard_config(config, bias))
    return ConversionReport(str(src), str(dst), "standard", count, bias)
