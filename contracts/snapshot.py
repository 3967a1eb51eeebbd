"""Committed JSON Schema snapshots of the contracts, and the check that keeps them honest.

Every organisation's service decodes the shared log, including events written years ago,
so a contract may only evolve compatibly: new *optional* fields, wider types. Anything else
needs a new version (``attack.reported.v2``) next to the old one. ``python -m
contracts.snapshot`` refreshes ``contracts/schemas/``; ``--check`` fails on incompatibilities.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import msgspec

from contracts.envelope import CloudEvent
from contracts.registry import CONTRACTS, kind_of

SCHEMAS = Path(__file__).parent / "schemas"
ENVELOPE = "cloudevent"
Schema = dict[str, Any]
_LOWER_BOUNDS = ("minLength", "minItems", "minimum", "exclusiveMinimum")
_BOUNDS = _LOWER_BOUNDS + ("maxLength", "maxItems", "maximum", "exclusiveMaximum")
_KEEP = "old versions must stay decodable"
_JSON_TYPES = {"str": "string", "int": "integer", "bool": "boolean", "float": "number"}


def current_schemas() -> dict[str, Schema]:
    """The JSON Schema of every contract by kind, and of the envelope under ``cloudevent``."""
    schemas: dict[str, Schema] = {kind_of(c): msgspec.json.schema(c) for c in CONTRACTS}
    schemas[ENVELOPE] = msgspec.json.schema(CloudEvent)
    return schemas


def write_snapshots(folder: Path = SCHEMAS) -> list[str]:
    """Write ``<kind>.json`` for every current schema; return a line per file written."""
    folder.mkdir(parents=True, exist_ok=True)
    lines = []
    for key, schema in sorted(current_schemas().items()):
        path = folder / f"{key}.json"
        text = json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
        before = path.read_text(encoding="utf-8") if path.exists() else None
        path.write_text(text, encoding="utf-8")
        state = "new" if before is None else "unchanged" if before == text else "updated"
        lines.append(f"{state:>9}  {os.path.relpath(path)}")
    return lines


def _resolve(node: Schema, defs: Schema) -> tuple[str | None, Schema]:
    """Follow a ``$ref`` into ``$defs``: the struct's name (if any) and its schema."""
    name = node["$ref"].rsplit("/", 1)[-1] if "$ref" in node else None
    return name, defs[name] if name else node


def _values(node: Schema) -> list[Any] | None:
    """The values an ``enum`` or ``const`` allows, or None when it is not one."""
    return node.get("enum", [node["const"]] if "const" in node else None)


def _label(node: Schema) -> str:
    """What kind of value a schema (or an ``anyOf`` member) accepts: a struct name or a type."""
    if "$ref" in node:
        return node["$ref"].rsplit("/", 1)[-1]
    if "type" in node:
        return str(node["type"])
    values = _values(node)
    if values is None:
        return "any"
    return "|".join(sorted({_JSON_TYPES.get(type(v).__name__, "null") for v in values}))


def _compare(old: Schema, new: Schema, defs: tuple[Schema, Schema], path: str,
             seen: set[tuple[str, str]]) -> list[str]:
    """Problems that would stop ``new`` decoding a value valid under ``old``."""
    olds, news = old.get("anyOf", [old]), new.get("anyOf", [new])
    by_label = {_label(member): member for member in news}
    if "any" in by_label:
        return []
    lost = [_label(m) for m in olds if _label(m) not in by_label]
    if len(lost) == len(olds):
        return [f"field {path} changed type: was {' | '.join(lost)}, now {' | '.join(by_label)}"]
    problems = [f"field {path} no longer accepts {' | '.join(lost)}"] if lost else []
    for member in olds:
        if _label(member) in by_label:
            problems += _compare_one(member, by_label[_label(member)], defs, path, seen)
    return problems


def _compare_one(old: Schema, new: Schema, defs: tuple[Schema, Schema], path: str,
                 seen: set[tuple[str, str]]) -> list[str]:
    old_name, old = _resolve(old, defs[0])
    new_name, new = _resolve(new, defs[1])
    if old_name and new_name:
        if (old_name, new_name) in seen:
            return []
        seen = seen | {(old_name, new_name)}
    where, problems = f"field {path}", []
    old_values, new_values = _values(old), _values(new)
    if new_values is not None:
        lost = [v for v in old_values or [] if v not in new_values]
        if old_values is None:
            problems.append(f"{where} is now restricted to {new_values}")
        elif lost:
            problems.append(f"{where} no longer accepts {lost}")
    for key in ("format", "pattern"):
        if new.get(key) not in (None, old.get(key)):
            problems.append(f"{where} changed {key}: was {old.get(key)}, now {new[key]}")
    for key in _BOUNDS:
        was, now = old.get(key), new.get(key)
        if now is not None and (was is None or (now > was if key in _LOWER_BOUNDS else now < was)):
            problems.append(f"{where} tightened {key}: was {was}, now {now}")
    for key, suffix in (("items", "[]"), ("additionalProperties", "{}")):
        if isinstance(old.get(key), dict) and isinstance(new.get(key), dict):
            problems += _compare(old[key], new[key], defs, path + suffix, seen)
    if "properties" in old or "properties" in new:
        problems += _compare_fields(old, new, defs, path, seen)
    return problems


def _compare_fields(old: Schema, new: Schema, defs: tuple[Schema, Schema], path: str,
                    seen: set[tuple[str, str]]) -> list[str]:
    """Removed fields, fields that became required, and the fields both versions share."""
    prefix = f"{path}." if path else ""
    old_props, new_props = old.get("properties", {}), new.get("properties", {})
    old_req, new_req = set(old.get("required", [])), set(new.get("required", []))
    problems = []
    for name, prop in old_props.items():
        if name not in new_props:
            problems.append(f"field {prefix}{name} was removed")
        else:
            problems += _compare(prop, new_props[name], defs, prefix + name, seen)
            if name in new_req and name not in old_req:
                problems.append(f"field {prefix}{name} became required")
    for name in sorted(new_req - set(old_props)):
        problems.append(f"new field {prefix}{name} is required: give it a default")
    return problems


def incompatibilities(old: Schema, new: Schema) -> list[str]:
    """Why events valid under the ``old`` snapshot might not decode under ``new``."""
    old_defs, new_defs = old.get("$defs", {}), new.get("$defs", {})
    _, old_root = _resolve(old, old_defs)  # the root struct's name is not on the wire
    _, new_root = _resolve(new, new_defs)
    return _compare_one(old_root, new_root, (old_defs, new_defs), "", set())


def check(folder: Path = SCHEMAS) -> list[str]:
    """Compare every committed snapshot in ``folder`` with the current schemas."""
    current = current_schemas()
    committed = {path.stem: path for path in sorted(folder.glob("*.json"))}
    problems = [f"no snapshot for {key}: run `uv run python -m contracts.snapshot`"
                for key in current if key not in committed]
    for key, path in committed.items():
        if key not in current:
            problems.append(f"{key} has a snapshot but no contract: {_KEEP}")
            continue
        old = json.loads(path.read_text(encoding="utf-8"))
        problems += [f"{key}: {problem}" for problem in incompatibilities(old, current[key])]
    return problems


if __name__ == "__main__":
    problems = check()
    if "--check" in sys.argv[1:]:
        print("\n".join(problems) or f"{len(current_schemas())} snapshots match the contracts")
        sys.exit(1 if problems else 0)
    for problem in problems:
        if not problem.startswith("no snapshot for"):
            print(f"warning: {problem}", file=sys.stderr)
    print("\n".join(write_snapshots()))
