"""Parsing and matching of one route pattern (see router.py for the forms)."""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import ConfigError


@dataclass(frozen=True, slots=True)
class Pattern:
    """A compiled pattern: literal segments, ``None`` for parameters, optional wildcard."""

    text: str
    segments: tuple[str | None, ...]
    names: tuple[str, ...]
    wildcard: bool

    @property
    def is_exact(self) -> bool:
        """No parameters and no wildcard."""
        return not self.wildcard and not self.names

    @property
    def literals(self) -> int:
        """Number of literal segments."""
        return sum(1 for s in self.segments if s is not None)

    @property
    def params(self) -> int:
        """Number of parameter segments."""
        return len(self.names)

    @property
    def shape(self) -> str:
        """The pattern with parameter names erased (duplicates have equal shapes)."""
        parts = ["{}" if s is None else s for s in self.segments]
        return "/" + "/".join(parts) + ("/..." if self.wildcard else "")

    def match(self, path: str) -> tuple[str, str, tuple[tuple[str, str], ...]] | None:
        """``(base, path_info, params)`` if ``path`` matches, else None."""
        if self.is_exact:
            return ("", path, ()) if path == self.text else None
        if not self.names:  # pure prefix: string compare, no split
            base = "/" + "/".join(s for s in self.segments if s is not None) if self.segments else ""
            if path == base or path.startswith(base + "/") or (not base and path.startswith("/")):
                return base, path[len(base):], ()
            return None
        parts = path.split("/")[1:]
        n = len(self.segments)
        if len(parts) < n or (not self.wildcard and len(parts) != n):
            return None
        params = []
        for seg, part in zip(self.segments, parts, strict=False):
            if seg is None:
                if not part:
                    return None
                params.append(part)
            elif seg != part:
                return None
        if self.wildcard:
            base = "/" + "/".join(parts[:n])
            return base, path[len(base):], tuple(zip(self.names, params, strict=True))
        return "", path, tuple(zip(self.names, params, strict=True))


def compile_pattern(text: str, origin: str = "") -> Pattern:
    """Validate and compile a pattern; ConfigError naming ``origin`` when invalid."""

    def bad(reason: str) -> ConfigError:
        return ConfigError(f"{origin + ': ' if origin else ''}route '{text}': {reason}")

    if not text.startswith("/"):
        raise bad("must start with '/'")
    if text == "/":
        return Pattern("/", (), (), False)
    raw = text[1:].split("/")
    wildcard = raw[-1] == "..."
    if wildcard:
        raw = raw[:-1]
    segments: list[str | None] = []
    names: list[str] = []
    for seg in raw:
        if seg == "...":
            raise bad("'...' may only be the last segment")
        if not seg:
            raise bad("empty segment ('//' or a trailing '/')")
        if seg.startswith("{") and seg.endswith("}"):
            name = seg[1:-1]
            if not name.isidentifier():
                raise bad(f"parameter name '{name}' is not an identifier")
            if name in names:
                raise bad(f"parameter '{name}' appears twice")
            names.append(name)
            segments.append(None)
        elif "{" in seg or "}" in seg:
            raise bad(f"segment '{seg}' mixes text and a parameter")
        else:
            segments.append(seg)
    return Pattern(text, tuple(segments), tuple(names), wildcard)
