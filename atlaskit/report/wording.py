"""Plain-English wording for readers: counts of things, and the analysis problems by kind."""

from __future__ import annotations

from atlaskit.analysis.problems import Problem, ProblemKind

__all__ = ["plural", "word_problem"]


def plural(count: int, word: str) -> str:
    """Return a count and a noun that agrees with it: ``"1 school"``, ``"1,234 schools"``."""
    return f"{count:,} {word}{'' if count == 1 else 's'}"


def _then(detail: str) -> str:
    """``": <detail>"``, or nothing when there is no detail."""
    return f": {detail}" if detail else ""


def word_problem(problem: Problem) -> str:
    """Say one analysis problem in plain words for a reader of the report.

    Args:
        problem: a :class:`~atlaskit.analysis.problems.Problem` from the demand analysis.

    Returns:
        One sentence without a final full stop, or "" when there is nothing a reader needs to
        know (fewer than half a pupil outside the mapped area).
    """
    kind, phase = problem.kind, problem.phase or "school"
    if kind == ProblemKind.NOT_PROJECTED:
        if problem.origin:  # a backtest: the dashed check from an earlier roll is missing
            return f"No check from the {problem.origin} roll is drawn{_then(problem.detail)}"
        return f"{phase.capitalize()} pupils are not projected{_then(problem.detail)}"
    if kind == ProblemKind.NOT_SCORED:
        year = f" in {problem.academic_year}" if problem.academic_year else ""
        origin = f"from the {problem.origin} roll " if problem.origin else ""
        return f"The check {origin}has no actual roll to compare with{year}{_then(problem.detail)}"
    if kind == ProblemKind.NO_CAPACITY:
        return f"The school places scorecard publishes no {phase} places here, so spare places are not shown"
    if kind == ProblemKind.NO_ROLL:
        return f"The school places scorecard has no {phase} roll here{_then(problem.detail)}"
    if kind == ProblemKind.LSOAS_OUTSIDE:
        pupils = round(problem.pupils or 0)
        if pupils == 0:
            return ""  # fewer than half a pupil: nothing a reader needs to know
        return (
            f"{plural(pupils, 'pupil')} of these schools {'lives' if pupils == 1 else 'live'} in "
            f"{plural(problem.count or 0, 'small area')} beyond the mapped area; their numbers are carried unchanged, "
            "not projected from those areas' children"
        )
    if kind == ProblemKind.UNSCALED_FLOWS:
        return (
            f"{plural(problem.count or 0, 'school')} without a January 2019 roll keep their modelled pupils unscaled "
            "(where their pupils live comes from the flow model alone)"
        )
    if kind == ProblemKind.UNCONSTRAINED:
        return "The planning areas are not constrained to the authority projection" + _then(problem.detail)
    if kind == ProblemKind.YEARS_DROPPED:
        years = f" ({problem.academic_year})" if problem.academic_year else ""
        return f"Years without an authority projection are left out{years}{_then(problem.detail)}"
    if kind == ProblemKind.NO_SHARE:
        return "The authority projection cannot be shared out among the planning areas" + _then(problem.detail)
    if kind == ProblemKind.NO_FLOWS:
        return "No home-to-school flows reach these schools, so their pupils cannot be placed in planning areas"
    if kind == ProblemKind.NO_POPULATION:
        return "The population by age is not known for this authority" + _then(problem.detail)
    if kind == ProblemKind.POPULATION_INCOMPLETE:
        return "The population by age is incomplete for this authority" + _then(problem.detail)
    if kind == ProblemKind.NOT_MODELLED:
        return f"{plural(problem.count or 0, 'school')} with published flows are not modelled" + _then(problem.detail)
    if kind == ProblemKind.MISSING_INPUT:
        return "An input is missing" + _then(problem.detail)
    return str(problem)  # a kind added after this wording: its own one-line form
