"""Clinician reports (HTML, PDF), their figures and the one wording of the facts."""
