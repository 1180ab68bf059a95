"""user-service: owns users and roles (schema ``users``)."""
