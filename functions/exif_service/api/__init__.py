"""HTTP: the app factory, authentication, and one package per public surface."""
