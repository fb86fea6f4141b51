"""The clinic web app (``stridewatch serve``): patients, walks and rules behind a login.

Needs the ``web`` extra (Flask, argon2-cffi). ``create_app`` builds the Flask application on a
store; ``stridewatch.cli.web`` starts it and manages clinician accounts.
"""
