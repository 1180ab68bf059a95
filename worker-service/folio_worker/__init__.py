"""worker-service: stateless compute that runs the translation engine for work commands."""
