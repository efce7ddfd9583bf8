"""Who may sign in: the authentication backends. Today the demo rule (``demo``: the demo
reviewer exists only with the embedded sandbox); single sign-on joins it here."""
