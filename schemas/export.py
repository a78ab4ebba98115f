"""JSON Schema files of every topic's event, for producers and consumers in other languages."""

from __future__ import annotations

import json
from pathlib import Path

from fapiao import topics

JSONSCHEMA_DIR = Path(__file__).resolve().parent / "jsonschema"


def rendered() -> dict[str, str]:
    """File name -> JSON Schema text, for each topic."""
    out = {}
    for spec in topics.ALL:
        schema = spec.schema.model_json_schema(mode="validation")
        schema["$id"] = f"fapiao-sentinel/{spec.name}/v1"
        schema["x-topic"] = {"name": spec.name, "key": spec.key, "description": spec.description}
        out[f"{spec.name}.v1.json"] = json.dumps(schema, ensure_ascii=False, indent=2, sort_keys=True) + "\n"
    return out


def write(directory: Path = JSONSCHEMA_DIR) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in rendered().items():
        path = directory / name
        path.write_text(text, "utf-8")
        written.append(path)
    return written


if __name__ == "__main__":
    for path in write():
        print(path)
