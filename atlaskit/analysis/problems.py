"""Typed problems: what an analysis could not do, as records the presentation words.

Analysis functions return :class:`Problem` records, never free text for another module to parse.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum


class ProblemKind(str, Enum):
    """What went wrong, one value per kind of problem the analysis reports."""

    POPULATION_INCOMPLETE = "population incomplete"  # population by age missing or negative
    NO_POPULATION = "no population"  # no population by age for the authority
    NO_ROLL = "no roll"  # the scorecard has no roll for the phase
    NOT_PROJECTED = "not projected"  # the phase could not be projected
    NOT_SCORED = "not scored"  # a backtest year has no actual roll to score against
    NO_CAPACITY = "no capacity"  # the scorecard publishes no places: no surplus
    NO_FLOWS = "no flows"  # no flows into the authority's schools
    UNSCALED_FLOWS = "unscaled flows"  # schools without a roll keep their flows unscaled
    LSOAS_OUTSIDE = "lsoas outside"  # LSOAs sending pupils are not among those given
    UNCONSTRAINED = "unconstrained"  # small areas not constrained to the authority projection
    YEARS_DROPPED = "years dropped"  # years without an authority total
    NO_SHARE = "nothing to share out"  # no authority projection, or schools project no pupils
    NOT_MODELLED = "not modelled"  # observed schools the model leaves out
    MISSING_INPUT = "missing input"  # a store table or input is unavailable


@dataclass(frozen=True)
class Problem:
    """One thing an analysis could not do, for one authority and phase.

    Attributes:
        kind: what went wrong (:class:`ProblemKind`).
        authority_code: the authority's ONS code, or None when it concerns no one authority.
        phase: ``primary``, ``secondary`` or None.
        detail: the specifics in plain words (what was missing, what was done instead), for logs and the CLI.
        academic_year: the academic year concerned (``"2022/23"``), if one.
        origin: the backtest's origin year, if the problem arose in a backtest.
        count: how many items (schools, LSOAs) it concerns, if countable.
        pupils: how many pupils it concerns, if known.
        related_codes: other authority codes it names (the parts of a reorganised authority).
    """

    kind: ProblemKind
    authority_code: str | None = None
    phase: str | None = None
    detail: str = ""
    academic_year: str | None = None
    origin: str | None = None
    count: int | None = None
    pupils: float | None = None
    related_codes: tuple[str, ...] = field(default_factory=tuple)

    def __str__(self) -> str:
        """The problem as one line: ``E10000016 secondary 2022/23: not scored: the scorecard roll is missing``."""
        head = " ".join(x for x in (self.authority_code, self.phase, self.academic_year) if x)
        origin = f"backtest from {self.origin}: " if self.origin else ""
        return f"{origin}{head + ': ' if head else ''}{self.kind.value}" + (f": {self.detail}" if self.detail else "")
