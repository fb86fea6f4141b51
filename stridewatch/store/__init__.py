"""The session store: schema, patients, sessions and rules history."""
