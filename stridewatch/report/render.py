"""Report rendering (being moved to templates)."""

from stridewatch.report.html import render_history, render_pdf, render_report

__all__ = ["render_history", "render_pdf", "render_report"]
