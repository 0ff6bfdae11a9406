"""Load sources-and-communities YAML files, with errors that name the file, the line and the field."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from signpost.config.models import SignpostFile, message_of

# Deeper than any sources-and-communities file needs; PyYAML's composer recurses and would hit Python's limit.
MAX_DEPTH = 40


@dataclass(frozen=True)
class ConfigProblem:
    path: Path
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.field}: {self.message}"


class ConfigError(ValueError):
    """One or more problems in a config file; ``str()`` lists them, one per line."""

    def __init__(self, problems: list[ConfigProblem]):
        self.problems = problems
        super().__init__("\n".join(str(problem) for problem in problems))


class SignpostLoader(yaml.SafeLoader):
    """SafeLoader without anchors and aliases (a few hundred bytes of aliases expand to billions of nodes, and an
    alias inside its own anchor loops) and with a cap on nesting: a config file has no need of either."""

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node:
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent):
            raise yaml.composer.ComposerError(
                None, None, f"aliases (*{event.anchor}) are not allowed: write the value out", event.start_mark
            )
        if getattr(event, "anchor", None) is not None:
            raise yaml.composer.ComposerError(
                None, None, f"anchors (&{event.anchor}) are not allowed: write the value out", event.start_mark
            )
        self.depth = getattr(self, "depth", 0) + 1
        try:
            if self.depth > MAX_DEPTH:
                raise yaml.composer.ComposerError(
                    None, None, f"nested more than {MAX_DEPTH} levels deep", event.start_mark
                )
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


class _Composed:
    """Plain Python values from a composed document, the line of every location, and duplicate keys found."""

    def __init__(self, loader: SignpostLoader, path: Path) -> None:
        self.loader = loader
        self.path = path
        self.lines: dict[tuple, int] = {}
        self.duplicates: list[tuple[tuple, int]] = []

    def value(self, node: yaml.Node, loc: tuple = ()) -> Any:
        self.lines.setdefault(loc, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            mapping: dict = {}
            for key_node, value_node in node.value:
                key = key_node.value if isinstance(key_node, yaml.ScalarNode) else str(key_node.value)
                line = key_node.start_mark.line + 1
                if key in mapping:
                    self.duplicates.append(((*loc, key), line))
                    continue
                self.lines[(*loc, key)] = line
                mapping[key] = self.value(value_node, (*loc, key))
                self.lines[(*loc, key)] = line
            return mapping
        if isinstance(node, yaml.SequenceNode):
            return [self.value(item, (*loc, index)) for index, item in enumerate(node.value)]
        try:
            return self.loader.construct_object(node, deep=True)
        except (yaml.YAMLError, ValueError) as error:
            # A scalar YAML reads as a date that is no date (2026-02-30) raises ValueError, not a YAMLError.
            field = ".".join(map(str, loc)) or "(top)"
            problem = ConfigProblem(self.path, node.start_mark.line + 1, field, f"not a value YAML can read: {error}")
            raise ConfigError([problem]) from error


def _suggest(model: type[BaseModel], loc: tuple) -> str:
    """For an unknown field, the closest known one ('did you mean ...?')."""
    current: Any = model
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        field = current.model_fields.get(part) if isinstance(current, type) else None
        if field is None:
            return ""
        annotation = field.annotation
        args = getattr(annotation, "__args__", ())
        current = next(
            (arg for arg in (annotation, *args) if isinstance(arg, type) and issubclass(arg, BaseModel)), None
        )
        if current is None:
            return ""
    if not isinstance(current, type):
        return ""
    close = difflib.get_close_matches(str(loc[-1]), list(current.model_fields), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _compose(path: Path, text: str) -> tuple[Any, dict[tuple, int]]:
    """The document as plain values and the line of each location; ConfigError on bad or refused YAML."""
    loader = SignpostLoader(text)
    try:
        root = loader.get_single_node()
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = mark.line + 1 if mark else 0
        problem = getattr(error, "problem", None) or str(error)
        raise ConfigError([ConfigProblem(path, line, "(syntax)", f"not valid YAML: {problem}")]) from error
    finally:
        loader.dispose()
    composed = _Composed(loader, path)
    data = composed.value(root) if root is not None else {}
    lines = composed.lines
    if composed.duplicates:
        raise ConfigError(
            [
                ConfigProblem(path, line, ".".join(map(str, loc)), "duplicate key: it is already given above")
                for loc, line in composed.duplicates
            ]
        )
    return data, lines


def load_signpost_file(path: Path | str) -> SignpostFile:
    """Parse and validate one file; raise ConfigError naming file, line and field on any problem."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError([ConfigProblem(path, 0, "(file)", str(error))]) from error
    data, lines = _compose(path, text)
    if not isinstance(data, dict):
        raise ConfigError(
            [ConfigProblem(path, lines.get((), 1), "(top)", "expected a mapping with 'communities' and 'sources'")]
        )
    try:
        parsed = SignpostFile.model_validate(data)
    except ValidationError as error:
        problems = []
        for detail in error.errors():
            loc = tuple(detail["loc"])
            line = next((lines[loc[:cut]] for cut in range(len(loc), -1, -1) if loc[:cut] in lines), 0)
            field = ".".join(str(part) for part in loc) or "(top)"
            message = message_of(detail)
            if detail["type"] == "extra_forbidden":
                message = "unknown field" + _suggest(SignpostFile, loc)
            problems.append(ConfigProblem(path, line, field, message))
        raise ConfigError(problems) from error
    _check_references(path, parsed, lines)
    return parsed


def _check_references(path: Path, parsed: SignpostFile, lines: dict[tuple, int]) -> None:
    """Sources may name only communities the file (or the store) knows; slugs must be unique."""
    problems = []
    seen: dict[str, int] = {}
    for index, community in enumerate(parsed.communities):
        if community.slug in seen:
            problems.append(
                ConfigProblem(
                    path,
                    lines.get(("communities", index, "slug"), 0),
                    f"communities.{index}.slug",
                    f"duplicate community {community.slug!r}",
                )
            )
        seen[community.slug] = index
        topic_slugs: set[str] = set()
        for topic_index, topic in enumerate(community.topics):
            if topic.slug in topic_slugs:
                loc = ("communities", index, "topics", topic_index, "slug")
                problems.append(
                    ConfigProblem(path, lines.get(loc, 0), ".".join(map(str, loc)), f"duplicate topic {topic.slug!r}")
                )
            topic_slugs.add(topic.slug)
    if problems:
        raise ConfigError(problems)
