"""The live view: the incremental analysis fed by a radio or a trace, and its alerts."""
