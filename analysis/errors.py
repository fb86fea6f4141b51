"""Errors raised by the analysis core for input it cannot analyse."""

from __future__ import annotations


class InputError(ValueError):
    """A recording that cannot be analysed.

    ``row`` is the 0-based data row (sample index in the input as given) where
    the problem was found, when there is one; the code that read the file turns
    it into a line number and prefixes the file name (see ``located``).
    """

    def __init__(self, problem: str, row: int | None = None) -> None:
        super().__init__(problem)
        self.problem = problem
        self.row = row

    def located(self, source: str, first_data_line: int = 2) -> str:
        """Message naming the file and, when known, the 1-based line of the row."""
        if self.row is None:
            return f"{source}: {self.problem}"
        return f"{source}, line {self.row + first_data_line}: {self.problem}"
