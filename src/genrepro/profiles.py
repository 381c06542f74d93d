"""The one profile table: every quick and full setting of every chapter, side by side.

``quick`` runs each chapter in about two minutes on a 2-core laptop CPU and still shows
real (if small) results; ``full`` is the paper's setting (meant for a GPU). A chapter
reads its settings with :func:`get`; the book shows them with :func:`table_markdown`, so a
reader sees the paper's value beside the quick one and where it comes from.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

PROFILES: tuple[str, ...] = ("quick", "full")


@dataclass(frozen=True)
class Setting:
    """One hyperparameter: its quick and full (paper) value and where the full value comes from."""

    quick: Any
    full: Any
    source: str = ""

    def value(self, profile: str) -> Any:
        return self.quick if profile == "quick" else self.full


# chapter -> name -> Setting. Keep every chapter's settings here, never in notebooks.
TABLE: dict[str, dict[str, Setting]] = {
    "datasets": {
        "grid_examples": Setting(32, 64, "display only"),
        "stats_examples": Setting(10_000, 70_000, "pixel statistics over this many images"),
    },
    # data_prep/chairs.py (genrepro.data.chairs): the DC-IGN chairs, 62 views per model.
    "chairs": {
        "image_size": Setting(64, 150, "Kulkarni et al. 2015 §4.2: 150×150 grayscale"),
        "max_models": Setting(24, None, "Aubry et al. 2014: 1393 chairs; None = every "
                              "seating model of sweethome3d-furniture (92)"),
        "test_fraction": Setting(0.2, 0.2, "our choice: whole models held out for testing"),
        "seed": Setting(0, 0, "model subset and train/test split"),
    },
    # Summary pages: no settings of their own, but they validate the profile too.
    "scoreboard": {},
    "status": {},
}


class Settings(dict):
    """A read-only mapping of a chapter's settings that also allows attribute access."""

    def __setitem__(self, key: str, value: Any) -> None:
        raise TypeError("settings are read-only: change them in genrepro.profiles.TABLE")

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


def check_profile(profile: str) -> str:
    """Return ``profile`` if it is known, else raise a ``ValueError`` that lists the valid ones."""
    if profile not in PROFILES:
        valid = ", ".join(repr(p) for p in PROFILES)
        raise ValueError(f"unknown profile {profile!r}; valid profiles are: {valid}")
    return profile


def get(chapter: str, profile: str) -> Settings:
    """The settings of ``chapter`` in ``profile`` (a ``ValueError`` for an unknown either)."""
    check_profile(profile)
    if chapter not in TABLE:
        raise ValueError(f"no settings for chapter {chapter!r}; known: {', '.join(sorted(TABLE))}")
    return Settings({k: s.value(profile) for k, s in TABLE[chapter].items()})


def table_markdown(chapter: str) -> str:
    """A Markdown table of ``chapter``'s settings: quick beside full, with the source."""
    rows = ["| setting | quick | full (paper) | source |", "|---|---|---|---|"]
    for name, s in TABLE[chapter].items():
        rows.append(f"| `{name}` | {s.quick!r} | {s.full!r} | {s.source} |")
    return "\n".join(rows)
